// Fuzzes address, port and network parsing: net::parse_port, the -H/-p/--unix
// options as CLI11 parses them (modes::add_address_options), Endpoint and
// Address formatting, resolve() on numeric hosts, and Cidr / AccessList.
//
// Invariants:
//   - a port is accepted exactly when it is decimal 0-65535 (any number of
//     leading zeros) or a service name; the number round-trips; a service
//     name is a C string, so a NUL inside it is never "a known service";
//   - the CLI accepts --port exactly when parse_port does, and stores its value;
//     a usage error is a CLI::ParseError, never any other exception;
//   - a numeric host resolves to itself: one address, same family and bytes,
//     the port given; host() and to_string() round-trip through inet_pton;
//   - a unix path is 1-107 bytes (std::invalid_argument otherwise) and
//     formats as itself;
//   - Cidr::parse accepts exactly ADDRESS[/DIGITS] with the prefix in range,
//     and contains() agrees with a bit-by-bit prefix comparison, IPv4-mapped
//     peers counting as IPv4 as documented;
//   - AccessList: deny wins, a non-empty allow list admits only its networks;
//   - the reference decoder itself agrees with the unit tests' CIDR cases
//     (test/support/cidr_cases.hpp), checked once at start.
// Only numeric hosts and localhost are resolved: nothing here touches DNS.
#include <arpa/inet.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/un.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "modes/cli_options.hpp"
#include "net/address.hpp"
#include "net/cidr.hpp"
#include "net/endpoint.hpp"
#include "test/fuzz/fuzz_support.hpp"
#include "test/support/cidr_cases.hpp"

namespace {

using netlab::net::Address;
using netlab::net::Transport;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The decimal value of a digit string, or nullopt past 65535.
std::optional<unsigned> small_decimal(std::string_view digits) {
  unsigned v = 0;
  for (char c : digits) {
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > 65535) return std::nullopt;
  }
  return v;
}

void check_port(const std::string& text) {
  for (Transport t : {Transport::kTcp, Transport::kUdp}) {
    const std::optional<uint16_t> port = netlab::net::parse_port(text, t);
    if (all_digits(text)) {
      const auto expected = small_decimal(text);
      FUZZ_CHECK(port.has_value() == expected.has_value());
      if (port) FUZZ_CHECK(*port == *expected);
    } else if (port) {
      FUZZ_CHECK(text.find('\0') == std::string::npos);
    }
    if (port) FUZZ_CHECK(netlab::net::parse_port(std::to_string(*port), t) == port);
  }
}

// `netlab sub ARGS...` with the address options of one kind of subcommand.
// Built once per kind and reused: building a CLI::App costs far more than
// parsing with it, and CLI11 clears its results before each parse.
class AddressArgs {
 public:
  AddressArgs(Transport t, netlab::modes::Side side) {
    sub_ = app_.add_subcommand("sub");
    netlab::modes::add_address_options(sub_, ep_, t, side);
  }

  // The endpoint the options describe, or nullopt for a usage error.
  std::optional<netlab::net::Endpoint> parse(const std::vector<std::string>& args) {
    ep_ = netlab::net::Endpoint{};
    std::vector<std::string> argv_text = {"netlab", "sub"};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    try {
      app_.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError&) {
      return std::nullopt;
    }
    return ep_;
  }

 private:
  CLI::App app_{"fuzz"};
  CLI::App* sub_ = nullptr;
  netlab::net::Endpoint ep_;
};

AddressArgs& address_args(Transport t, netlab::modes::Side side) {
  static AddressArgs tcp_server(Transport::kTcp, netlab::modes::Side::kServer);
  static AddressArgs tcp_client(Transport::kTcp, netlab::modes::Side::kClient);
  static AddressArgs udp_server(Transport::kUdp, netlab::modes::Side::kServer);
  static AddressArgs udp_client(Transport::kUdp, netlab::modes::Side::kClient);
  if (t == Transport::kTcp) return side == netlab::modes::Side::kServer ? tcp_server : tcp_client;
  return side == netlab::modes::Side::kServer ? udp_server : udp_client;
}

void check_cli(FuzzedDataProvider& fdp) {
  const Transport t = fdp.ConsumeBool() ? Transport::kUdp : Transport::kTcp;
  const auto side = fdp.ConsumeBool() ? netlab::modes::Side::kClient : netlab::modes::Side::kServer;
  // A real argv cannot hold a NUL: each argument ends at the first one.
  const auto arg = [&] { return std::string(fdp.ConsumeRandomLengthString(40).c_str()); };

  // --port=VALUE: accepted exactly when parse_port accepts it.
  const std::string port_text = arg();
  AddressArgs& parser = address_args(t, side);
  const auto ep = parser.parse({"--port=" + port_text});
  const auto port = netlab::net::parse_port(port_text, t);
  FUZZ_CHECK(ep.has_value() == port.has_value());
  if (ep) FUZZ_CHECK(ep->port == *port);

  // Anything else: no exception but a usage error, and a consistent Endpoint.
  std::vector<std::string> args(fdp.ConsumeIntegralInRange<size_t>(0, 5));
  for (auto& a : args)
    a = fdp.ConsumeBool()
            ? arg()
            : fdp.PickValueInArray<std::string>({"-H", "--host", "-p", "--port", "--unix", "--",
                                                 "localhost", "21567", "daytime", "-p0"});
  const auto parsed = parser.parse(args);
  if (!parsed) return;
  const netlab::net::Endpoint& any = *parsed;
  const std::string text = any.to_string();
  if (any.is_unix()) {
    FUZZ_CHECK(text == any.unix_path);
    try {
      const auto addrs = any.addresses(t, side == netlab::modes::Side::kServer);
      FUZZ_CHECK(addrs.size() == 1 && addrs[0].to_string() == any.unix_path);
    } catch (const std::invalid_argument&) {
      FUZZ_CHECK(any.unix_path.size() >= sizeof(sockaddr_un::sun_path));
    }
  } else {
    FUZZ_CHECK(text.ends_with(":" + std::to_string(any.port)));
  }
}

// A numeric host resolves to exactly itself.
void check_host(const std::string& host, uint16_t port) {
  std::array<unsigned char, 16> bytes{};
  int family = 0;
  if (inet_pton(AF_INET, host.c_str(), bytes.data()) == 1) {
    family = AF_INET;
  } else if (inet_pton(AF_INET6, host.c_str(), bytes.data()) == 1) {
    family = AF_INET6;
  }
  const bool localhost =
      strcasecmp(host.c_str(), "localhost") == 0 || strcasecmp(host.c_str(), "localhost.") == 0;
  if (host.find('\0') != std::string::npos || (family == 0 && !localhost)) return;

  for (Transport t : {Transport::kTcp, Transport::kUdp}) {
    const std::vector<Address> addrs = netlab::net::resolve(host, port, t, /*passive=*/false);
    if (localhost) {
      FUZZ_CHECK(addrs.size() == 2);
      FUZZ_CHECK(addrs[0].to_string() == "127.0.0.1:" + std::to_string(port));
      FUZZ_CHECK(addrs[1].to_string() == "[::1]:" + std::to_string(port));
      continue;
    }
    FUZZ_CHECK(addrs.size() == 1);
    const Address& a = addrs[0];
    FUZZ_CHECK(a.family() == family && a.is_inet() && a.port() == port);
    const std::string back = a.host();
    std::array<unsigned char, 16> again{};
    FUZZ_CHECK(inet_pton(family, back.c_str(), again.data()) == 1);
    FUZZ_CHECK(again == bytes);
    const netlab::net::Endpoint ep{back, port, ""};
    FUZZ_CHECK(ep.to_string() == a.to_string());
  }
}

void check_unix_path(const std::string& path) {
  try {
    const Address a = Address::unix_path(path);
    FUZZ_CHECK(!path.empty() && path.size() < sizeof(sockaddr_un::sun_path));
    FUZZ_CHECK(a.family() == AF_UNIX && !a.is_inet() && a.port() == 0);
    if (path.find('\0') == std::string::npos) FUZZ_CHECK(a.to_string() == path);
  } catch (const std::invalid_argument&) {
    FUZZ_CHECK(path.empty() || path.size() >= sizeof(sockaddr_un::sun_path));
  }
}

// Formatting whatever the kernel might hand back from accept/recvfrom.
void check_raw_sockaddr(FuzzedDataProvider& fdp) {
  sockaddr_storage ss{};
  const std::vector<uint8_t> raw = fdp.ConsumeBytes<uint8_t>(sizeof(ss));
  if (!raw.empty()) std::memcpy(&ss, raw.data(), raw.size());
  ss.ss_family = fdp.PickValueInArray<sa_family_t>({AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC});
  const auto len = fdp.ConsumeIntegralInRange<socklen_t>(0, sizeof(ss) + 16);
  const Address a(reinterpret_cast<const sockaddr*>(&ss), len);
  FUZZ_CHECK(a.size() <= sizeof(ss));
  const std::string text = a.to_string();
  if (a.is_inet()) FUZZ_CHECK(text.ends_with(":" + std::to_string(a.port())));
}

Address inet_address(int family, const unsigned char* bytes) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, bytes, 4);
    return Address(reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in));
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  in6->sin6_family = AF_INET6;
  std::memcpy(&in6->sin6_addr, bytes, 16);
  return Address(reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in6));
}

// A network written as text, decoded here independently of Cidr.
struct Network {
  int family = 0;  // after unwrapping IPv4-mapped /96 and longer, as documented
  std::array<unsigned char, 16> bytes{};
  int prefix = 0;
};

std::optional<Network> reference_network(const std::string& text) {
  if (text.find('\0') != std::string::npos) return std::nullopt;
  const size_t slash = text.find('/');
  const std::string host = text.substr(0, slash);
  Network n;
  if (inet_pton(AF_INET, host.c_str(), n.bytes.data()) == 1) {
    n.family = AF_INET;
  } else if (inet_pton(AF_INET6, host.c_str(), n.bytes.data()) == 1) {
    n.family = AF_INET6;
  } else {
    return std::nullopt;
  }
  const int max = n.family == AF_INET ? 32 : 128;
  n.prefix = max;
  if (slash != std::string::npos) {
    const std::string digits = text.substr(slash + 1);
    if (!all_digits(digits)) return std::nullopt;
    const auto v = small_decimal(digits);
    if (!v || *v > static_cast<unsigned>(max)) return std::nullopt;
    n.prefix = static_cast<int>(*v);
  }
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (n.family == AF_INET6 && n.prefix >= 96 && std::memcmp(n.bytes.data(), kMapped, 12) == 0) {
    std::array<unsigned char, 16> v4{};
    std::memcpy(v4.data(), n.bytes.data() + 12, 4);
    n = Network{AF_INET, v4, n.prefix - 96};
  }
  return n;
}

bool reference_contains(const Network& n, int family, const unsigned char* bytes) {
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family == AF_INET6 && std::memcmp(bytes, kMapped, 12) == 0) {
    family = AF_INET;
    bytes += 12;
  }
  if (family != n.family) return false;
  for (int bit = 0; bit < n.prefix; ++bit) {
    const int mask = 0x80 >> (bit % 8);
    if ((bytes[bit / 8] & mask) != (n.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

void check_cidr(FuzzedDataProvider& fdp) {
  std::vector<std::string> texts(fdp.ConsumeIntegralInRange<size_t>(1, 4));
  netlab::net::AccessList acl;
  std::vector<Network> allow, deny;
  for (auto& text : texts) {
    text = fdp.ConsumeRandomLengthString(48);
    const auto parsed = netlab::net::Cidr::parse(text);
    const auto expected = reference_network(text);
    FUZZ_CHECK(parsed.has_value() == expected.has_value());
    if (!parsed) continue;
    if (fdp.ConsumeBool()) {
      acl.deny.push_back(*parsed);
      deny.push_back(*expected);
    } else {
      acl.allow.push_back(*parsed);
      allow.push_back(*expected);
    }
  }
  // Peers: the networks' own addresses (so prefixes match often), mutated.
  for (int round = 0; round < 4; ++round) {
    const int family = fdp.ConsumeBool() ? AF_INET6 : AF_INET;
    std::array<unsigned char, 16> peer{};
    const auto& all = fdp.ConsumeBool() ? allow : deny;
    if (!all.empty()) peer = all[fdp.ConsumeIntegralInRange<size_t>(0, all.size() - 1)].bytes;
    if (family == AF_INET6 && fdp.ConsumeBool()) {
      std::memmove(peer.data() + 12, peer.data(), 4);  // the IPv4-mapped form of a v4 address
      std::memset(peer.data(), 0, 10);
      peer[10] = peer[11] = 0xff;
    }
    const size_t flip = fdp.ConsumeIntegralInRange<size_t>(0, 128);
    if (flip < 128) peer[flip / 8] ^= static_cast<unsigned char>(0x80 >> (flip % 8));
    const Address a = inet_address(family, peer.data());
    auto in = [&](const Network& n) { return reference_contains(n, family, peer.data()); };
    for (size_t i = 0; i < acl.allow.size(); ++i) {
      FUZZ_CHECK(acl.allow[i].contains(a) == in(allow[i]));
    }
    for (size_t i = 0; i < acl.deny.size(); ++i) {
      FUZZ_CHECK(acl.deny[i].contains(a) == in(deny[i]));
    }
    const bool denied = std::any_of(deny.begin(), deny.end(), in);
    const bool allowed = allow.empty() || std::any_of(allow.begin(), allow.end(), in);
    FUZZ_CHECK(acl.permits(a) == (!denied && allowed));
  }
  FUZZ_CHECK(acl.permits(Address::unix_path("/tmp/fuzz.sock")));
}

// The reference above is only worth fuzzing against if it agrees with the
// unit tests' cases: held to them once, before the first input.
void check_reference_against_unit_cases() {
  namespace cases = netlab::testing::cidr_cases;
  for (const auto& group : cases::kMatchGroups) {
    for (const auto& c : group.cases) {
      const auto network = reference_network(std::string(c.network));
      FUZZ_CHECK(network.has_value());
      const std::string peer(c.peer);
      std::array<unsigned char, 16> bytes{};
      int family = AF_INET;
      if (inet_pton(AF_INET, peer.c_str(), bytes.data()) != 1) {
        family = AF_INET6;
        FUZZ_CHECK(inet_pton(AF_INET6, peer.c_str(), bytes.data()) == 1);
      }
      FUZZ_CHECK(reference_contains(*network, family, bytes.data()) == c.matches);
    }
  }
  for (std::string_view good : cases::kValid) FUZZ_CHECK(reference_network(std::string(good)));
  for (const auto& bad_texts : {std::span<const std::string_view>(cases::kMalformed),
                                std::span<const std::string_view>(cases::kNegativeZeroPrefix),
                                std::span<const std::string_view>(cases::kNulInside)}) {
    for (std::string_view bad : bad_texts) FUZZ_CHECK(!reference_network(std::string(bad)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  check_reference_against_unit_cases();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  switch (fdp.ConsumeIntegralInRange(0, 5)) {
    case 0:
      check_port(fdp.ConsumeRemainingBytesAsString());
      break;
    case 1:
      check_cli(fdp);
      break;
    case 2: {
      const auto port = fdp.ConsumeIntegral<uint16_t>();
      check_host(fdp.ConsumeRemainingBytesAsString(), port);
      break;
    }
    case 3:
      check_unix_path(fdp.ConsumeRemainingBytesAsString());
      break;
    case 4:
      check_raw_sockaddr(fdp);
      break;
    default:
      check_cidr(fdp);
      break;
  }
  return 0;
}
