#pragma once
// End-to-end test support: run the real netlab binary as a child process and
// talk to it over loopback or Unix sockets. Every wait is a poll() with a
// deadline, never a sleep, and everything started here is killed and reaped
// by its destructor, so a failing test cannot leave a server behind.
#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "support/child_process.hpp"

namespace netlab::testing {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
inline constexpr Millis kTimeout{3000};  // ample even under ASan; bounds failing tests

// Milliseconds left until `deadline`, for poll() (0 when it has passed).
int ms_left(Clock::time_point deadline);
// "123 ms" since `since`, for failure messages.
std::string elapsed_ms(Clock::time_point since);

// A running `netlab ARGS...` with stdout and stderr captured through pipes.
class Process {
 public:
  // stdin_bytes: written to the child's stdin, which is then closed; without
  // them stdin is /dev/null.
  explicit Process(std::vector<std::string> args,
                   std::optional<std::string> stdin_bytes = std::nullopt);
  // Runs with RLIMIT_NOFILE (soft and hard) lowered to max_fds.
  struct FdLimit {
    unsigned max_fds;
  };
  Process(std::vector<std::string> args, FdLimit limit);
  ~Process();  // SIGKILLs and reaps the child if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return child_.pid(); }

  // The first complete stderr line (without '\n') that the regex matches,
  // waiting until the deadline; nullopt if none came.
  std::optional<std::string> wait_for_stderr(const std::regex& re, Millis timeout = kTimeout);
  // Waits for "listening on <proto> 127.0.0.1:<port>" ([::1] with
  // ipv6) and returns the port; nullopt (plus a gtest failure) if it never came.
  std::optional<uint16_t> wait_for_port(std::string_view proto = "tcp", bool ipv6 = false,
                                        Millis timeout = kTimeout);

  bool signal(int sig);
  // Waits for the child to exit and its pipes to reach EOF. Returns the exit
  // code, 128 + signal if a signal killed it, or -1 after the deadline (the
  // child is then SIGKILLed and a gtest failure recorded).
  int wait_exit(Millis timeout = kTimeout);
  // Signals the child and waits for it: SIGTERM then wait_exit.
  int terminate(Millis timeout = kTimeout);
  bool exited() const { return child_.reaped(); }

  // What the child has written so far (all of it once wait_exit returned).
  const std::string& out() const { return child_.out(); }
  const std::string& err() const { return child_.err(); }

 private:
  detail::ChildProcess child_;
};

// A blocking stream client for one connection (TCP over loopback, or Unix).
class Client {
 public:
  // host is a numeric loopback address: "127.0.0.1" or "::1". rcvbuf > 0
  // shrinks SO_RCVBUF before connecting. Check valid() / error().
  static Client tcp(const std::string& host, uint16_t port, int rcvbuf = 0,
                    Millis timeout = kTimeout);
  // From a chosen loopback source address (bound before connecting, port 0):
  // 127.0.0.2 is another host as far as --allow/--deny can tell.
  static Client tcp_from(const std::string& source, const std::string& host, uint16_t port,
                         Millis timeout = kTimeout);
  static Client unix_stream(const std::string& path, Millis timeout = kTimeout);

  Client() = default;
  explicit Client(int fd) : fd_(fd) {}
  ~Client();
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;

  bool valid() const { return fd_ >= 0; }
  int error() const { return error_; }
  int fd() const { return fd_; }

  // Sends everything unless the peer stops reading until the deadline.
  bool send(std::string_view bytes, Millis timeout = kTimeout);
  // Returns the bytes up to and including the n-th '\n' from here on, or
  // whatever arrived before EOF, an error or the deadline.
  std::string read_lines(size_t n, Millis timeout = kTimeout);
  // Exactly n bytes, or fewer on EOF, error or deadline.
  std::string read_bytes(size_t n, Millis timeout = kTimeout);
  // Everything until the peer closes; closed() tells whether it did in time.
  std::string read_until_eof(Millis timeout = kTimeout);
  // True if bytes (or EOF) arrive before the deadline, without consuming them.
  bool readable_within(Millis timeout);
  bool closed() const { return eof_; }

  void shutdown_write();
  // Closes with SO_LINGER 0, so the peer gets a reset instead of a FIN.
  void reset();
  void close();

 private:
  static Client connect_to(const sockaddr_storage& ss, socklen_t len, int rcvbuf, Millis timeout,
                           const sockaddr_storage* source = nullptr, socklen_t source_len = 0);
  // Receives once (after waiting up to the deadline); false on EOF/error/timeout.
  bool fill(Clock::time_point deadline);

  int fd_ = -1;
  int error_ = 0;
  bool eof_ = false;
  std::string buffered_;
};

// A datagram socket of the test's own (UDP on loopback or Unix), used to
// probe userv and to play fake servers for uclnt.
class Datagram {
 public:
  // Bound to host:0 ("127.0.0.1", another 127.x.y.z, or "::1").
  static Datagram udp(const std::string& host);
  // Bound to path.
  static Datagram unix_dgram(const std::string& path);
  Datagram() = default;
  ~Datagram();
  Datagram(Datagram&& other) noexcept;
  Datagram& operator=(Datagram&& other) noexcept;

  bool valid() const { return fd_ >= 0; }
  uint16_t port() const;

  bool send_to(std::string_view data, const std::string& host, uint16_t port);
  bool send_to_unix(std::string_view data, const std::string& path);
  // Answers whoever sent the last received datagram.
  bool reply(std::string_view data);
  // The next datagram (cut to `capacity` bytes), or nullopt at the deadline.
  std::optional<std::string> receive(Millis timeout = kTimeout, size_t capacity = 65536);
  // Every datagram already queued, without waiting.
  std::vector<std::string> drain();

 private:
  int fd_ = -1;
  sockaddr_storage last_from_{};
  socklen_t last_from_len_ = 0;
};

// A loopback port nobody listens on: bound to 127.0.0.1:0 (SOCK_STREAM or
// SOCK_DGRAM), read back and closed without listening.
uint16_t unused_port(int type);

// A TCP socket listening on 127.0.0.1:0 that the test drives by hand.
class Listening {
 public:
  Listening();
  ~Listening();
  Listening(const Listening&) = delete;
  Listening& operator=(const Listening&) = delete;
  uint16_t port() const { return port_; }
  // The next connection, or an invalid Client at the deadline.
  Client accept(Millis timeout = kTimeout);

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A fresh directory under /tmp (short: Unix socket paths are limited to
// 107 bytes), removed with its contents by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(std::string_view name) const { return dir_ + "/" + std::string(name); }

 private:
  std::string dir_;
};

}  // namespace netlab::testing
