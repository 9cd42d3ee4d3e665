// netlab bench idle: how much a server pays for connections that do nothing.
// Opens --connections connections, does one request on each, holds them all
// idle for --hold seconds, and with --server-pid reads the server's RSS
// before and after from /proc/PID/status.
#include <fmt/format.h>
#include <sys/epoll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "modes/bench/connect.hpp"
#include "modes/bench/driver.hpp"
#include "modes/bench/epoll.hpp"
#include "modes/bench/modes.hpp"

namespace netlab::modes::bench {

namespace {
constexpr int kMaxEvents = 256;
// Connections connecting or awaiting their reply at once, across all
// threads. A connection the kernel has completed but the server has not yet
// accepted sits in the listen backlog, so keeping this below the smallest
// usual backlog (128) means the backlog never overflows, however many
// connections the run opens; overflowing costs a one-second SYN retransmit.
constexpr size_t kMaxInFlight = 64;
constexpr uint64_t kRetryDelayNs = 10'000'000;

// "{n}" in the payload becomes a number unique across threads, so servers
// that need distinct lines can be measured too (chat-server logins:
// --payload 'm{n} r{n}', one member per room so no join notice piles up).
std::atomic<uint64_t> next_number{0};
std::string expand_number(const std::string& request) {
  if (request.find("{n}") == std::string::npos) return request;
  const std::string number = std::to_string(next_number++);
  std::string out = request;
  for (size_t at = out.find("{n}"); at != std::string::npos; at = out.find("{n}", at)) {
    out.replace(at, 3, number);
    at += number.size();
  }
  return out;
}

uint64_t read_rss_kib(pid_t pid) {
  const std::string path = fmt::format("/proc/{}/status", pid);
  std::ifstream in(path);
  if (!in) {
    throw std::system_error(errno, std::generic_category(), "cannot read " + path);
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      uint64_t kib = 0;
      if (fields >> kib) return kib;
    }
  }
  throw std::runtime_error("no VmRSS in " + path + " (a zombie or kernel thread?)");
}

// One worker opens its share, keeping at most `in_flight` of them between
// connect() and the reply, then watches them until the run ends: a
// connection the server drops while idle counts as an error.
class IdleWorker {
 public:
  IdleWorker(const Options& o, Driver& driver, WorkerStats& stats, const net::Address& server,
             size_t count, size_t in_flight)
      : driver_(driver),
        stats_(stats),
        server_(server),
        request_(o.request()),
        count_(count),
        max_in_flight_(in_flight),
        deadline_(now_ns() + static_cast<uint64_t>((10 + static_cast<double>(count) / 500) * 1e9)) {
    conns_.reserve(count);
  }

  void run() {
    while (settled_ < count_ && !driver_.stopping()) {
      if (now_ns() >= deadline_) {
        // Whatever is still connecting or unanswered now is an error.
        stats_.errors += count_ - settled_;
        break;
      }
      start_connects();
      poll(10);
    }
    stats_.ready = true;
    while (!driver_.stopping()) poll(50);
  }

 private:
  enum class State { kConnecting, kAwaiting, kAnswered, kClosed };
  struct Conn {
    net::Socket socket;
    State state = State::kConnecting;
    uint64_t sent = 0;
  };

  void start_connects() {
    const uint64_t now = now_ns();
    while (to_start_ > 0 && in_flight_ < max_in_flight_ && now >= retry_at_) {
      --to_start_;
      Conn c;
      c.socket = net::Socket::open(server_.family(), SOCK_STREAM);
      const int rc = c.socket.connect(server_);
      if (rc < 0 && errno != EINPROGRESS) {
        connect_failed(errno);
        continue;
      }
      const auto i = static_cast<uint32_t>(conns_.size());
      conns_.push_back(std::move(c));
      ++in_flight_;
      if (rc == 0) {
        epoll_.add(conns_[i].socket.fd(), EPOLLIN, i);
        send_request(i);
      } else {
        epoll_.add(conns_[i].socket.fd(), EPOLLOUT, i);
      }
    }
  }

  void connect_failed(int err) {
    if (retryable_connect_error(err)) {
      ++to_start_;
      retry_at_ = now_ns() + kRetryDelayNs;
    } else {
      ++stats_.errors;
      ++settled_;
    }
  }

  void send_request(uint32_t i) {
    Conn& c = conns_[i];
    c.socket.set_nodelay();
    c.state = State::kAwaiting;
    c.sent = now_ns();
    // A fresh socket's buffer always takes one short line.
    const std::string request = expand_number(request_);
    if (c.socket.send(request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      drop(i);
    }
  }

  void poll(int timeout_ms) {
    const int n = epoll_.wait(events_, kMaxEvents, timeout_ms);
    for (int e = 0; e < n; ++e) {
      const uint32_t i = events_[e].data.u32;
      Conn& c = conns_[i];
      if (c.state == State::kConnecting) {
        const int err = c.socket.pending_error();
        if (err == 0) {
          epoll_.modify(c.socket.fd(), EPOLLIN, i);
          send_request(i);
        } else {
          epoll_.remove(c.socket.fd());
          c.socket.close();
          c.state = State::kClosed;
          --in_flight_;
          connect_failed(err);
        }
      } else if (c.state == State::kAwaiting || c.state == State::kAnswered) {
        receive(i);
      }
    }
  }

  void receive(uint32_t i) {
    Conn& c = conns_[i];
    char buf[4096];
    const ssize_t n = c.socket.recv(buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      drop(i);
      return;
    }
    if (c.state != State::kAwaiting) return;  // chatter on an answered connection
    if (std::memchr(buf, '\n', static_cast<size_t>(n)) == nullptr) return;
    c.state = State::kAnswered;
    stats_.latency.record(now_ns() - c.sent);
    ++stats_.opened;
    ++stats_.measured;
    stats_.done.fetch_add(1, std::memory_order_relaxed);
    ++settled_;
    --in_flight_;
  }

  // A connection the server closed or reset before or after answering.
  void drop(uint32_t i) {
    Conn& c = conns_[i];
    if (c.state == State::kAwaiting) {
      --in_flight_;
      ++settled_;
    } else if (c.state == State::kAnswered) {
      --stats_.opened;  // no longer held
    }
    ++stats_.errors;
    epoll_.remove(c.socket.fd());
    c.socket.close();
    c.state = State::kClosed;
  }

  Driver& driver_;
  WorkerStats& stats_;
  const net::Address server_;
  const std::string request_;
  const size_t count_;
  const size_t max_in_flight_;
  const uint64_t deadline_;
  std::vector<Conn> conns_;
  size_t to_start_ = count_;
  size_t in_flight_ = 0;
  size_t settled_ = 0;  // answered or failed for good
  uint64_t retry_at_ = 0;
  Epoll epoll_;
  epoll_event events_[kMaxEvents];
};
}  // namespace

Result run_idle(const Options& o) {
  ensure_fd_limit(o.connections);
  Result r;
  if (o.server_pid != 0) r.rss_before_kib = read_rss_kib(o.server_pid);
  const net::Address target = probe_stream(o.endpoint);
  r.target = target.to_string();
  const size_t in_flight = std::max<size_t>(1, kMaxInFlight / o.threads);

  Driver driver(o);
  driver.set_phase(Phase::kMeasure);
  const double started = now_s();
  driver.start([&](size_t w) {
    IdleWorker worker(o, driver, driver.stats(w), target, share_of(o.connections, o.threads, w),
                      in_flight);
    worker.run();
  });
  if (driver.wait_ready()) {
    r.duration_s = now_s() - started;
    if (o.server_pid != 0) r.rss_after_kib = read_rss_kib(o.server_pid);
    driver.sleep_for(o.hold_s);
  }
  driver.finish();
  driver.merge_into(r);
  return r;
}

}  // namespace netlab::modes::bench
