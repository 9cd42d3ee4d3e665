// netlab bench rr: closed-loop request/response over streams. Each
// connection keeps --pipeline requests in flight; a request completes when
// one reply line arrives, and the next one is sent in the same wakeup.
#include <sys/epoll.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "modes/bench/connect.hpp"
#include "modes/bench/driver.hpp"
#include "modes/bench/epoll.hpp"
#include "modes/bench/modes.hpp"

namespace netlab::modes::bench {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxEvents = 256;
constexpr size_t kMaxPendingConnects = 128;
constexpr int kIdleWaitMs = 50;  // how late a quiet worker notices the end of the run

// One worker: its share of the connections, on one epoll, on one thread.
//
// Per request the worker only stores a send time and, on the reply, records
// a latency: no allocation, no callback. Replies are only counted, never
// kept: a line ends at each '\n', wherever the chunk boundaries fall.
class RrWorker {
 public:
  RrWorker(const Options& o, Driver& driver, WorkerStats& stats, std::vector<net::Socket> sockets)
      : driver_(driver), stats_(stats), depth_(o.pipeline), len_(o.request().size()) {
    // All requests are identical, so (depth + 1) copies back to back hold any
    // tail of up to `depth` requests that a partial send may leave unsent.
    for (size_t i = 0; i <= depth_; ++i) wire_ += o.request();
    conns_.resize(sockets.size());
    sent_at_.resize(sockets.size() * depth_);
    for (size_t i = 0; i < sockets.size(); ++i) {
      conns_[i].socket = std::move(sockets[i]);
      epoll_.add(conns_[i].socket.fd(), EPOLLIN, static_cast<uint32_t>(i));
    }
  }

  void run() {
    stats_.ready = true;
    while (driver_.phase() == Phase::kSetup) epoll_.wait(events_, kMaxEvents, 1);
    for (size_t i = 0; i < conns_.size(); ++i) {
      queue(i, depth_, now_ns());
      flush(i);
    }
    for (;;) {
      const int n = epoll_.wait(events_, kMaxEvents, kIdleWaitMs);
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
        if (conns_[i].unsent > 0) flush(i);
      }
      stats_.done.fetch_add(completed, std::memory_order_relaxed);
    }
  }

 private:
  struct Conn {
    net::Socket socket;
    size_t head = 0;  // oldest request in flight, in this connection's send-time ring
    size_t in_flight = 0;
    size_t unsent = 0;  // bytes queued but not yet accepted by send()
    bool want_out = false;
  };

  // Reads until the socket is drained, completing one request per line.
  // Returns the number completed; the replacements are queued at once.
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
        const uint64_t sent = sent_at_[i * depth_ + c.head];
        c.head = c.head + 1 == depth_ ? 0 : c.head + 1;
        --c.in_flight;
        ++completed;
        if (measuring) {
          stats_.latency.record(now - sent);
          ++stats_.measured;
        }
      }
      // A short read means the socket is empty: skip the recv that would
      // only say EAGAIN (level-triggered epoll reports anything that comes later).
      if (static_cast<size_t>(n) < kReadChunk) break;
    }
    if (completed > 0) queue(i, completed, now);
    return completed;
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

  // One send for everything due on this connection.
  void flush(size_t i) {
    Conn& c = conns_[i];
    const size_t offset = (len_ - c.unsent % len_) % len_;
    const ssize_t n = c.socket.send(wire_.data() + offset, c.unsent);
    if (n > 0) {
      c.unsent -= static_cast<size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      fail(i);
      return;
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
  std::string wire_;
  std::vector<Conn> conns_;
  std::vector<uint64_t> sent_at_;  // depth_ send times per connection, a ring each
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
        auto worker = std::make_unique<RrWorker>(o, driver, driver.stats(w), std::move(c.sockets));
        worker->run();
      },
      "requests", r);
  return r;
}

}  // namespace netlab::modes::bench
