#pragma once
// Access control for servers (--allow / --deny CIDR, as in ncat).
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "net/address.hpp"

namespace netlab::net {

// An IPv4 or IPv6 network: "10.0.0.0/8", "::1/128", or a bare address (/32, /128).
class Cidr {
 public:
  static std::optional<Cidr> parse(std::string_view text);
  // IPv4-mapped IPv6 peers (::ffff:a.b.c.d on a dual-stack socket) match IPv4 networks.
  bool contains(const Address& addr) const;

 private:
  int family_ = 0;
  std::array<uint8_t, 16> bytes_{};
  int prefix_ = 0;
};

// Deny wins; a non-empty allow list admits only its networks. Unix-socket
// peers have no IP and are always admitted.
struct AccessList {
  std::vector<Cidr> allow;
  std::vector<Cidr> deny;
  bool permits(const Address& peer) const;
};

}  // namespace netlab::net
