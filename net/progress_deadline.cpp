#include "net/progress_deadline.hpp"

#include <algorithm>

namespace netlab::net {

bool ProgressDeadline::expired(Clock::time_point now, const Socket& socket) {
  if (timeout_ == Clock::duration::zero()) return false;
  if (moved_ != moved_seen_) {
    moved_seen_ = moved_;
    last_progress_ = now;
    // What the kernel holds now includes whatever was just sent: the
    // next look starts a new comparison.
    unsent_seen_.reset();
    return false;
  }
  if (peer_may_owe_) {
    const int unsent = socket.unsent_bytes();
    if (unsent < 0) {
      peer_may_owe_ = false;  // the kernel cannot tell: time alone decides
    } else {
      if (unsent_seen_ && unsent < *unsent_seen_) last_progress_ = now;
      unsent_seen_ = unsent;
      if (unsent == 0) peer_may_owe_ = false;
    }
  }
  return now - last_progress_ >= timeout_;
}

std::optional<ProgressDeadline::Clock::time_point> ProgressDeadline::next_check(
    Clock::time_point now) const {
  if (timeout_ == Clock::duration::zero()) return std::nullopt;
  const Clock::time_point deadline = last_progress_ + timeout_;
  if (!peer_may_owe_ && moved_ == moved_seen_) return deadline;
  return std::min(deadline, now + check_period(timeout_));
}

ProgressDeadline::Clock::duration ProgressDeadline::check_period(Clock::duration timeout) {
  using std::chrono::milliseconds;
  return std::clamp<Clock::duration>(timeout / 4, milliseconds(10), milliseconds(250));
}

}  // namespace netlab::net
