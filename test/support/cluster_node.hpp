#pragma once
// Support for the cluster end-to-end tests (test/cluster_*_test.cpp): a
// chat-server node against a test's Redis (or a proxy in front of it), and
// members played by raw sockets.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/chat_session.hpp"  // quiet(), kChatHelp
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace netlab::testing {

#define REQUIRE_REDIS(redis) ASSERT_TRUE((redis).running()) << (redis).error()

// One chat-server node of the cluster, on an ephemeral loopback port.
struct Node {
  explicit Node(const RedisServer& redis, std::vector<std::string> options = {})
      : Node(redis.url(), std::move(options)) {}
  explicit Node(const std::string& redis_url, std::vector<std::string> options = {});
  Process proc;
  uint16_t port = 0;
};

// Connects to the node and logs in; the first reply line ("success\n", "reuse\n", ...).
std::string log_in(Client& c, const Node& node, const std::string& login_line, int rcvbuf = 0);

// alice logs in on n1 and bob on n2, both in the lobby, and alice hears
// bob arrive: the start of most tests here.
::testing::AssertionResult alice_and_bob(Client& alice, const Node& n1, Client& bob,
                                         const Node& n2);

// Every line up to and including the first one that contains `needle`
// (whatever came before the deadline if none did).
std::string read_until_line_with(Client& c, std::string_view needle, Millis timeout = kTimeout);

// How many of the lines in `lines` are exactly `line` (given with its '\n').
size_t count_lines(std::string_view lines, std::string_view line);

}  // namespace netlab::testing
