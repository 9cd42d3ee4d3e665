#pragma once
// Epoll: the bare epoll instance each bench worker runs on. The generator's
// hot loop works on it directly rather than through net::EventLoop, whose
// std::function handlers would cost more per request than the generator may
// spend (it must outrun the server it measures). Connections are named by
// their index, stored in the event's data. Its calls are traced like
// EventLoop's (--trace=all).
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <system_error>

#include "net/trace.hpp"

namespace netlab::modes::bench {

class Epoll {
 public:
  Epoll() : fd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (net::Trace::all()) net::Trace::epoll_create(fd_);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot create epoll");
  }
  ~Epoll() { ::close(fd_); }
  Epoll(const Epoll&) = delete;
  Epoll& operator=(const Epoll&) = delete;

  void add(int fd, uint32_t events, uint32_t index) { control(EPOLL_CTL_ADD, fd, events, index); }
  void modify(int fd, uint32_t events, uint32_t index) {
    control(EPOLL_CTL_MOD, fd, events, index);
  }
  void remove(int fd) {
    const int rc = epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr);
    if (net::Trace::all()) net::Trace::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, 0, rc);
  }
  int wait(epoll_event* events, int max, int timeout_ms) {
    const int n = epoll_wait(fd_, events, max, timeout_ms);
    if (net::Trace::all()) net::Trace::epoll_wait(fd_, timeout_ms, n);
    return n < 0 ? 0 : n;  // EINTR: just another wakeup
  }
  // The same with a timeout in nanoseconds, for open-loop schedules that must
  // wake between milliseconds. Kernels before 5.11 lack epoll_pwait2: the
  // timeout is then rounded up to a millisecond (late, never early).
  int wait_ns(epoll_event* events, int max, uint64_t timeout_ns) {
    const int ms = static_cast<int>((timeout_ns + 999'999) / 1'000'000);
    if (!pwait2_missing_) {
      const timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                        static_cast<long>(timeout_ns % 1'000'000'000)};
      const int n = epoll_pwait2(fd_, events, max, &ts, nullptr);
      if (n >= 0 || errno != ENOSYS) {
        if (net::Trace::all()) net::Trace::epoll_wait(fd_, ms, n);
        return n < 0 ? 0 : n;
      }
      pwait2_missing_ = true;
    }
    return wait(events, max, ms);
  }

 private:
  void control(int op, int fd, uint32_t events, uint32_t index) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u32 = index;
    const int rc = epoll_ctl(fd_, op, fd, &ev);
    if (net::Trace::all()) net::Trace::epoll_ctl(fd_, op, fd, events, rc);
    if (rc < 0) throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  }
  int fd_;
  bool pwait2_missing_ = false;
};

}  // namespace netlab::modes::bench
