#pragma once
// ProgressDeadline: the one deadline of a stream connection (--idle-timeout).
// A connection makes progress when it reads bytes from its peer or when the
// peer takes bytes it sent; the deadline passes once it has made none for
// the timeout, whatever it is doing: waiting for a request, held back by
// backpressure, draining its last replies before a close, or blocked in a
// send. Used by Connection (the reactor) and by the blocking server models.
//
// Cheap by design. The I/O path only adds to a byte count: no clock read,
// no system call. expired(), called by the owner every check_period() (the
// reactor's sweep) or whenever it waits (a blocking session), turns a count
// that moved into a new deadline: exact to one period for bytes read or
// sent, to two for bytes the kernel delivered (below).
//
// The kernel hides half of "the peer took bytes": a socket's send buffer
// (megabytes on loopback) wakes a writer only once a third of it has
// drained, so a client reading slowly but steadily can keep us from calling
// send() for tens of seconds. So while bytes we sent may still be queued,
// expired() asks the kernel how many are (Socket::unsent_bytes) and counts
// a drop since the previous check as progress. A connection whose peer took
// everything is not asked again until it sends more.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "net/socket.hpp"

namespace netlab::net {

class ProgressDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  // A zero timeout never expires (and never asks the kernel anything).
  ProgressDeadline(Clock::duration timeout, Clock::time_point now)
      : timeout_(timeout), last_progress_(now) {}

  void received(size_t bytes) { moved_ += bytes; }
  void sent(size_t bytes) {
    moved_ += bytes;
    peer_may_owe_ = true;
  }

  // True once the connection has made no progress for the timeout. Makes at
  // most one system call (the kernel's queue, see above), and only after a
  // check period in which nothing moved while sent bytes may still be queued.
  bool expired(Clock::time_point now, const Socket& socket);

  // When expired() should be asked next, for an owner that waits (nullopt:
  // never). Sooner than the deadline while the kernel may hold our bytes:
  // their delivery can only be seen by looking.
  std::optional<Clock::time_point> next_check(Clock::time_point now) const;

  // How often an owner checks: a quarter of the timeout, kept between 10 ms
  // (a tiny timeout must not make a busy sweep) and 250 ms.
  static Clock::duration check_period(Clock::duration timeout);

 private:
  Clock::duration timeout_;
  Clock::time_point last_progress_;
  uint64_t moved_ = 0;              // bytes received plus bytes sent, ever
  uint64_t moved_seen_ = 0;         // moved_ at the last check
  bool peer_may_owe_ = false;       // sent bytes may still sit in the kernel's queue
  std::optional<int> unsent_seen_;  // the kernel's queue at the last check
};

}  // namespace netlab::net
