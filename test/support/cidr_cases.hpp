#pragma once
// The cases that pin down what a CIDR network (--allow/--deny) is and whom
// it matches. test/cidr_test.cpp checks net::Cidr against them; the address
// fuzz target (test/fuzz/address_fuzz.cpp) first holds its own reference
// decoder to them, so the fuzzer's notion of "right" is the unit tests' one.
#include <cstddef>
#include <span>
#include <string_view>

namespace netlab::testing::cidr_cases {

// One case a line, so each table reads as one.
// clang-format off

// "network contains peer" is `matches`; both are numeric text.
struct Match {
  std::string_view network;
  std::string_view peer;
  bool matches;
};

inline constexpr Match kBareAddressMatchesOnlyItself[] = {
    {"127.0.0.1", "127.0.0.1", true},
    {"127.0.0.1", "127.0.0.2", false},
    {"::1", "::1", true},
    {"::1", "::2", false},
};

inline constexpr Match kIpv4PrefixOnByteBoundary[] = {
    {"10.0.0.0/8", "10.0.0.0", true},
    {"10.0.0.0/8", "10.255.255.255", true},
    {"10.0.0.0/8", "11.0.0.0", false},
    {"10.0.0.0/8", "9.255.255.255", false},
    {"192.168.1.0/24", "192.168.1.77", true},
    {"192.168.1.0/24", "192.168.2.77", false},
};

inline constexpr Match kIpv4PrefixInsideAByte[] = {
    {"172.16.0.0/12", "172.16.0.1", true},
    {"172.16.0.0/12", "172.31.255.255", true},
    {"172.16.0.0/12", "172.32.0.0", false},
    {"172.16.0.0/12", "172.15.255.255", false},
    {"10.0.0.0/31", "10.0.0.1", true},
    {"10.0.0.0/31", "10.0.0.2", false},
    {"128.0.0.0/1", "200.1.1.1", true},
    {"128.0.0.0/1", "127.255.255.255", false},
};

inline constexpr Match kHostBitsInTheNetworkAreIgnored[] = {
    {"10.1.2.3/8", "10.200.0.1", true},
    {"10.1.2.3/8", "11.1.2.3", false},
};

inline constexpr Match kZeroPrefixMatchesEveryAddressOfItsFamily[] = {
    {"0.0.0.0/0", "1.2.3.4", true},
    {"0.0.0.0/0", "255.255.255.255", true},
    {"::/0", "2001:db8::1", true},
    {"0.0.0.0/0", "2001:db8::1", false},
    {"::/0", "1.2.3.4", false},
};

inline constexpr Match kIpv6Prefixes[] = {
    {"2001:db8::/32", "2001:db8:ffff::1", true},
    {"2001:db8::/32", "2001:db9::1", false},
    {"fe80::/10", "febf::1", true},
    {"fe80::/10", "fec0::1", false},
    {"::1/128", "::1", true},
    {"::1/128", "::", false},
};

inline constexpr Match kIpv4MappedPeerMatchesIpv4Network[] = {
    {"127.0.0.0/8", "::ffff:127.0.0.1", true},
    {"10.0.0.0/8", "::ffff:10.9.8.7", true},
    {"10.0.0.0/8", "::ffff:11.9.8.7", false},
    {"0.0.0.0/0", "::ffff:1.2.3.4", true},
};

inline constexpr Match kIpv4NetworkDoesNotMatchOtherIpv6[] = {
    // ::a.b.c.d (IPv4-compatible, deprecated) and NAT64 are not IPv4 peers.
    {"10.0.0.0/8", "::10.1.1.1", false},
    {"127.0.0.1", "::1", false},
};

inline constexpr Match kIpv4MappedNetworkMatchesItsPeers[] = {
    // Written in mapped form, a network still means those IPv4 hosts: a
    // --deny entry that can never match anything would silently let them in.
    {"::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true},
    {"::ffff:127.0.0.1", "127.0.0.1", true},
};

inline constexpr Match kFullLengthPrefixesMatchExactlyOneAddress[] = {
    {"127.0.0.1/32", "127.0.0.1", true},
    {"127.0.0.1/32", "127.0.0.0", false},
    {"127.0.0.1/32", "127.0.0.2", false},
    {"127.0.0.1/32", "::ffff:127.0.0.2", false},
    {"255.255.255.255/32", "255.255.255.255", true},
    {"2001:db8::1/128", "2001:db8::1", true},
    {"2001:db8::1/128", "2001:db8::", false},
    {"2001:db8::1/128", "2001:db8::3", false},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
};

inline constexpr Match kIpv4MappedNetworkMatchesNativeIpv4Peers[] = {
    // The other way round from Ipv4MappedPeerMatchesIpv4Network: the network
    // is written mapped, the peer is a plain IPv4 one (an AF_INET socket).
    {"::ffff:127.0.0.0/104", "127.0.0.1", true},
    {"::ffff:127.0.0.0/104", "127.255.0.9", true},
    {"::ffff:127.0.0.0/104", "128.0.0.1", false},
    {"::ffff:127.0.0.1/128", "127.0.0.1", true},
    {"::ffff:127.0.0.1/128", "127.0.0.2", false},
    // /96 leaves no IPv4 bits: every IPv4 peer, however it arrived.
    {"::ffff:0.0.0.0/96", "1.2.3.4", true},
    {"::ffff:0.0.0.0/96", "::ffff:1.2.3.4", true},
    {"::ffff:0.0.0.0/96", "::1", false},
};

inline constexpr Match kIpv6NetworksNeverMatchIpv4PeersEvenMapped[] = {
    // A peer is judged by its real family, not by the socket that accepted it:
    // the same rule whether the server listens on 0.0.0.0 or dual-stack ::.
    {"::/0", "::ffff:127.0.0.1", false},
    {"::/0", "127.0.0.1", false},
    {"::/0", "::1", true},
    // Shorter than /96, a mapped network is an IPv6 one.
    {"::ffff:0:0/95", "::ffff:1.2.3.4", false},
    {"::ffff:0:0/95", "::fffe:0:1", true},
};

// clang-format on

// Every table above, named as the unit test that checks it.
struct Group {
  std::string_view name;
  std::span<const Match> cases;
};
inline constexpr Group kMatchGroups[] = {
    {"BareAddressMatchesOnlyItself", kBareAddressMatchesOnlyItself},
    {"Ipv4PrefixOnByteBoundary", kIpv4PrefixOnByteBoundary},
    {"Ipv4PrefixInsideAByte", kIpv4PrefixInsideAByte},
    {"HostBitsInTheNetworkAreIgnored", kHostBitsInTheNetworkAreIgnored},
    {"ZeroPrefixMatchesEveryAddressOfItsFamily", kZeroPrefixMatchesEveryAddressOfItsFamily},
    {"Ipv6Prefixes", kIpv6Prefixes},
    {"Ipv4MappedPeerMatchesIpv4Network", kIpv4MappedPeerMatchesIpv4Network},
    {"Ipv4NetworkDoesNotMatchOtherIpv6", kIpv4NetworkDoesNotMatchOtherIpv6},
    {"Ipv4MappedNetworkMatchesItsPeers", kIpv4MappedNetworkMatchesItsPeers},
    {"FullLengthPrefixesMatchExactlyOneAddress", kFullLengthPrefixesMatchExactlyOneAddress},
    {"Ipv4MappedNetworkMatchesNativeIpv4Peers", kIpv4MappedNetworkMatchesNativeIpv4Peers},
    {"Ipv6NetworksNeverMatchIpv4PeersEvenMapped", kIpv6NetworksNeverMatchIpv4PeersEvenMapped},
};

// clang-format off
inline constexpr std::string_view kValid[] = {
    "10.0.0.0/8", "0.0.0.0/0", "127.0.0.1/32", "127.0.0.1", "::1/128", "::/0", "fe80::/10", "::1"};

inline constexpr std::string_view kMalformed[] = {
    "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x",
    "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0/8", "256.0.0.0/8", "10.0.0.0.0", "::1/129", "::1/",
    "localhost", "example.org/24", "1.2.3.4 ", " 1.2.3.4", "::g",
};

// clang-format on

// Found by test/fuzz/address_fuzz: from_chars into an int took "-0" as 0,
// so "10.0.0.0/-0" was /0 and matched every IPv4 peer.
inline constexpr std::string_view kNegativeZeroPrefix[] = {"10.0.0.0/-0", "255.255.255.255/-0",
                                                           "::1/-0", "::/-00"};

// Found by test/fuzz/address_fuzz: inet_pton stops at the NUL.
template <size_t N>
constexpr std::string_view with_nuls(const char (&text)[N]) {
  return {text, N - 1};  // all of it, the NULs inside included
}
inline constexpr std::string_view kNulInside[] = {with_nuls("10.0.0.1\0junk"),
                                                  with_nuls("10.0.0.1\0"), with_nuls("::1\0/8"),
                                                  with_nuls("10.0.0.0/8\0")};

}  // namespace netlab::testing::cidr_cases
