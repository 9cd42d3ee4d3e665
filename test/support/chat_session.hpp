#pragma once
// Test support for the chat-server end-to-end tests: a server on an
// ephemeral loopback port (room mode, or 1:1 with the test as operator),
// members that log in over raw sockets, and checks of the lines they get.
// A new chat test needs only these and support/process.hpp's Client:
//
//   ChatServer server({"--history", "5"});
//   Client alice;
//   ASSERT_TRUE(log_in(alice, server, "alice games"));
//   EXPECT_TRUE(quiet(alice));
#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/chat_client_helpers.hpp"
#include "support/process.hpp"
#include "support/stamp.hpp"

namespace netlab::testing {

// The server's answer to /help, and its goodbye on SIGTERM/SIGINT.
inline constexpr std::string_view kChatHelp =
    "* commands: /who, /rooms, /join ROOM, /msg USER TEXT (to your room), /help, quit\n";
inline constexpr std::string_view kChatShutdown = "* server shutting down\n";

// `netlab chat-server --port 0 OPTIONS...` (room mode unless OPTIONS say
// otherwise), optionally under RLIMIT_NOFILE max_fds; port stays 0 if it
// never listened.
struct ChatServer {
  explicit ChatServer(std::vector<std::string> options = {}, unsigned max_fds = 0);
  Client connect(int rcvbuf = 0) const { return Client::tcp("127.0.0.1", port, rcvbuf); }
  pid_t pid() const { return proc.pid(); }

  Process proc;
  uint16_t port = 0;
};

// chat-client arguments for a room-mode server on 127.0.0.1:port.
std::vector<std::string> client_args(uint16_t port, const std::string& user,
                                     const std::string& room, std::vector<std::string> more = {});

// Connects, sends the login line and expects exactly "success\n".
::testing::AssertionResult log_in(Client& c, const ChatServer& server, std::string_view login_line,
                                  int rcvbuf = 0);

// A new connection that sends `login_line` gets exactly `reply` and then
// the end of the connection.
::testing::AssertionResult login_refused(const ChatServer& server, std::string_view login_line,
                                         std::string_view reply);

// Nothing is queued for this (logged-in, line-framed) member: a /help sent
// now is answered by the very next line. Whatever the server sent it before
// would come first, on the same connection.
::testing::AssertionResult quiet(Client& c);

// One expected output line: exact (line()), or "[<ctime>] " + text (said()).
struct Want {
  bool stamped;
  std::string text;
};
Want said(std::string text);
Want line(std::string text);

// `got` is exactly these lines, each ending in '\n'.
::testing::AssertionResult lines_are(const StampWindow& window, std::string_view got,
                                     const std::vector<Want>& want);

// chat-server --mode duplex|half-duplex whose operator is the test, on its
// stdin and stdout.
struct PairServer {
  explicit PairServer(const std::string& mode);
  Client connect() const { return Client::tcp("127.0.0.1", port); }
  // The client's lines as the operator saw them, without the server's own
  // notices ("* ..." and "(waiting ...)").
  std::vector<std::string> client_lines() const;

  InteractiveProcess proc;
  uint16_t port = 0;
};

}  // namespace netlab::testing
