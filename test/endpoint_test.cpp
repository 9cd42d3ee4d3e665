#include "net/endpoint.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <stdexcept>
#include <string>

namespace netlab::net {
namespace {

TEST(Endpoint, DefaultsToLocalhostPort21567) {
  const Endpoint e;
  EXPECT_EQ(e.host, "localhost");
  EXPECT_EQ(e.port, 21567);
  EXPECT_FALSE(e.is_unix());
  EXPECT_EQ(e.to_string(), "localhost:21567");
}

TEST(Endpoint, FormatsHostAndPort) {
  Endpoint e;
  e.host = "127.0.0.1";
  e.port = 8000;
  EXPECT_EQ(e.to_string(), "127.0.0.1:8000");
  e.host = "example.org";
  EXPECT_EQ(e.to_string(), "example.org:8000");
}

TEST(Endpoint, PutsIpv6HostsInBrackets) {
  Endpoint e;
  e.host = "::1";
  e.port = 21567;
  EXPECT_EQ(e.to_string(), "[::1]:21567");
  e.host = "::";
  e.port = 0;
  EXPECT_EQ(e.to_string(), "[::]:0");
}

TEST(Endpoint, UnixPathWinsOverHostAndPort) {
  Endpoint e;
  e.unix_path = "/tmp/netlab.sock";
  EXPECT_TRUE(e.is_unix());
  EXPECT_EQ(e.to_string(), "/tmp/netlab.sock");
  const auto addrs = e.addresses(Transport::kTcp, /*passive=*/true);
  ASSERT_EQ(addrs.size(), 1u);
  EXPECT_EQ(addrs[0].family(), AF_UNIX);
  EXPECT_EQ(addrs[0].to_string(), "/tmp/netlab.sock");
}

TEST(Endpoint, OverlongUnixPathThrows) {
  Endpoint e;
  e.unix_path = "/tmp/" + std::string(200, 'x');
  EXPECT_THROW(e.addresses(Transport::kUdp, false), std::invalid_argument);
}

TEST(Endpoint, LocalhostGivesBothLoopbacksWithThePort) {
  Endpoint e;
  e.port = 4321;
  const auto addrs = e.addresses(Transport::kTcp, /*passive=*/false);
  ASSERT_EQ(addrs.size(), 2u);
  EXPECT_EQ(addrs[0].to_string(), "127.0.0.1:4321");
  EXPECT_EQ(addrs[1].to_string(), "[::1]:4321");
}

TEST(Endpoint, NumericHostGivesThatAddress) {
  Endpoint e;
  e.host = "::1";
  e.port = 0;
  const auto addrs = e.addresses(Transport::kUdp, /*passive=*/true);
  ASSERT_EQ(addrs.size(), 1u);
  EXPECT_EQ(addrs[0].to_string(), "[::1]:0");
}

}  // namespace
}  // namespace netlab::net
