// netlab bench udp: request/response over datagrams. Each socket sends the
// payload line as one datagram and waits for one datagram back; a request
// unanswered after --resend-ms is sent again and counted as lost.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <system_error>
#include <vector>

#include "modes/bench/driver.hpp"
#include "modes/bench/epoll.hpp"
#include "modes/bench/modes.hpp"

namespace netlab::modes::bench {

namespace {
constexpr size_t kMaxDatagram = 64 * 1024;
constexpr int kMaxEvents = 256;

// A connected datagram socket: the kernel then only delivers the server's
// datagrams and reports ICMP port-unreachable as ECONNREFUSED.
net::Socket open_connected(const net::Address& server) {
  net::Socket s = net::Socket::open(server.family(), SOCK_DGRAM);
  if (server.family() == AF_UNIX) {
    // Unix datagram clients need an address to be answered at: binding only
    // the family asks Linux for an abstract one (autobind).
    const sa_family_t family = AF_UNIX;
    s.bind(net::Address(reinterpret_cast<const sockaddr*>(&family), sizeof(family)));
  }
  if (s.connect(server) < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot connect to " + server.to_string());
  }
  return s;
}

// One worker: its share of the sockets on one epoll. Every socket has exactly
// one request outstanding; the reply is whatever datagram comes next. A reply
// to a request that was already resent may arrive twice: the second copy then
// completes the next request early. On loopback loss is rare enough (a full
// socket buffer) that this skew does not show in the percentiles.
class UdpWorker {
 public:
  UdpWorker(const Options& o, Driver& driver, WorkerStats& stats, const net::Address& server,
            size_t count)
      : driver_(driver),
        stats_(stats),
        request_(o.request()),
        resend_ns_(static_cast<uint64_t>(o.resend_ms) * 1'000'000),
        scan_ms_(std::clamp(o.resend_ms / 4, 1, 50)) {
    socks_.resize(count);
    for (size_t i = 0; i < count; ++i) {
      socks_[i].socket = open_connected(server);
      epoll_.add(socks_[i].socket.fd(), EPOLLIN, static_cast<uint32_t>(i));
    }
  }

  void run() {
    stats_.ready = true;
    while (driver_.phase() == Phase::kSetup) epoll_.wait(events_, kMaxEvents, 1);
    for (size_t i = 0; i < socks_.size(); ++i) send(i, now_ns(), /*first=*/true);
    uint64_t next_scan = now_ns() + resend_ns_;
    for (;;) {
      const int n = epoll_.wait(events_, kMaxEvents, scan_ms_);
      const Phase phase = driver_.phase();
      if (phase == Phase::kStop) break;
      const bool measuring = phase == Phase::kMeasure;
      uint64_t completed = 0;
      for (int e = 0; e < n; ++e) completed += receive(events_[e].data.u32, measuring);
      stats_.done.fetch_add(completed, std::memory_order_relaxed);
      const uint64_t now = now_ns();
      if (now >= next_scan) {
        resend_overdue(now, measuring);
        next_scan = now + static_cast<uint64_t>(scan_ms_) * 1'000'000;
      }
    }
  }

 private:
  struct Sock {
    net::Socket socket;
    uint64_t first_sent = 0;  // latency runs from the first send
    uint64_t last_sent = 0;   // the resend timer from the latest
  };

  size_t receive(uint32_t i, bool measuring) {
    Sock& s = socks_[i];
    size_t completed = 0;
    for (;;) {
      const ssize_t n = s.socket.recv(buf_, kMaxDatagram);
      if (n < 0) {
        if (errno == EINTR) continue;
        // ECONNREFUSED: an ICMP port-unreachable for an earlier datagram.
        // The resend timer tries again; the run is not over.
        if (errno != EAGAIN) ++stats_.errors;
        break;
      }
      const uint64_t now = now_ns();
      if (measuring) {
        stats_.latency.record(now - s.first_sent);
        ++stats_.measured;
      }
      ++completed;
      send(i, now, /*first=*/true);
    }
    return completed;
  }

  void send(size_t i, uint64_t now, bool first) {
    Sock& s = socks_[i];
    if (first) s.first_sent = now;
    s.last_sent = now;
    // A full socket buffer (EAGAIN) loses the datagram like the network
    // would: the resend timer covers it.
    if (s.socket.send(request_.data(), request_.size()) < 0 && errno != EAGAIN &&
        errno != ECONNREFUSED) {
      ++stats_.errors;
    }
  }

  void resend_overdue(uint64_t now, bool measuring) {
    for (size_t i = 0; i < socks_.size(); ++i) {
      if (now - socks_[i].last_sent < resend_ns_) continue;
      if (measuring) ++stats_.lost;
      send(i, now, /*first=*/false);
    }
  }

  Driver& driver_;
  WorkerStats& stats_;
  const std::string request_;
  const uint64_t resend_ns_;
  const int scan_ms_;
  std::vector<Sock> socks_;
  Epoll epoll_;
  epoll_event events_[kMaxEvents];
  char buf_[kMaxDatagram];
};
}  // namespace

Result run_udp(const Options& o) {
  ensure_fd_limit(o.connections);
  const auto addrs = o.endpoint.addresses(net::Transport::kUdp, /*passive=*/false);
  const net::Address server = addrs.front();
  Result r;
  r.target = server.to_string();
  Driver driver(o);
  driver.run_timed(
      [&](size_t w) {
        auto worker = std::make_unique<UdpWorker>(o, driver, driver.stats(w), server,
                                                  share_of(o.connections, o.threads, w));
        worker->run();
      },
      "requests", r);
  return r;
}

}  // namespace netlab::modes::bench
