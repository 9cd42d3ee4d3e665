#pragma once
// Everything `netlab bench MODE` takes, parsed once by modes/bench/bench.cpp and
// read (never written) by the mode runners.
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "modes/cli_options.hpp"
#include "net/endpoint.hpp"

namespace netlab::modes::bench {

enum class Protocol { kNetlab, kRedis };

struct Options {
  std::string mode;  // "rr", "udp", "fanout" or "idle"
  net::Endpoint endpoint;
  size_t connections = 50;  // sockets for rr/udp/idle, members for fanout
  double duration_s = 5;
  double warmup_s = 1;
  size_t threads = 1;
  bool json = false;
  std::string payload = "hello";       // sent with a '\n' appended
  size_t pipeline = 1;                 // rr
  double rate = 0;                     // rr: open loop at this many requests/s in all; 0 = closed
  int resend_ms = 200;                 // udp
  std::string room = "bench";          // fanout
  size_t window = 16;                  // fanout
  std::vector<uint16_t> member_ports;  // fanout: members spread over these (cluster nodes)
  Protocol protocol = Protocol::kNetlab;
  double hold_s = 5;     // idle
  pid_t server_pid = 0;  // idle; 0 = no RSS measurement
  LogOptions log;

  std::string request() const { return payload + '\n'; }
  bool open_loop() const { return rate > 0; }
};

// Connections (or members) handled by worker `index` of `threads`.
inline size_t share_of(size_t total, size_t threads, size_t index) {
  return total / threads + (index < total % threads ? 1 : 0);
}

}  // namespace netlab::modes::bench
