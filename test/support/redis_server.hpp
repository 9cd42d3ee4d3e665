#pragma once
// A redis-server of the test's own for the cluster tests: loopback only, no
// persistence, on a free port. Redis has no "--port 0", so the port is found
// by binding 127.0.0.1:0 and letting it go; if another process takes it
// first, redis-server exits at once and start() tries again elsewhere.
// The destructor stops it (SIGKILL) and reaps it, like Process.
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "support/process.hpp"

namespace netlab::testing {

class RedisServer {
 public:
  RedisServer();  // started; check running()
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  const std::string& error() const { return error_; }

  // SIGTERM (Redis exits at once with --save ''), waits for it to exit.
  bool stop(Millis timeout = kTimeout);
  // Starts again on the same port (the nodes reconnect to it).
  bool start_again(Millis timeout = kTimeout);
  // One command in inline form ("DBSIZE") and its reply line, for checks.
  std::string query(const std::string& inline_command, Millis timeout = kTimeout);

 private:
  bool start_on(uint16_t port, Millis timeout);
  static uint16_t free_port();

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string error_;
};

}  // namespace netlab::testing
