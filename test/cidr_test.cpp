#include "net/cidr.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

namespace netlab::net {
namespace {

// Addresses are only formatted and compared here; nothing is sent anywhere.
Address addr(const std::string& text) {
  sockaddr_storage ss{};
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, text.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    return Address(reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in));
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr), 1) << text;
  in6->sin6_family = AF_INET6;
  return Address(reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in6));
}

bool contains(const char* cidr, const std::string& address) {
  const auto c = Cidr::parse(cidr);
  EXPECT_TRUE(c.has_value()) << cidr;
  return c && c->contains(addr(address));
}

Cidr cidr(const char* text) {
  auto c = Cidr::parse(text);
  EXPECT_TRUE(c.has_value()) << text;
  return c.value_or(Cidr{});
}

TEST(Cidr, ParsesIpv4AndIpv6Networks) {
  EXPECT_TRUE(Cidr::parse("10.0.0.0/8"));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0"));
  EXPECT_TRUE(Cidr::parse("127.0.0.1/32"));
  EXPECT_TRUE(Cidr::parse("127.0.0.1"));
  EXPECT_TRUE(Cidr::parse("::1/128"));
  EXPECT_TRUE(Cidr::parse("::/0"));
  EXPECT_TRUE(Cidr::parse("fe80::/10"));
  EXPECT_TRUE(Cidr::parse("::1"));
}

TEST(Cidr, RejectsMalformedText) {
  for (const char* bad :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x",
        "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0/8", "256.0.0.0/8", "10.0.0.0.0", "::1/129", "::1/",
        "localhost", "example.org/24", "1.2.3.4 ", " 1.2.3.4", "::g"}) {
    EXPECT_FALSE(Cidr::parse(bad).has_value()) << '"' << bad << '"';
  }
}

// Found by test/fuzz/address_fuzz: from_chars into an int took "-0" as 0,
// so "10.0.0.0/-0" was /0 and matched every IPv4 peer.
TEST(Cidr, RejectsANegativeZeroPrefix) {
  for (const char* bad : {"10.0.0.0/-0", "255.255.255.255/-0", "::1/-0", "::/-00"}) {
    EXPECT_FALSE(Cidr::parse(bad).has_value()) << '"' << bad << '"';
  }
}

// Found by test/fuzz/address_fuzz: inet_pton stops at the NUL.
TEST(Cidr, RejectsTextWithANulInside) {
  using namespace std::string_literals;
  for (const std::string& bad : {"10.0.0.1\0junk"s, "10.0.0.1\0"s, "::1\0/8"s, "10.0.0.0/8\0"s}) {
    EXPECT_FALSE(Cidr::parse(bad).has_value());
  }
}

TEST(Cidr, BareAddressMatchesOnlyItself) {
  EXPECT_TRUE(contains("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(contains("127.0.0.1", "127.0.0.2"));
  EXPECT_TRUE(contains("::1", "::1"));
  EXPECT_FALSE(contains("::1", "::2"));
}

TEST(Cidr, Ipv4PrefixOnByteBoundary) {
  EXPECT_TRUE(contains("10.0.0.0/8", "10.0.0.0"));
  EXPECT_TRUE(contains("10.0.0.0/8", "10.255.255.255"));
  EXPECT_FALSE(contains("10.0.0.0/8", "11.0.0.0"));
  EXPECT_FALSE(contains("10.0.0.0/8", "9.255.255.255"));
  EXPECT_TRUE(contains("192.168.1.0/24", "192.168.1.77"));
  EXPECT_FALSE(contains("192.168.1.0/24", "192.168.2.77"));
}

TEST(Cidr, Ipv4PrefixInsideAByte) {
  EXPECT_TRUE(contains("172.16.0.0/12", "172.16.0.1"));
  EXPECT_TRUE(contains("172.16.0.0/12", "172.31.255.255"));
  EXPECT_FALSE(contains("172.16.0.0/12", "172.32.0.0"));
  EXPECT_FALSE(contains("172.16.0.0/12", "172.15.255.255"));
  EXPECT_TRUE(contains("10.0.0.0/31", "10.0.0.1"));
  EXPECT_FALSE(contains("10.0.0.0/31", "10.0.0.2"));
  EXPECT_TRUE(contains("128.0.0.0/1", "200.1.1.1"));
  EXPECT_FALSE(contains("128.0.0.0/1", "127.255.255.255"));
}

TEST(Cidr, HostBitsInTheNetworkAreIgnored) {
  EXPECT_TRUE(contains("10.1.2.3/8", "10.200.0.1"));
  EXPECT_FALSE(contains("10.1.2.3/8", "11.1.2.3"));
}

TEST(Cidr, ZeroPrefixMatchesEveryAddressOfItsFamily) {
  EXPECT_TRUE(contains("0.0.0.0/0", "1.2.3.4"));
  EXPECT_TRUE(contains("0.0.0.0/0", "255.255.255.255"));
  EXPECT_TRUE(contains("::/0", "2001:db8::1"));
  EXPECT_FALSE(contains("0.0.0.0/0", "2001:db8::1"));
  EXPECT_FALSE(contains("::/0", "1.2.3.4"));
}

TEST(Cidr, Ipv6Prefixes) {
  EXPECT_TRUE(contains("2001:db8::/32", "2001:db8:ffff::1"));
  EXPECT_FALSE(contains("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(contains("fe80::/10", "febf::1"));
  EXPECT_FALSE(contains("fe80::/10", "fec0::1"));
  EXPECT_TRUE(contains("::1/128", "::1"));
  EXPECT_FALSE(contains("::1/128", "::"));
}

TEST(Cidr, Ipv4MappedPeerMatchesIpv4Network) {
  EXPECT_TRUE(contains("127.0.0.0/8", "::ffff:127.0.0.1"));
  EXPECT_TRUE(contains("10.0.0.0/8", "::ffff:10.9.8.7"));
  EXPECT_FALSE(contains("10.0.0.0/8", "::ffff:11.9.8.7"));
  EXPECT_TRUE(contains("0.0.0.0/0", "::ffff:1.2.3.4"));
}

TEST(Cidr, Ipv4NetworkDoesNotMatchOtherIpv6) {
  // ::a.b.c.d (IPv4-compatible, deprecated) and NAT64 are not IPv4 peers.
  EXPECT_FALSE(contains("10.0.0.0/8", "::10.1.1.1"));
  EXPECT_FALSE(contains("127.0.0.1", "::1"));
}

TEST(Cidr, Ipv4MappedNetworkMatchesItsPeers) {
  // Written in mapped form, a network still means those IPv4 hosts: a
  // --deny entry that can never match anything would silently let them in.
  EXPECT_TRUE(contains("::ffff:10.0.0.0/104", "::ffff:10.1.2.3"));
  EXPECT_TRUE(contains("::ffff:127.0.0.1", "127.0.0.1"));
}

TEST(Cidr, FullLengthPrefixesMatchExactlyOneAddress) {
  EXPECT_TRUE(contains("127.0.0.1/32", "127.0.0.1"));
  EXPECT_FALSE(contains("127.0.0.1/32", "127.0.0.0"));
  EXPECT_FALSE(contains("127.0.0.1/32", "127.0.0.2"));
  EXPECT_FALSE(contains("127.0.0.1/32", "::ffff:127.0.0.2"));
  EXPECT_TRUE(contains("255.255.255.255/32", "255.255.255.255"));
  EXPECT_TRUE(contains("2001:db8::1/128", "2001:db8::1"));
  EXPECT_FALSE(contains("2001:db8::1/128", "2001:db8::"));
  EXPECT_FALSE(contains("2001:db8::1/128", "2001:db8::3"));
  EXPECT_TRUE(contains("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
                       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
}

TEST(Cidr, Ipv4MappedNetworkMatchesNativeIpv4Peers) {
  // The other way round from Ipv4MappedPeerMatchesIpv4Network: the network
  // is written mapped, the peer is a plain IPv4 one (an AF_INET socket).
  EXPECT_TRUE(contains("::ffff:127.0.0.0/104", "127.0.0.1"));
  EXPECT_TRUE(contains("::ffff:127.0.0.0/104", "127.255.0.9"));
  EXPECT_FALSE(contains("::ffff:127.0.0.0/104", "128.0.0.1"));
  EXPECT_TRUE(contains("::ffff:127.0.0.1/128", "127.0.0.1"));
  EXPECT_FALSE(contains("::ffff:127.0.0.1/128", "127.0.0.2"));
  // /96 leaves no IPv4 bits: every IPv4 peer, however it arrived.
  EXPECT_TRUE(contains("::ffff:0.0.0.0/96", "1.2.3.4"));
  EXPECT_TRUE(contains("::ffff:0.0.0.0/96", "::ffff:1.2.3.4"));
  EXPECT_FALSE(contains("::ffff:0.0.0.0/96", "::1"));
}

TEST(Cidr, Ipv6NetworksNeverMatchIpv4PeersEvenMapped) {
  // A peer is judged by its real family, not by the socket that accepted it:
  // the same rule whether the server listens on 0.0.0.0 or dual-stack ::.
  EXPECT_FALSE(contains("::/0", "::ffff:127.0.0.1"));
  EXPECT_FALSE(contains("::/0", "127.0.0.1"));
  EXPECT_TRUE(contains("::/0", "::1"));
  // Shorter than /96, a mapped network is an IPv6 one.
  EXPECT_FALSE(contains("::ffff:0:0/95", "::ffff:1.2.3.4"));
  EXPECT_TRUE(contains("::ffff:0:0/95", "::fffe:0:1"));
}

TEST(Cidr, UnixAddressIsInNoNetwork) {
  EXPECT_FALSE(cidr("0.0.0.0/0").contains(Address::unix_path("/tmp/x.sock")));
  EXPECT_FALSE(cidr("::/0").contains(Address::unix_path("/tmp/x.sock")));
  EXPECT_FALSE(cidr("::/0").contains(Address()));
}

TEST(CidrAccessList, EmptyListPermitsEveryone) {
  const AccessList acl;
  EXPECT_TRUE(acl.permits(addr("127.0.0.1")));
  EXPECT_TRUE(acl.permits(addr("::1")));
  EXPECT_TRUE(acl.permits(Address::unix_path("/tmp/x.sock")));
}

TEST(CidrAccessList, AllowListAdmitsOnlyItsNetworks) {
  AccessList acl;
  acl.allow = {cidr("127.0.0.0/8"), cidr("::1")};
  EXPECT_TRUE(acl.permits(addr("127.0.0.1")));
  EXPECT_TRUE(acl.permits(addr("127.5.5.5")));
  EXPECT_TRUE(acl.permits(addr("::1")));
  EXPECT_TRUE(acl.permits(addr("::ffff:127.0.0.1")));
  EXPECT_FALSE(acl.permits(addr("10.0.0.1")));
  EXPECT_FALSE(acl.permits(addr("2001:db8::1")));
}

TEST(CidrAccessList, DenyWinsOverAllow) {
  AccessList acl;
  acl.allow = {cidr("10.0.0.0/8")};
  acl.deny = {cidr("10.1.0.0/16")};
  EXPECT_TRUE(acl.permits(addr("10.2.0.1")));
  EXPECT_FALSE(acl.permits(addr("10.1.0.1")));
  EXPECT_FALSE(acl.permits(addr("::ffff:10.1.0.1")));
}

TEST(CidrAccessList, DenyAloneAdmitsEveryoneElse) {
  AccessList acl;
  acl.deny = {cidr("192.168.0.0/16")};
  EXPECT_FALSE(acl.permits(addr("192.168.3.4")));
  EXPECT_TRUE(acl.permits(addr("127.0.0.1")));
  EXPECT_TRUE(acl.permits(addr("::1")));
}

TEST(CidrAccessList, UnixPeersAreAlwaysAdmitted) {
  AccessList acl;
  acl.allow = {cidr("10.0.0.0/8")};
  acl.deny = {cidr("0.0.0.0/0"), cidr("::/0")};
  EXPECT_TRUE(acl.permits(Address::unix_path("/tmp/x.sock")));
}

}  // namespace
}  // namespace netlab::net
