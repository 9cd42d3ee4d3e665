#include "net/address.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace netlab::net {

std::string_view transport_name(Transport t) {
  return t == Transport::kTcp ? "tcp" : "udp";
}

Address::Address(const sockaddr* sa, socklen_t len) {
  len_ = std::min<socklen_t>(len, sizeof(storage_));
  std::memcpy(&storage_, sa, len_);
}

Address Address::unix_path(std::string_view path) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(un.sun_path)) {
    throw std::invalid_argument(fmt::format("invalid unix socket path '{}': must be 1-{} bytes",
                                            path, sizeof(un.sun_path) - 1));
  }
  std::memcpy(un.sun_path, path.data(), path.size());
  return Address(reinterpret_cast<const sockaddr*>(&un),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1));
}

uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

void Address::set_port(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

std::string Address::host() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
              sizeof(text));
    return text;
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
              sizeof(text));
    return text;
  }
  if (family() == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
    const size_t path_len =
        len_ > offsetof(sockaddr_un, sun_path) ? len_ - offsetof(sockaddr_un, sun_path) : 0;
    if (path_len == 0) return "(unnamed)";
    // Linux abstract socket (autobind): leading NUL, shown as '@' like ss(8).
    if (un->sun_path[0] == '\0') {
      std::string abstract(path_len,
                           '@');  // built in place: GCC 12 misreports "@" + string (-Wrestrict)
      abstract.replace(1, path_len - 1, un->sun_path + 1, path_len - 1);
      return abstract;
    }
    return std::string(un->sun_path, strnlen(un->sun_path, path_len));
  }
  return "(unknown)";
}

std::string Address::to_string() const {
  if (family() == AF_INET) return fmt::format("{}:{}", host(), port());
  if (family() == AF_INET6) return fmt::format("[{}]:{}", host(), port());
  return host();
}

std::optional<uint16_t> parse_port(std::string_view text, Transport t) {
  if (text.empty()) return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
    return static_cast<uint16_t>(value);
  }
  // getservbyname reads a C string: "domain\0junk" would pass as "domain".
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string name(text);
  const std::string proto(transport_name(t));
  // getservbyname is not reentrant; ports are parsed once, on the main thread.
  if (const servent* se = getservbyname(name.c_str(), proto.c_str())) {
    return ntohs(static_cast<uint16_t>(se->s_port));
  }
  return std::nullopt;
}

namespace {
Address loopback(int family, uint16_t port) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in->sin_port = htons(port);
    return Address(reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in));
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  in6->sin6_family = AF_INET6;
  in6->sin6_addr = in6addr_loopback;
  in6->sin6_port = htons(port);
  return Address(reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in6));
}

bool is_localhost(const std::string& host) {
  return strcasecmp(host.c_str(), "localhost") == 0 || strcasecmp(host.c_str(), "localhost.") == 0;
}
}  // namespace

std::vector<Address> resolve(const std::string& host, uint16_t port, Transport t, bool passive) {
  // "localhost" is loopback on both families (RFC 6761), whatever /etc/hosts
  // says: many hosts list only 127.0.0.1 for it. IPv4 first, because that is
  // where most servers listen.
  if (is_localhost(host)) return {loopback(AF_INET, port), loopback(AF_INET6, port)};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = t == Transport::kTcp ? SOCK_STREAM : SOCK_DGRAM;
  // No AI_ADDRCONFIG: it hides ::1 (and even 127.0.0.1) on hosts whose only
  // interface is loopback, exactly where tests and demos run.
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  const std::string service = std::to_string(port);
  addrinfo* result = nullptr;
  const int rc =
      getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &result);
  if (rc != 0) {
    throw std::runtime_error(fmt::format("cannot resolve {}: {}", host, gai_strerror(rc)));
  }
  std::vector<Address> out;
  for (const addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    Address a(ai->ai_addr, ai->ai_addrlen);
    const bool dup = std::any_of(out.begin(), out.end(), [&](const Address& b) {
      return b.size() == a.size() && std::memcmp(b.get(), a.get(), a.size()) == 0;
    });
    if (!dup) out.push_back(a);
  }
  freeaddrinfo(result);
  if (out.empty()) throw std::runtime_error(fmt::format("cannot resolve {}: no addresses", host));
  return out;
}

}  // namespace netlab::net
