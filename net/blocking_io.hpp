#pragma once
// Blocking-style I/O over non-blocking sockets, for the clients and the
// thread/fork/iterative server models: every wait is a poll() that also
// watches a "stop" fd (a signalfd or eventfd; -1 for none) and honours a
// deadline, so nothing can hang past its timeout or ignore SIGTERM.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/address.hpp"
#include "net/progress_deadline.hpp"
#include "net/socket.hpp"

namespace netlab::net {

using SteadyClock = std::chrono::steady_clock;

// No value: wait forever.
struct Deadline {
  std::optional<SteadyClock::time_point> at;
  static Deadline never() { return {}; }
  static Deadline after(std::chrono::milliseconds d) { return {SteadyClock::now() + d}; }
  static Deadline after_seconds(double s);  // s <= 0: never
  int poll_timeout_ms() const;
};

enum class WaitResult { kReady, kStopped, kTimedOut };

// Waits until fd has one of `events` (POLLIN/POLLOUT), stop_fd is readable,
// or the deadline passes. Hang-ups and errors count as ready (the next I/O
// call reports them).
WaitResult wait_for(int fd, short events, int stop_fd, const Deadline& deadline);

// The same against a connection's progress deadline: kTimedOut only once
// `progress` has expired. Wakes every ProgressDeadline::check_period()
// while bytes we sent may still be queued, to see the peer taking them.
WaitResult wait_for(const Socket& s, short events, int stop_fd, ProgressDeadline& progress);

enum class IoResult { kOk, kStopped, kTimedOut, kClosed, kError };

// Sends all of bytes. kError leaves errno set (EPIPE, ECONNRESET, ...).
IoResult send_all(Socket& s, std::string_view bytes, int stop_fd, const Deadline& deadline);
// The same against a progress deadline, which it tells of every byte sent:
// a peer that takes our bytes slowly but steadily is never given up on.
IoResult send_all(Socket& s, std::string_view bytes, int stop_fd, ProgressDeadline& progress);

// Connects to the first address that accepts, trying each in turn within the
// deadline. Throws std::system_error("cannot connect to TARGET") with the
// last address's errno when none does.
Socket connect_any(const std::vector<Address>& addrs, int type, const std::string& target,
                   const Deadline& deadline);

}  // namespace netlab::net
