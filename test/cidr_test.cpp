#include "net/cidr.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <span>
#include <string>
#include <string_view>

#include "support/cidr_cases.hpp"

namespace netlab::net {
namespace {

namespace cidr_cases = netlab::testing::cidr_cases;

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

// Each network of the table contains its peer exactly when the table says so.
void expect_matches(std::span<const cidr_cases::Match> cases) {
  for (const auto& c : cases) {
    const auto network = Cidr::parse(c.network);
    if (!network) {
      ADD_FAILURE() << "not a network: " << c.network;
      continue;
    }
    EXPECT_EQ(network->contains(addr(std::string(c.peer))), c.matches)
        << c.network << " contains " << c.peer;
  }
}

void expect_refused(std::span<const std::string_view> texts) {
  for (std::string_view bad : texts) {
    EXPECT_FALSE(Cidr::parse(bad).has_value()) << ::testing::PrintToString(std::string(bad));
  }
}

Cidr cidr(const char* text) {
  auto c = Cidr::parse(text);
  EXPECT_TRUE(c.has_value()) << text;
  return c.value_or(Cidr{});
}

TEST(Cidr, ParsesIpv4AndIpv6Networks) {
  for (std::string_view good : cidr_cases::kValid) {
    EXPECT_TRUE(Cidr::parse(good).has_value()) << '"' << good << '"';
  }
}

TEST(Cidr, RejectsMalformedText) {
  expect_refused(cidr_cases::kMalformed);
}

// Found by test/fuzz/address_fuzz: from_chars into an int took "-0" as 0,
// so "10.0.0.0/-0" was /0 and matched every IPv4 peer.
TEST(Cidr, RejectsANegativeZeroPrefix) {
  expect_refused(cidr_cases::kNegativeZeroPrefix);
}

// Found by test/fuzz/address_fuzz: inet_pton stops at the NUL.
TEST(Cidr, RejectsTextWithANulInside) {
  expect_refused(cidr_cases::kNulInside);
}

TEST(Cidr, BareAddressMatchesOnlyItself) {
  expect_matches(cidr_cases::kBareAddressMatchesOnlyItself);
}

TEST(Cidr, Ipv4PrefixOnByteBoundary) {
  expect_matches(cidr_cases::kIpv4PrefixOnByteBoundary);
}

TEST(Cidr, Ipv4PrefixInsideAByte) {
  expect_matches(cidr_cases::kIpv4PrefixInsideAByte);
}

TEST(Cidr, HostBitsInTheNetworkAreIgnored) {
  expect_matches(cidr_cases::kHostBitsInTheNetworkAreIgnored);
}

TEST(Cidr, ZeroPrefixMatchesEveryAddressOfItsFamily) {
  expect_matches(cidr_cases::kZeroPrefixMatchesEveryAddressOfItsFamily);
}

TEST(Cidr, Ipv6Prefixes) {
  expect_matches(cidr_cases::kIpv6Prefixes);
}

TEST(Cidr, Ipv4MappedPeerMatchesIpv4Network) {
  expect_matches(cidr_cases::kIpv4MappedPeerMatchesIpv4Network);
}

TEST(Cidr, Ipv4NetworkDoesNotMatchOtherIpv6) {
  expect_matches(cidr_cases::kIpv4NetworkDoesNotMatchOtherIpv6);
}

TEST(Cidr, Ipv4MappedNetworkMatchesItsPeers) {
  expect_matches(cidr_cases::kIpv4MappedNetworkMatchesItsPeers);
}

TEST(Cidr, FullLengthPrefixesMatchExactlyOneAddress) {
  expect_matches(cidr_cases::kFullLengthPrefixesMatchExactlyOneAddress);
}

TEST(Cidr, Ipv4MappedNetworkMatchesNativeIpv4Peers) {
  expect_matches(cidr_cases::kIpv4MappedNetworkMatchesNativeIpv4Peers);
}

TEST(Cidr, Ipv6NetworksNeverMatchIpv4PeersEvenMapped) {
  expect_matches(cidr_cases::kIpv6NetworksNeverMatchIpv4PeersEvenMapped);
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
