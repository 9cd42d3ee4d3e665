#include "net/address.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>

namespace netlab::net {
namespace {

Address ipv4(const char* text, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET, text, &in.sin_addr), 1) << text;
  return Address(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
}

Address ipv6(const char* text, uint16_t port) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET6, text, &in6.sin6_addr), 1) << text;
  return Address(reinterpret_cast<const sockaddr*>(&in6), sizeof(in6));
}

bool is_loopback(const Address& a) {
  if (a.family() == AF_INET) {
    return ntohl(reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr.s_addr) == INADDR_LOOPBACK;
  }
  return a.family() == AF_INET6 &&
         IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(a.get())->sin6_addr);
}

bool is_wildcard(const Address& a) {
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  return a.family() == AF_INET6 &&
         IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(a.get())->sin6_addr);
}

// --- parse_port -------------------------------------------------------------

TEST(ParsePort, AcceptsNumbersInRange) {
  EXPECT_EQ(parse_port("0", Transport::kTcp), 0);
  EXPECT_EQ(parse_port("1", Transport::kTcp), 1);
  EXPECT_EQ(parse_port("21567", Transport::kTcp), 21567);
  EXPECT_EQ(parse_port("65535", Transport::kTcp), 65535);
  EXPECT_EQ(parse_port("65535", Transport::kUdp), 65535);
}

TEST(ParsePort, RejectsNumbersOutOfRange) {
  EXPECT_EQ(parse_port("65536", Transport::kTcp), std::nullopt);
  EXPECT_EQ(parse_port("70000", Transport::kTcp), std::nullopt);
  EXPECT_EQ(parse_port("70000", Transport::kUdp), std::nullopt);
  EXPECT_EQ(parse_port("4294967297", Transport::kTcp), std::nullopt);  // wraps to 1 in 32 bits
  EXPECT_EQ(parse_port("99999999999999999999999", Transport::kTcp), std::nullopt);
}

TEST(ParsePort, RejectsNegativeNumbers) {
  EXPECT_EQ(parse_port("-1", Transport::kTcp), std::nullopt);
  EXPECT_EQ(parse_port("-1", Transport::kUdp), std::nullopt);
}

TEST(ParsePort, RejectsGarbageAndEmpty) {
  EXPECT_EQ(parse_port("abc", Transport::kTcp), std::nullopt);
  EXPECT_EQ(parse_port("abc", Transport::kUdp), std::nullopt);
  EXPECT_EQ(parse_port("", Transport::kTcp), std::nullopt);
  EXPECT_EQ(parse_port("", Transport::kUdp), std::nullopt);
  EXPECT_EQ(parse_port("80x", Transport::kTcp), std::nullopt);
  EXPECT_EQ(parse_port(" 80", Transport::kTcp), std::nullopt);
  EXPECT_EQ(parse_port("+80", Transport::kTcp), std::nullopt);
  EXPECT_EQ(parse_port("8 0", Transport::kTcp), std::nullopt);
}

TEST(ParsePort, ResolvesServiceNamesForTheTransport) {
  EXPECT_EQ(parse_port("daytime", Transport::kUdp), 13);
  EXPECT_EQ(parse_port("daytime", Transport::kTcp), 13);
  EXPECT_EQ(parse_port("http", Transport::kTcp), 80);
}

TEST(ParsePort, ServiceNameMustExistForTheTransport) {
  // /etc/services lists http for tcp only.
  EXPECT_EQ(parse_port("http", Transport::kUdp), std::nullopt);
  EXPECT_EQ(parse_port("no-such-service-netlab", Transport::kTcp), std::nullopt);
}

// Found by test/fuzz/address_fuzz: getservbyname stops at the NUL.
TEST(ParsePort, RejectsAServiceNameWithANulInside) {
  using namespace std::string_literals;
  EXPECT_EQ(parse_port("daytime\0junk"s, Transport::kTcp), std::nullopt);
  EXPECT_EQ(parse_port("daytime\0"s, Transport::kUdp), std::nullopt);
  EXPECT_EQ(parse_port("80\0"s, Transport::kTcp), std::nullopt);
}

// --- Address ----------------------------------------------------------------

TEST(Address, TransportNamesAreTheProtocolNames) {
  EXPECT_EQ(transport_name(Transport::kTcp), "tcp");
  EXPECT_EQ(transport_name(Transport::kUdp), "udp");
}

TEST(Address, FormatsIpv4AsHostColonPort) {
  const Address a = ipv4("127.0.0.1", 21567);
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_TRUE(a.is_inet());
  EXPECT_EQ(a.port(), 21567);
  EXPECT_EQ(a.host(), "127.0.0.1");
  EXPECT_EQ(a.to_string(), "127.0.0.1:21567");
  EXPECT_EQ(a.size(), sizeof(sockaddr_in));
}

TEST(Address, FormatsIpv6InBrackets) {
  EXPECT_EQ(ipv6("::1", 21567).to_string(), "[::1]:21567");
  EXPECT_EQ(ipv6("::1", 21567).host(), "::1");
  EXPECT_EQ(ipv6("::", 0).to_string(), "[::]:0");
  EXPECT_EQ(ipv6("fe80::1:2", 65535).to_string(), "[fe80::1:2]:65535");
  EXPECT_EQ(ipv6("::ffff:127.0.0.1", 80).to_string(), "[::ffff:127.0.0.1]:80");
  EXPECT_TRUE(ipv6("::1", 1).is_inet());
}

TEST(Address, SetPortChangesOnlyThePort) {
  Address a = ipv4("127.0.0.1", 1);
  a.set_port(65535);
  EXPECT_EQ(a.to_string(), "127.0.0.1:65535");
  Address b = ipv6("::1", 1);
  b.set_port(8080);
  EXPECT_EQ(b.to_string(), "[::1]:8080");
}

TEST(Address, UnixPathFormatsAsThePath) {
  const Address a = Address::unix_path("/tmp/netlab.sock");
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_FALSE(a.is_inet());
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.host(), "/tmp/netlab.sock");
  EXPECT_EQ(a.to_string(), "/tmp/netlab.sock");
  const auto* un = reinterpret_cast<const sockaddr_un*>(a.get());
  EXPECT_STREQ(un->sun_path, "/tmp/netlab.sock");
}

TEST(Address, SetPortOnAUnixAddressIsANoOp) {
  Address a = Address::unix_path("/tmp/x.sock");
  a.set_port(80);
  EXPECT_EQ(a.to_string(), "/tmp/x.sock");
  EXPECT_EQ(a.port(), 0);
}

TEST(Address, UnixPathMustFitSunPath) {
  const size_t max = sizeof(sockaddr_un{}.sun_path) - 1;
  const std::string longest = "/" + std::string(max - 1, 'a');
  EXPECT_EQ(Address::unix_path(longest).to_string(), longest);
  EXPECT_THROW(Address::unix_path(longest + "a"), std::invalid_argument);
  EXPECT_THROW(Address::unix_path(""), std::invalid_argument);
}

TEST(Address, AbstractUnixAddressShowsAnAt) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, "\0netlab", 7);
  const Address a(reinterpret_cast<const sockaddr*>(&un),
                  static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 7));
  EXPECT_EQ(a.to_string(), "@netlab");
}

TEST(Address, UnnamedUnixAddressSaysSo) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  const Address a(reinterpret_cast<const sockaddr*>(&un),
                  static_cast<socklen_t>(offsetof(sockaddr_un, sun_path)));
  EXPECT_EQ(a.to_string(), "(unnamed)");
}

TEST(Address, DefaultAddressIsUnknown) {
  const Address a;
  EXPECT_EQ(a.size(), 0u);
  EXPECT_FALSE(a.is_inet());
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.to_string(), "(unknown)");
}

TEST(Address, OversizedLengthIsClampedToTheStorage) {
  sockaddr_storage big[2]{};
  auto* in = reinterpret_cast<sockaddr_in*>(&big[0]);
  in->sin_family = AF_INET;
  in->sin_port = htons(7);
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const Address a(reinterpret_cast<const sockaddr*>(big), sizeof(big));
  EXPECT_EQ(a.size(), sizeof(sockaddr_storage));
  EXPECT_EQ(a.to_string(), "127.0.0.1:7");
}

TEST(Address, SizeForKernelOffersTheWholeStorage) {
  Address a;
  socklen_t* len = a.size_for_kernel();
  EXPECT_EQ(*len, sizeof(sockaddr_storage));
}

// --- resolve ----------------------------------------------------------------

TEST(Address, LocalhostResolvesToBothLoopbacksIpv4First) {
  for (Transport t : {Transport::kTcp, Transport::kUdp}) {
    for (bool passive : {false, true}) {
      const auto addrs = resolve("localhost", 4242, t, passive);
      ASSERT_EQ(addrs.size(), 2u);
      EXPECT_EQ(addrs[0].to_string(), "127.0.0.1:4242");
      EXPECT_EQ(addrs[1].to_string(), "[::1]:4242");
    }
  }
  EXPECT_EQ(resolve("LOCALHOST", 1, Transport::kTcp, false).size(), 2u);
  EXPECT_EQ(resolve("localhost.", 1, Transport::kTcp, false).size(), 2u);
}

TEST(Address, NumericHostsResolveToThemselvesOnce) {
  auto v4 = resolve("127.0.0.1", 21567, Transport::kTcp, false);
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4[0].to_string(), "127.0.0.1:21567");

  auto v6 = resolve("::1", 13, Transport::kUdp, true);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0].to_string(), "[::1]:13");
}

TEST(Address, EmptyPassiveHostMeansAnyAddress) {
  const auto addrs = resolve("", 5000, Transport::kTcp, /*passive=*/true);
  ASSERT_FALSE(addrs.empty());
  for (const auto& a : addrs) {
    EXPECT_TRUE(is_wildcard(a)) << a.to_string();
    EXPECT_EQ(a.port(), 5000);
  }
}

TEST(Address, EmptyActiveHostMeansLoopback) {
  const auto addrs = resolve("", 5000, Transport::kUdp, /*passive=*/false);
  ASSERT_FALSE(addrs.empty());
  for (const auto& a : addrs) {
    EXPECT_TRUE(is_loopback(a)) << a.to_string();
    EXPECT_EQ(a.port(), 5000);
  }
}

TEST(Address, ResolveNeverReturnsDuplicates) {
  const auto addrs = resolve("", 80, Transport::kTcp, true);
  for (size_t i = 0; i < addrs.size(); ++i) {
    for (size_t j = i + 1; j < addrs.size(); ++j) {
      EXPECT_NE(addrs[i].to_string(), addrs[j].to_string());
    }
  }
}

}  // namespace
}  // namespace netlab::net
