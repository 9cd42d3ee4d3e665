#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "net/address.hpp"

namespace netlab::net {

// Where a server listens or a client connects, as the user wrote it: host and
// port, or a unix socket path.
struct Endpoint {
  std::string host = "localhost";
  uint16_t port = 21567;
  std::string unix_path;  // non-empty: AF_UNIX instead of host/port

  bool is_unix() const { return !unix_path.empty(); }
  std::string to_string() const;  // "localhost:21567", "[::1]:21567" or the path
  // Every address to bind or try, in order (resolving the host; throws).
  std::vector<Address> addresses(Transport t, bool passive) const;
};

}  // namespace netlab::net
