#include "net/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

namespace netlab::net {

namespace {
// The address as (family, 16 bytes), unwrapping IPv4-mapped IPv6.
std::pair<int, std::array<uint8_t, 16>> address_bytes(const Address& addr) {
  std::array<uint8_t, 16> b{};
  if (addr.family() == AF_INET) {
    std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(addr.get())->sin_addr, 4);
    return {AF_INET, b};
  }
  const auto& a6 = reinterpret_cast<const sockaddr_in6*>(addr.get())->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&a6)) {
    std::memcpy(b.data(), a6.s6_addr + 12, 4);
    return {AF_INET, b};
  }
  std::memcpy(b.data(), a6.s6_addr, 16);
  return {AF_INET6, b};
}
}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  // inet_pton reads a C string: "10.0.0.1\0junk" would pass as 10.0.0.1.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  Cidr c;
  const size_t slash = text.find('/');
  const std::string host(text.substr(0, slash));
  if (inet_pton(AF_INET, host.c_str(), c.bytes_.data()) == 1) {
    c.family_ = AF_INET;
  } else if (inet_pton(AF_INET6, host.c_str(), c.bytes_.data()) == 1) {
    c.family_ = AF_INET6;
  } else {
    return std::nullopt;
  }
  const int max_prefix = c.family_ == AF_INET ? 32 : 128;
  c.prefix_ = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    // Unsigned: from_chars takes a '-' for a signed type, and "-0" would
    // pass as /0, a network holding every address.
    unsigned prefix = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() ||
        prefix > static_cast<unsigned>(max_prefix)) {
      return std::nullopt;
    }
    c.prefix_ = static_cast<int>(prefix);
  }
  // "::ffff:10.0.0.0/104" is an IPv4 network in IPv6 clothing; peers are
  // compared as IPv4 (see address_bytes), so store it as one.
  const auto* v6 = reinterpret_cast<const in6_addr*>(c.bytes_.data());
  if (c.family_ == AF_INET6 && IN6_IS_ADDR_V4MAPPED(v6) && c.prefix_ >= 96) {
    std::array<uint8_t, 16> v4{};
    std::memcpy(v4.data(), c.bytes_.data() + 12, 4);
    c.bytes_ = v4;
    c.family_ = AF_INET;
    c.prefix_ -= 96;
  }
  return c;
}

bool Cidr::contains(const Address& addr) const {
  if (!addr.is_inet()) return false;
  const auto [family, b] = address_bytes(addr);
  if (family != family_) return false;
  const int full = prefix_ / 8;
  if (!std::equal(b.begin(), b.begin() + full, bytes_.begin())) return false;
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (b[full] & mask) == (bytes_[full] & mask);
}

bool AccessList::permits(const Address& peer) const {
  if (!peer.is_inet()) return true;
  auto match = [&](const Cidr& c) { return c.contains(peer); };
  if (std::any_of(deny.begin(), deny.end(), match)) return false;
  return allow.empty() || std::any_of(allow.begin(), allow.end(), match);
}

}  // namespace netlab::net
