#pragma once
// Shared by the "limit" reference servers (bench/compare.sh): the smallest
// honest single-threaded epoll servers we can write, the yardstick for what
// one core can do. Plain libc/libstdc++ on purpose: no netlab code, so a
// slowdown in netlab's own layers shows up as a ratio below 1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace limit {

// Python's time.ctime() text ("Wed Nov 25 11:31:22 2026", local time),
// formatted at most once per second: the caller passes time(nullptr) once per
// wakeup, which is a vDSO call, not a system call.
class CtimeCache {
 public:
  const std::string& get(std::time_t now) {
    if (now != at_) {
      std::tm tm{};
      localtime_r(&now, &tm);
      char buf[64];
      // The C locale (we never call setlocale) gives English names; %e pads
      // the day with a space exactly like ctime().
      text_.assign(buf, std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm));
      at_ = now;
    }
    return text_;
  }

 private:
  std::time_t at_ = -1;
  std::string text_;
};

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// Binds 127.0.0.1:PORT (0 = ephemeral), non-blocking, and announces the real
// port on stderr so scripts can start us with port 0.
inline int bind_loopback(int type, const char* port_arg) {
  const int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::atoi(port_arg)));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) die("bind");
  if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0) die("listen");
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::fprintf(stderr, "listening on 127.0.0.1:%u\n", ntohs(a.sin_port));
  std::fflush(stderr);
  return fd;
}

// SIGINT/SIGTERM arrive as a readable fd in the epoll set, so the loop stops
// between events and the process exits 0. SIGPIPE is ignored: a client that
// vanishes mid-write must not kill the server.
inline int signal_fd() {
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  const int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) die("signalfd");
  return fd;
}

inline bool usage_ok(int argc, char** argv) {
  if (argc == 2) return true;
  std::fprintf(stderr, "usage: %s PORT   (0 = ephemeral; binds 127.0.0.1)\n", argv[0]);
  return false;
}

}  // namespace limit
