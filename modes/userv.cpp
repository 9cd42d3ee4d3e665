// netlab userv: the UDP timestamp server (tsUserv.py). One datagram in, one
// "[<ctime>] <data>" datagram back to its sender.
#include <sys/epoll.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "modes/cli_options.hpp"
#include "modes/modes.hpp"
#include "modes/timestamp.hpp"
#include "net/datagram_batch.hpp"
#include "net/event_loop.hpp"
#include "net/listener.hpp"
#include "net/log.hpp"

namespace netlab::modes {

namespace {
// The longest datagram answered: above the largest UDP payload (65,507
// bytes over IPv4, 65,527 over IPv6), so only a Unix datagram can be longer,
// and it gets no reply (see DatagramBatch::too_long). The receive buffer is
// one byte more: 64 KiB.
constexpr size_t kMaxDatagram = 64 * 1024 - 1;
// Datagrams taken per system call, and batches per wakeup per socket, so
// one flooded address family cannot starve the other.
constexpr unsigned kBatchSize = 64;
constexpr int kMaxBatchesPerWakeup = 4;

struct Options {
  net::Endpoint endpoint;
  net::AccessList access;
  LogOptions log;
};

void serve_datagrams(net::Socket& socket, const net::AccessList& access, net::DatagramBatch& batch,
                     std::string& prefix) {
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    const int n = batch.receive(socket);
    // n < 0 is not EAGAIN: EINTR, or an ICMP error queued by an earlier
    // reply, which concerns one peer, never the server. Try again.
    if (n < 0) continue;
    if (n == 0) return;  // drained
    // Each reply is "[<ctime>] " plus the datagram's own bytes, sent from
    // where they were received. A copy of the prefix: it must not change
    // under the queued replies if the second turns while they are built.
    prefix = timestamp_prefix();
    for (unsigned i = 0; i < static_cast<unsigned>(n); ++i) {
      const net::Address& from = batch.sender(i);
      if (!access.permits(from)) {
        if (net::Log::verbose()) net::Log::debug("denied datagram from {}", from.to_string());
        continue;
      }
      if (batch.too_long(i)) {
        if (net::Log::verbose()) {
          net::Log::debug("datagram over {} bytes from {}: no reply", kMaxDatagram,
                          from.to_string());
        }
        continue;
      }
      if (net::Log::verbose()) {
        net::Log::debug("datagram of {} bytes from {}", batch.datagram(i).size(), from.to_string());
      }
      batch.reply(i, prefix, batch.datagram(i));
    }
    if (const unsigned dropped = batch.send_replies(socket); dropped > 0 && net::Log::verbose()) {
      net::Log::debug("{} replies could not be sent", dropped);
    }
    if (static_cast<unsigned>(n) < batch.capacity()) return;  // the queue was emptied
  }
}

int run(const Options& o) {
  o.log.apply();
  net::EventLoop loop;
  net::Listener listener = net::Listener::open(o.endpoint, net::Transport::kUdp);
  net::DatagramBatch batch(kBatchSize, kMaxDatagram);
  std::string prefix;
  for (net::Socket& s : listener.sockets()) {
    loop.watch(s.fd(), EPOLLIN, [&s, &o, &batch, &prefix](uint32_t) {
      serve_datagrams(s, o.access, batch, prefix);
    });
  }
  loop.on_stop_signal([&loop](int) {
    net::Log::info("shutting down");
    loop.stop();
  });
  listener.announce();
  loop.run();
  for (net::Socket& s : listener.sockets()) loop.unwatch(s.fd());
  return 0;
}
}  // namespace

void register_userv(CLI::App& app, Runner& runner) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "userv", "UDP timestamp server: answers each datagram with \"[<ctime>] <data>\"");
  add_address_options(sub, opts->endpoint, net::Transport::kUdp, Side::kServer);
  add_access_options(sub, opts->access);
  add_log_options(sub, opts->log);
  sub->footer(examples({
      "netlab userv                        # localhost:21567/udp",
      "netlab userv --port 0 -v",
      "netlab userv --unix /tmp/ts.dgram   # Unix datagram socket",
  }));
  sub->callback([opts, &runner] { runner = [opts] { return run(*opts); }; });
}

}  // namespace netlab::modes
