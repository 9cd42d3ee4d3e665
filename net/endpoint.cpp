#include "net/endpoint.hpp"

#include <fmt/format.h>

namespace netlab::net {

std::string Endpoint::to_string() const {
  if (is_unix()) return unix_path;
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::vector<Address> Endpoint::addresses(Transport t, bool passive) const {
  if (is_unix()) return {Address::unix_path(unix_path)};
  return resolve(host, port, t, passive);
}

}  // namespace netlab::net
