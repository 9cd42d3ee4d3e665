#pragma once
// Address: one socket address (IPv4, IPv6 or AF_UNIX) plus its length, and the
// name resolution helpers every mode uses. Formatting is uniform everywhere:
// "127.0.0.1:80", "[::1]:80", "/tmp/x.sock".
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netlab::net {

enum class Transport { kTcp, kUdp };

// "tcp" / "udp": the protocol name getservbyname and our log lines use.
std::string_view transport_name(Transport t);

class Address {
 public:
  Address() = default;
  Address(const sockaddr* sa, socklen_t len);

  // Throws std::invalid_argument when the path does not fit sun_path.
  static Address unix_path(std::string_view path);

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* get_mutable() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }
  // For accept()/recvfrom(): the capacity to pass in, updated by the kernel.
  socklen_t* size_for_kernel() {
    len_ = sizeof(storage_);
    return &len_;
  }
  int family() const { return storage_.ss_family; }
  bool is_inet() const { return family() == AF_INET || family() == AF_INET6; }

  uint16_t port() const;  // 0 for AF_UNIX
  void set_port(uint16_t port);

  std::string host() const;  // numeric host, or the unix path
  std::string to_string() const;

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

// Parses a port: a number 0-65535 or a service name known for the protocol
// (getservbyname). nullopt for anything else.
std::optional<uint16_t> parse_port(std::string_view text, Transport t);

// Every address HOST resolves to for the transport, in resolver order, without
// duplicates. `passive` is for servers (an empty host means "any").
// Throws std::runtime_error("cannot resolve HOST: <gai reason>").
std::vector<Address> resolve(const std::string& host, uint16_t port, Transport t, bool passive);

}  // namespace netlab::net
