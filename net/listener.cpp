#include "net/listener.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include "net/log.hpp"

namespace netlab::net {

namespace {
int socket_type(Transport t) {
  return t == Transport::kTcp ? SOCK_STREAM : SOCK_DGRAM;
}

// A socket file nobody accepts on is left over from a crashed server: remove it.
// One somebody does accept on means the address is really in use.
void remove_stale_unix_socket(const std::string& path, Transport t) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  Socket probe = Socket::open(AF_UNIX, socket_type(t));
  if (probe.connect(Address::unix_path(path)) < 0 && errno == ECONNREFUSED) ::unlink(path.c_str());
}

std::vector<Socket> bind_all(const std::vector<Address>& addrs, Transport t, int backlog) {
  const bool has_v4 =
      std::any_of(addrs.begin(), addrs.end(), [](auto& a) { return a.family() == AF_INET; });
  std::vector<Socket> out;
  uint16_t shared_port = 0;
  for (Address addr : addrs) {
    if (shared_port != 0) addr.set_port(shared_port);
    Socket s;
    try {
      s = Socket::open(addr.family(), socket_type(t));
      if (addr.is_inet()) s.set_reuse_addr();
      // "::" alone means dual stack (like ncat); next to an IPv4 address each
      // socket keeps to its own family so both can bind the same port.
      if (addr.family() == AF_INET6) s.set_v6only(has_v4);
      s.bind(addr);
    } catch (const std::system_error& e) {
      // A host without IPv6 still serves "localhost" on 127.0.0.1.
      const int err = e.code().value();
      if (out.empty() || (err != EAFNOSUPPORT && err != EADDRNOTAVAIL)) throw;
      Log::debug("skipping {}: {}", addr.to_string(), e.what());
      continue;
    }
    if (t == Transport::kTcp) s.listen(backlog);
    if (shared_port == 0) shared_port = s.local_address().port();
    out.push_back(std::move(s));
  }
  return out;
}
}  // namespace

Listener Listener::open(const Endpoint& endpoint, Transport transport, int backlog) {
  Listener l;
  l.proto_ = endpoint.is_unix() ? "unix" : std::string(transport_name(transport));
  if (endpoint.is_unix()) {
    const Address addr = Address::unix_path(endpoint.unix_path);
    remove_stale_unix_socket(endpoint.unix_path, transport);
    Socket s = Socket::open(AF_UNIX, socket_type(transport));
    s.bind(addr);
    l.unix_path_ = endpoint.unix_path;
    l.owner_ = getpid();
    if (transport == Transport::kTcp) s.listen(backlog);
    l.sockets_.push_back(std::move(s));
  } else {
    const auto addrs = endpoint.addresses(transport, /*passive=*/true);
    // With port 0 the port the first socket got may already be taken on
    // another address family; pick again a few times before giving up.
    constexpr int kAttempts = 8;
    for (int attempt = 1;; ++attempt) {
      try {
        l.sockets_ = bind_all(addrs, transport, backlog);
        break;
      } catch (const std::system_error& e) {
        if (endpoint.port != 0 || e.code().value() != EADDRINUSE || attempt == kAttempts) throw;
      }
    }
  }
  for (const Socket& s : l.sockets_) l.names_.push_back(s.local_address().to_string());
  return l;
}

Listener::Listener(Listener&& other) noexcept
    : sockets_(std::move(other.sockets_)),
      names_(std::move(other.names_)),
      proto_(std::move(other.proto_)),
      unix_path_(std::exchange(other.unix_path_, {})),
      owner_(other.owner_) {}

Listener::~Listener() {
  sockets_.clear();
  if (!unix_path_.empty() && owner_ == getpid()) ::unlink(unix_path_.c_str());
}

void Listener::announce() const {
  for (const auto& name : names_) Log::always("listening on {} {}", proto_, name);
}

void Listener::close() {
  sockets_.clear();
}

}  // namespace netlab::net
