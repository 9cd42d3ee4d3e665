#pragma once
// OpenLoopSchedule: when each request of an open-loop run (`bench rr --rate R`)
// is due. The run is one sequence of ticks, R per second from the start; tick
// m is request number m / C of connection m % C (C connections in all), so
// each connection sends R/C per second and consecutive connections are 1/R
// apart, which spreads the load evenly instead of in bursts of C. A worker
// walks, in time order, only the ticks of its own connections (global indices
// [first, first + count)).
//
// Send times are computed, never stored: however far a connection falls
// behind, it knows when each of its requests should have gone out, and the
// latency of a reply is taken from there (no memory grows with the backlog).
#include <cstddef>
#include <cstdint>

namespace netlab::modes::bench {

class OpenLoopSchedule {
 public:
  OpenLoopSchedule(double rate, size_t connections, size_t first, size_t count)
      : ns_per_tick_(1e9 / rate), connections_(connections), first_(first), count_(count) {}

  void start(uint64_t start_ns) {
    start_ns_ = start_ns;
    next_ = first_;
  }
  // When request k (0, 1, ...) of this worker's connection j should be sent.
  uint64_t intended_ns(size_t j, uint64_t k) const { return at(k * connections_ + first_ + j); }
  // The earliest tick not yet taken, and the worker's connection it is for.
  uint64_t next_ns() const { return count_ == 0 ? UINT64_MAX : at(next_); }
  size_t next_connection() const { return next_ % connections_ - first_; }
  void advance() {
    // From this worker's last connection, skip the other workers' ticks to
    // its first connection in the next round.
    if (next_ % connections_ + 1 < first_ + count_) {
      ++next_;
    } else {
      next_ += connections_ - count_ + 1;
    }
  }

 private:
  uint64_t at(uint64_t tick) const {
    const double offset = static_cast<double>(tick) * ns_per_tick_;
    // Only a rate of a few per century gets here: "never" rather than overflow.
    if (offset >= 1e18) return UINT64_MAX;
    return start_ns_ + static_cast<uint64_t>(offset);
  }

  const double ns_per_tick_;
  const uint64_t connections_;
  const uint64_t first_;
  const uint64_t count_;
  uint64_t start_ns_ = 0;
  uint64_t next_ = 0;  // global tick number
};

}  // namespace netlab::modes::bench
