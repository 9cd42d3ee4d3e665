#include "net/blocking_io.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <system_error>

#include "net/trace.hpp"

namespace netlab::net {

Deadline Deadline::after_seconds(double s) {
  if (s <= 0) return never();
  return after(std::chrono::milliseconds(static_cast<long long>(s * 1000)));
}

int Deadline::poll_timeout_ms() const {
  if (!at) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*at - SteadyClock::now());
  // Clamped: a deadline weeks away (a huge --idle-timeout) must not wrap
  // into a negative poll() timeout, which would wait for ever.
  return static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX));
}

WaitResult wait_for(int fd, short events, int stop_fd, const Deadline& deadline) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const nfds_t nfds = stop_fd >= 0 ? 2 : 1;
    const int timeout_ms = deadline.poll_timeout_ms();
    const int n = ::poll(fds, nfds, timeout_ms);
    if (Trace::all()) Trace::poll(fds, nfds, timeout_ms, n);
    if (n < 0) {
      if (errno == EINTR) continue;
      return WaitResult::kReady;  // let the I/O call report the problem
    }
    if (stop_fd >= 0 && (fds[1].revents & POLLIN)) return WaitResult::kStopped;
    if (n == 0) return WaitResult::kTimedOut;
    if (fds[0].revents != 0) return WaitResult::kReady;
  }
}

WaitResult wait_for(const Socket& s, short events, int stop_fd, ProgressDeadline& progress) {
  for (;;) {
    const auto now = SteadyClock::now();
    if (progress.expired(now, s)) return WaitResult::kTimedOut;
    const WaitResult w = wait_for(s.fd(), events, stop_fd, Deadline{progress.next_check(now)});
    if (w != WaitResult::kTimedOut) return w;
  }
}

namespace {
// The send loop of both send_all()s: `sent(n)` after each send that took
// bytes, `wait()` (a WaitResult) while the kernel takes none.
template <class Sent, class Wait>
IoResult send_all_with(Socket& s, std::string_view bytes, Sent sent, Wait wait) {
  while (!bytes.empty()) {
    const ssize_t n = s.send(bytes.data(), bytes.size());
    if (n >= 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      sent(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return IoResult::kError;
    switch (wait()) {
      case WaitResult::kStopped:
        return IoResult::kStopped;
      case WaitResult::kTimedOut:
        return IoResult::kTimedOut;
      case WaitResult::kReady:
        break;
    }
  }
  return IoResult::kOk;
}
}  // namespace

IoResult send_all(Socket& s, std::string_view bytes, int stop_fd, const Deadline& deadline) {
  return send_all_with(
      s, bytes, [](size_t) {}, [&] { return wait_for(s.fd(), POLLOUT, stop_fd, deadline); });
}

IoResult send_all(Socket& s, std::string_view bytes, int stop_fd, ProgressDeadline& progress) {
  return send_all_with(
      s, bytes, [&](size_t n) { progress.sent(n); },
      [&] { return wait_for(s, POLLOUT, stop_fd, progress); });
}

Socket connect_any(const std::vector<Address>& addrs, int type, const std::string& target,
                   const Deadline& deadline) {
  int last_error = EHOSTUNREACH;
  for (const Address& addr : addrs) {
    Socket s = Socket::open(addr.family(), type);
    if (s.connect(addr) == 0) return s;
    last_error = errno;
    if (last_error != EINPROGRESS) continue;
    const WaitResult w = wait_for(s.fd(), POLLOUT, -1, deadline);
    if (w == WaitResult::kTimedOut) {
      last_error = ETIMEDOUT;
      break;  // the deadline covers all addresses: no time left for the next one
    }
    last_error = s.pending_error();
    if (last_error == 0) return s;
  }
  throw std::system_error(last_error, std::generic_category(), "cannot connect to " + target);
}

}  // namespace netlab::net
