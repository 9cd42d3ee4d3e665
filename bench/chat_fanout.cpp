// Chat broadcast benchmark: S members join one room of a running
// `netlab chat-server`, one more member publishes numbered messages with up
// to W in flight, and every delivery to every member is counted and timed.
// Not a test: run it by hand or through bench/chat_fanout.sh.
//
//   netlab_chat_fanout PORT [MEMBERS=1000] [WINDOW=16] [SECONDS=5]
#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/blocking_io.hpp"
#include "net/connection.hpp"
#include "net/endpoint.hpp"
#include "net/event_loop.hpp"
#include "net/resource_limits.hpp"

using namespace netlab;
using Clock = std::chrono::steady_clock;

namespace {
struct Fanout {
  net::EventLoop loop;
  std::vector<std::unique_ptr<net::Connection>> members;
  std::unique_ptr<net::Connection> publisher;
  size_t member_count = 0;
  size_t window = 16;
  size_t joined = 0;
  uint64_t next_seq = 0;
  std::unordered_map<uint64_t, std::pair<Clock::time_point, size_t>>
      in_flight;  // seq -> (sent, deliveries left)
  std::vector<double> latency_us;
  uint64_t deliveries = 0;
  bool measuring = false;

  std::unique_ptr<net::Connection> connect(uint16_t port, const std::string& name) {
    net::Endpoint ep{"127.0.0.1", port, {}};
    net::Socket s = net::connect_any(ep.addresses(net::Transport::kTcp, false), SOCK_STREAM,
                                     ep.to_string(), net::Deadline::after(std::chrono::seconds(5)));
    auto c = std::make_unique<net::Connection>(loop, std::move(s), net::Address(), 0,
                                               net::ConnectionOptions{});
    c->send(name + " bench\n");
    return c;
  }

  void publish() {
    while (measuring && in_flight.size() < window) {
      const uint64_t seq = next_seq++;
      in_flight[seq] = {Clock::now(), member_count};
      publisher->send(fmt::format("{}\n", seq));
    }
  }

  // "[<ctime>] pub: <seq>" from the publisher; everything else (joins) is ignored.
  void on_member_line(std::string_view line) {
    if (line == "success") {
      if (++joined == member_count) start();
      return;
    }
    const size_t at = line.find("] pub: ");
    if (at == std::string_view::npos || !measuring) return;
    const std::string_view num = line.substr(at + 7);
    uint64_t seq = 0;
    std::from_chars(num.data(), num.data() + num.size(), seq);
    auto it = in_flight.find(seq);
    if (it == in_flight.end()) return;
    latency_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - it->second.first).count());
    ++deliveries;
    if (--it->second.second == 0) {
      in_flight.erase(it);
      publish();
    }
  }

  void start() {
    measuring = true;
    publish();
  }
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k =
      std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [MEMBERS] [WINDOW] [SECONDS]\n", argv[0]);
    return 2;
  }
  const auto port = static_cast<uint16_t>(std::atoi(argv[1]));
  Fanout f;
  f.member_count = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000;
  f.window = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 16;
  const double seconds = argc > 4 ? std::atof(argv[4]) : 5;
  net::raise_fd_limit();
  f.publisher = f.connect(port, "pub");
  f.publisher->start();
  for (size_t i = 0; i < f.member_count; ++i) {
    auto c = f.connect(port, fmt::format("m{}", i));
    c->set_on_message([&f](net::Connection&, std::string_view line) { f.on_member_line(line); });
    c->start();
    f.members.push_back(std::move(c));
  }
  Clock::time_point started;
  f.loop.run_every(std::chrono::milliseconds(10), [&] {
    if (f.measuring && started == Clock::time_point()) started = Clock::now();
  });
  // A guard against a server that never answers; joining 1000 members costs
  // ~500,000 join notices, so allow for that.
  const auto loop_started = Clock::now();
  f.loop.run_after(std::chrono::milliseconds(static_cast<long long>(seconds * 1000) + 120000),
                   [&] { f.loop.stop(); });
  f.loop.run_every(std::chrono::milliseconds(50), [&] {
    if (started != Clock::time_point() &&
        Clock::now() - started >= std::chrono::duration<double>(seconds)) {
      f.loop.stop();
    }
  });
  f.loop.run();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  const double join_s = std::chrono::duration<double>(started - loop_started).count();
  fmt::print(
      "fanout members={} window={} join={:.1f}s deliveries={} time={:.2f}s deliveries/s={:.0f} "
      "p50={:.0f}us "
      "p99={:.0f}us\n",
      f.member_count, f.window, join_s, f.deliveries, elapsed,
      static_cast<double>(f.deliveries) / elapsed, percentile(f.latency_us, 50),
      percentile(f.latency_us, 99));
  return f.deliveries > 0 ? 0 : 1;
}
