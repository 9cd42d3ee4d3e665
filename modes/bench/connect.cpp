#include "modes/bench/connect.hpp"

#include <cerrno>
#include <system_error>

#include "modes/bench/driver.hpp"
#include "modes/bench/epoll.hpp"
#include "net/blocking_io.hpp"

namespace netlab::modes::bench {

namespace {
constexpr double kProbeTimeoutS = 5;
// Pause before retrying a refused connect: long enough for the server to
// drain its accept queue a little.
constexpr uint64_t kRetryDelayNs = 10'000'000;

}  // namespace

net::Address probe_stream(const net::Endpoint& endpoint) {
  const auto addrs = endpoint.addresses(net::Transport::kTcp, /*passive=*/false);
  net::Socket s = net::connect_any(addrs, SOCK_STREAM, endpoint.to_string(),
                                   net::Deadline::after_seconds(kProbeTimeoutS));
  if (endpoint.is_unix()) return addrs.front();
  return s.peer_address();
}

bool retryable_connect_error(int err) {
  return err == EAGAIN || err == ECONNREFUSED || err == ETIMEDOUT || err == EINTR ||
         err == ECONNRESET;
}

Connected connect_many(const net::Address& to, size_t count, size_t max_pending, double timeout_s,
                       const std::function<bool()>& stop) {
  Connected out;
  out.sockets.reserve(count);
  Epoll ep;
  std::vector<net::Socket> pending(max_pending);  // slot -> connect in progress
  std::vector<uint32_t> free_slots;
  for (uint32_t i = 0; i < max_pending; ++i) free_slots.push_back(static_cast<uint32_t>(i));
  size_t to_start = count;  // never started, or waiting for a retry
  uint64_t retry_at = 0;    // no new connect before this (after a refusal)
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);

  const auto settle = [&](net::Socket s, int err) {
    if (err == 0) {
      s.set_nodelay();
      out.sockets.push_back(std::move(s));
    } else if (retryable_connect_error(err)) {
      ++to_start;
      retry_at = now_ns() + kRetryDelayNs;
    } else {
      ++out.failures;
    }
  };

  while (out.sockets.size() + out.failures < count) {
    const uint64_t now = now_ns();
    if (now >= deadline || stop()) {
      out.failures = count - out.sockets.size();
      break;
    }
    while (to_start > 0 && !free_slots.empty() && now >= retry_at) {
      --to_start;
      net::Socket s = net::Socket::open(to.family(), SOCK_STREAM);
      if (s.connect(to) == 0) {
        settle(std::move(s), 0);
      } else if (errno == EINPROGRESS) {
        const uint32_t slot = free_slots.back();
        free_slots.pop_back();
        ep.add(s.fd(), EPOLLOUT, slot);
        pending[slot] = std::move(s);
      } else {
        settle(std::move(s), errno);
      }
    }
    epoll_event events[64];
    const int n = ep.wait(events, 64, 10);
    for (int i = 0; i < n; ++i) {
      const uint32_t slot = events[i].data.u32;
      net::Socket s = std::move(pending[slot]);
      free_slots.push_back(slot);
      ep.remove(s.fd());
      const int err = s.pending_error();
      settle(std::move(s), err);
    }
  }
  return out;
}

}  // namespace netlab::modes::bench
