// netlab userv: the UDP timestamp server (tsUserv.py). One datagram in, one
// "[<ctime>] <data>" datagram back to its sender.
#include <sys/epoll.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "modes/cli_options.hpp"
#include "modes/modes.hpp"
#include "modes/timestamp.hpp"
#include "net/event_loop.hpp"
#include "net/listener.hpp"
#include "net/log.hpp"

namespace netlab::modes {

namespace {
// The largest UDP payload; a bigger datagram cannot exist.
constexpr size_t kMaxDatagram = 64 * 1024;
// Datagrams handled per wakeup per socket, so one flooded address family
// cannot starve the other.
constexpr int kMaxDatagramsPerWakeup = 64;

struct Options {
  net::Endpoint endpoint;
  net::AccessList access;
  LogOptions log;
};

void serve_datagrams(net::Socket& socket, const net::AccessList& access, std::vector<char>& buf) {
  for (int i = 0; i < kMaxDatagramsPerWakeup; ++i) {
    net::Address from;
    const ssize_t n = socket.recv_from(buf.data(), buf.size(), from);
    if (n < 0) {
      // EAGAIN: drained. Anything else (e.g. an ICMP error queued by an
      // earlier reply) concerns one peer, never the server.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) continue;
      return;
    }
    if (!access.permits(from)) {
      net::Log::debug("denied datagram from {}", from.to_string());
      continue;
    }
    net::Log::debug("datagram of {} bytes from {}", n, from.to_string());
    const std::string reply = timestamp_reply(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (socket.send_to(reply.data(), reply.size(), from) < 0) {
      net::Log::debug("cannot reply to {}: {}", from.to_string(), std::strerror(errno));
    }
  }
}

int run(const Options& o) {
  o.log.apply();
  net::EventLoop loop;
  net::Listener listener = net::Listener::open(o.endpoint, net::Transport::kUdp);
  std::vector<char> buf(kMaxDatagram);
  for (net::Socket& s : listener.sockets()) {
    loop.watch(s.fd(), EPOLLIN, [&s, &o, &buf](uint32_t) { serve_datagrams(s, o.access, buf); });
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
