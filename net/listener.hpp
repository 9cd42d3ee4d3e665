#pragma once
// Listener: the server sockets for one endpoint, bound and (for TCP)
// listening. A host name binds every address it resolves to (localhost ->
// 127.0.0.1 and ::1), all on the same port even when the port was 0, so the
// one port number a script reads works for every address. For --unix it
// replaces a stale socket file (nobody accepting on it) and removes its own
// file on destruction, in the process that created it only (not in fork()ed
// children).
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/address.hpp"
#include "net/endpoint.hpp"
#include "net/socket.hpp"

namespace netlab::net {

class Listener {
 public:
  static Listener open(const Endpoint& endpoint, Transport transport, int backlog = 4096);
  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&&) = delete;
  ~Listener();

  std::vector<Socket>& sockets() { return sockets_; }
  // One "listening on <proto> <addr>" line per socket, always printed.
  void announce() const;
  void close();  // stop listening (graceful shutdown); keeps the unix path until destruction

 private:
  Listener() = default;
  std::vector<Socket> sockets_;
  std::vector<std::string> names_;  // formatted once: the sockets may be closed before announce()
  std::string proto_;
  std::string unix_path_;
  pid_t owner_ = 0;
};

}  // namespace netlab::net
