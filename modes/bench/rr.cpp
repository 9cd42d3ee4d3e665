// netlab bench rr: request/response over streams, in one of two loops.
// Closed loop (the default): each connection keeps --pipeline requests in
// flight; a request completes when one reply line arrives, and the next one
// is sent in the same wakeup. Open loop (--rate R): requests go out on a fixed
// schedule whatever the replies do, and each latency runs from the time the
// request was due, so a server that stalls is charged for every request the
// stall delayed (a closed loop stops sending while it waits: coordinated
// omission).
#include <sys/epoll.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "modes/bench/connect.hpp"
#include "modes/bench/driver.hpp"
#include "modes/bench/epoll.hpp"
#include "modes/bench/modes.hpp"
#include "modes/bench/schedule.hpp"

namespace netlab::modes::bench {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxEvents = 256;
constexpr size_t kMaxPendingConnects = 128;
constexpr int kIdleWaitMs = 50;  // how late a quiet worker notices the end of the run
constexpr uint64_t kIdleWaitNs = uint64_t{kIdleWaitMs} * 1'000'000;
// Open loop: bytes of requests one send may carry when a backlog is due.
constexpr size_t kOpenLoopWireBytes = 64 * 1024;
// Open loop: requests taken off the schedule per wakeup at most. A generator
// far behind (a rate beyond it) still reads replies and notices the end of
// the run between batches; what is left stays due and is charged as late.
constexpr size_t kMaxDuePerWakeup = 64 * 1024;

// One worker: its share of the connections, on one epoll, on one thread.
//
// Per request the worker only stores a send time (closed loop) or nothing at
// all (open loop: the schedule computes it) and, on the reply, records a
// latency: no allocation, no callback. Replies are only counted, never kept:
// a line ends at each '\n', wherever the chunk boundaries fall.
class RrWorker {
 public:
  // `first`: the global index of this worker's first connection (open loop).
  RrWorker(const Options& o, Driver& driver, WorkerStats& stats, std::vector<net::Socket> sockets,
           size_t first)
      : driver_(driver),
        stats_(stats),
        depth_(o.pipeline),
        len_(o.request().size()),
        open_loop_(o.open_loop()),
        schedule_(o.open_loop() ? o.rate : 1, o.connections, first, sockets.size()) {
    // All requests are identical, so copies back to back hold any tail a
    // partial send may leave unsent: (depth + 1) copies for a closed loop, and
    // for an open loop's backlog enough for a large send (the rest goes next).
    const size_t copies = open_loop_ ? std::max<size_t>(2, kOpenLoopWireBytes / len_) : depth_ + 1;
    for (size_t i = 0; i < copies; ++i) wire_ += o.request();
    conns_.resize(sockets.size());
    if (!open_loop_) sent_at_.resize(sockets.size() * depth_);
    due_.reserve(sockets.size());
    for (size_t i = 0; i < sockets.size(); ++i) {
      conns_[i].socket = std::move(sockets[i]);
      epoll_.add(conns_[i].socket.fd(), EPOLLIN, static_cast<uint32_t>(i));
    }
  }

  void run() {
    stats_.ready = true;
    while (driver_.phase() == Phase::kSetup) epoll_.wait(events_, kMaxEvents, 1);
    if (open_loop_) {
      // Wake on time rather than up to 50 us late (the default timer slack):
      // lateness of our own would be charged to the server.
      prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      schedule_.start(now_ns());
    } else {
      for (size_t i = 0; i < conns_.size(); ++i) {
        queue(i, depth_, now_ns());
        flush(i);
      }
    }
    for (;;) {
      const int n = open_loop_ ? epoll_.wait_ns(events_, kMaxEvents, until_next_tick())
                               : epoll_.wait(events_, kMaxEvents, kIdleWaitMs);
      const Phase phase = driver_.phase();
      if (phase == Phase::kStop) break;
      const bool measuring = phase == Phase::kMeasure;
      uint64_t completed = 0;
      for (int e = 0; e < n; ++e) {
        const uint32_t i = events_[e].data.u32;
        if (!conns_[i].socket.valid()) continue;
        if (events_[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
          const size_t k = receive(i, measuring);
          if (!conns_[i].socket.valid()) continue;
          completed += k;
        }
        // An open loop sends what is due below; here only what a full socket
        // buffer held back.
        if (conns_[i].unsent > 0 && (!open_loop_ || (events_[e].events & EPOLLOUT))) flush(i);
      }
      if (open_loop_) send_due(now_ns());
      stats_.done.fetch_add(completed, std::memory_order_relaxed);
    }
  }

 private:
  struct Conn {
    net::Socket socket;
    size_t head = 0;        // closed loop: oldest request in flight, in the send-time ring
    size_t in_flight = 0;   // sent or due, not yet answered
    uint64_t answered = 0;  // open loop: replies so far, the next reply's request number
    size_t unsent = 0;      // bytes queued but not yet accepted by send()
    bool want_out = false;
    bool due = false;  // open loop: in due_ for this round of send_due
  };

  // Open loop: how long epoll may sleep before the next request is due
  // (never past kIdleWaitNs, so the end of the run is noticed).
  uint64_t until_next_tick() const {
    const uint64_t next = schedule_.next_ns();
    const uint64_t now = now_ns();
    return next <= now ? 0 : std::min(next - now, kIdleWaitNs);
  }

  // Open loop: queues every request whose time has come, then one send per
  // connection for all of its own. A connection that fell behind (its socket
  // buffer full while the server stalls) keeps its schedule: what is due
  // piles up in `unsent` and goes out pipelined as soon as the socket takes it.
  void send_due(uint64_t now) {
    for (size_t taken = 0; taken < kMaxDuePerWakeup && schedule_.next_ns() <= now;
         ++taken, schedule_.advance()) {
      const size_t i = schedule_.next_connection();
      Conn& c = conns_[i];
      if (!c.socket.valid()) continue;
      ++c.in_flight;
      c.unsent += len_;
      if (!c.due) {
        c.due = true;
        due_.push_back(i);
      }
    }
    for (const size_t i : due_) {
      conns_[i].due = false;
      if (conns_[i].socket.valid() && !conns_[i].want_out) flush(i);
    }
    due_.clear();
  }

  // Reads until the socket is drained, completing one request per line.
  // Returns the number completed; a closed loop queues their replacements.
  size_t receive(size_t i, bool measuring) {
    Conn& c = conns_[i];
    size_t completed = 0;
    uint64_t now = 0;
    for (;;) {
      const ssize_t n = c.socket.recv(buf_, kReadChunk);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        fail(i);
        return completed;
      }
      now = now_ns();
      const char* p = buf_;
      const char* end = buf_ + n;
      while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p))))) {
        ++p;
        if (c.in_flight == 0) continue;  // an unsolicited line: not ours to time
        const uint64_t sent = open_loop_ ? schedule_.intended_ns(i, c.answered++) : pop_sent(i);
        --c.in_flight;
        ++completed;
        if (measuring) {
          stats_.latency.record(now > sent ? now - sent : 0);
          ++stats_.measured;
        }
      }
      // A short read means the socket is empty: skip the recv that would
      // only say EAGAIN (level-triggered epoll reports anything that comes later).
      if (static_cast<size_t>(n) < kReadChunk) break;
    }
    if (completed > 0 && !open_loop_) queue(i, completed, now);
    return completed;
  }

  // Closed loop: the send time of the oldest request in flight, taken off the ring.
  uint64_t pop_sent(size_t i) {
    Conn& c = conns_[i];
    const uint64_t sent = sent_at_[i * depth_ + c.head];
    c.head = c.head + 1 == depth_ ? 0 : c.head + 1;
    return sent;
  }

  void queue(size_t i, size_t count, uint64_t now) {
    Conn& c = conns_[i];
    for (size_t k = 0; k < count; ++k) {
      size_t slot = c.head + c.in_flight;
      if (slot >= depth_) slot -= depth_;
      sent_at_[i * depth_ + slot] = now;
      ++c.in_flight;
    }
    c.unsent += count * len_;
  }

  // Sends what is queued on this connection: one send unless an open loop's
  // backlog is larger than wire_ (then until the socket buffer is full).
  void flush(size_t i) {
    Conn& c = conns_[i];
    while (c.unsent > 0) {
      // The unsent bytes are the tail of a run of requests: start mid-request
      // when a partial send left one half sent.
      const size_t offset = (len_ - c.unsent % len_) % len_;
      const size_t chunk = std::min(c.unsent, wire_.size() - offset);
      const ssize_t n = c.socket.send(wire_.data() + offset, chunk);
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        fail(i);
        return;
      }
      if (n > 0) c.unsent -= static_cast<size_t>(n);
      if (n != static_cast<ssize_t>(chunk)) break;  // the socket buffer is full
    }
    // EPOLLOUT only while the socket buffer is full: rare, so a syscall each way is fine.
    const bool want_out = c.unsent > 0;
    if (want_out != c.want_out) {
      epoll_.modify(c.socket.fd(), want_out ? EPOLLIN | EPOLLOUT : EPOLLIN,
                    static_cast<uint32_t>(i));
      c.want_out = want_out;
    }
  }

  // A connection the server closed or reset: counted once, never reopened.
  void fail(size_t i) {
    ++stats_.errors;
    epoll_.remove(conns_[i].socket.fd());
    conns_[i].socket.close();
  }

  Driver& driver_;
  WorkerStats& stats_;
  const size_t depth_;
  const size_t len_;
  const bool open_loop_;
  OpenLoopSchedule schedule_;
  std::string wire_;
  std::vector<Conn> conns_;
  std::vector<uint64_t> sent_at_;  // closed loop: depth_ send times per connection, a ring each
  std::vector<size_t> due_;        // open loop: connections with requests due this round
  Epoll epoll_;
  epoll_event events_[kMaxEvents];
  char buf_[kReadChunk];
};
}  // namespace

Result run_rr(const Options& o) {
  ensure_fd_limit(o.connections);
  Result r;
  const net::Address target = probe_stream(o.endpoint);
  r.target = target.to_string();
  Driver driver(o);
  driver.run_timed(
      [&](size_t w) {
        const size_t count = share_of(o.connections, o.threads, w);
        Connected c =
            connect_many(target, count, kMaxPendingConnects, 10 + static_cast<double>(count) / 1000,
                         [&driver] { return driver.stopping(); });
        driver.stats(w).errors += c.failures;
        // Connections lost while connecting still own their ticks of the
        // schedule (their requests are never sent): the rate stays R/C each.
        size_t first = 0;
        for (size_t v = 0; v < w; ++v) first += share_of(o.connections, o.threads, v);
        auto worker =
            std::make_unique<RrWorker>(o, driver, driver.stats(w), std::move(c.sockets), first);
        worker->run();
      },
      "requests", r);
  return r;
}

}  // namespace netlab::modes::bench
