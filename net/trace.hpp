#pragma once
// Trace: the --trace switch and the recorder behind it. net/ calls one
// recorder right after each socket call it makes (Socket, EventLoop, the
// blocking waits), always behind the inline check, so with tracing off a call
// site costs one load and one predictable branch: no call, no formatting, no
// allocation:
//
//   const ssize_t n = ::recv(fd_, buf, len, 0);
//   if (Trace::calls()) Trace::recv(fd_, buf, len, n);
//
// Each recorder reads errno first and leaves it as it found it, so the call
// site's own errno handling is unaffected. The line's words come from
// trace_format.hpp; this class adds the clock, the thread or process id and
// the terminal check, and writes each line with one write(2) so threads and
// forked children never interleave mid-line.
#include <poll.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"

namespace netlab::net {

class Trace {
 public:
  enum class Level { kOff, kCalls, kAll };
  enum class Ids { kNone, kThread, kProcess };
  static constexpr size_t kDefaultPayloadBytes = 32;

  // Call once, before any socket exists: starts the clock (lines show ms
  // since this) and decides on colour (stderr a terminal, NO_COLOR unset).
  static void configure(Level level, size_t payload_bytes = kDefaultPayloadBytes);
  // --model thread|fork: prefix lines with the thread or process id.
  static void set_ids(Ids ids);

  // The hot-path checks: plain bools set before any thread starts, hinted
  // as unlikely so the compiler keeps the recorder calls off the fast path.
  static bool calls() { return __builtin_expect(calls_, false); }  // --trace, --trace=all
  static bool all() { return __builtin_expect(all_, false); }      // --trace=all

  // Socket calls: rc/n/fd < 0 means failed with errno.
  static void socket(int family, int type, int fd);
  static void setsockopt(int fd, int level, int name, int value, int rc);
  static void so_error(int fd, int rc, int value);
  static void bind(int fd, const Address& addr, int rc);
  static void listen(int fd, int backlog, int rc);
  static void accept(int fd, int new_fd, const Address& peer);
  static void connect(int fd, const Address& addr, int rc);
  static void recv(int fd, const void* buf, size_t len, ssize_t n);
  static void send(int fd, const void* buf, size_t len, ssize_t n);
  static void recvfrom(int fd, const void* buf, size_t len, ssize_t n, const Address& from);
  static void sendto(int fd, const void* buf, size_t len, const Address& to, ssize_t n);
  static void shutdown(int fd, int how, int rc);
  static void close(int fd, int rc);
  static void getsockname(int fd, const Address& addr, int rc);
  static void getpeername(int fd, const Address& addr, int rc);

  // Event-loop calls; callers check all(), not calls().
  static void epoll_create(int epfd);
  static void epoll_ctl(int epfd, int op, int fd, uint32_t events, int rc);
  static void epoll_wait(int epfd, int timeout_ms, int n);
  static void poll(const pollfd* fds, size_t nfds, int timeout_ms, int n);

 private:
  static inline bool calls_ = false;
  static inline bool all_ = false;
};

}  // namespace netlab::net
