// netlab uclnt: the UDP client (tsUclnt.py), with the timeouts and retries
// a lossy datagram service needs.
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "modes/cli_options.hpp"
#include "modes/message_source.hpp"
#include "modes/modes.hpp"
#include "net/blocking_io.hpp"
#include "net/endpoint.hpp"
#include "net/log.hpp"

namespace netlab::modes {

namespace {
constexpr size_t kMaxDatagram = 64 * 1024;

struct Options {
  net::Endpoint endpoint;
  std::vector<std::string> messages;
  double timeout_s = 2;
  int retries = 2;
  LogOptions log;
};

// A connected datagram socket: the kernel then filters replies to the
// server's address and reports ICMP port-unreachable as ECONNREFUSED.
net::Socket open_connected(const net::Address& server) {
  net::Socket s = net::Socket::open(server.family(), SOCK_DGRAM);
  if (server.family() == AF_UNIX) {
    // A Unix datagram client needs an address of its own to be answered at:
    // binding just the family asks Linux for an abstract one (autobind).
    const sa_family_t family = AF_UNIX;
    s.bind(net::Address(reinterpret_cast<const sockaddr*>(&family), sizeof(family)));
  }
  if (s.connect(server) < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot connect to " + server.to_string());
  }
  return s;
}

enum class Outcome { kReply, kNoReply, kRefused };

// Sends the message up to 1 + retries times; `reply` gets the answer.
Outcome exchange(net::Socket& s, const std::string& message, const Options& o,
                 std::vector<char>& buf, std::string& reply) {
  for (int attempt = 0; attempt <= o.retries; ++attempt) {
    if (attempt > 0) net::Log::debug("no reply within {}s, resending", o.timeout_s);
    if (s.send(message.data(), message.size()) < 0) {
      if (errno == ECONNREFUSED) return Outcome::kRefused;
      throw std::system_error(errno, std::generic_category(), "cannot send");
    }
    const net::Deadline deadline = net::Deadline::after_seconds(o.timeout_s);
    while (net::wait_for(s.fd(), POLLIN, -1, deadline) == net::WaitResult::kReady) {
      const ssize_t n = s.recv(buf.data(), buf.size());
      if (n >= 0) {
        reply.assign(buf.data(), static_cast<size_t>(n));
        return Outcome::kReply;
      }
      if (errno == ECONNREFUSED) return Outcome::kRefused;
      if (errno != EAGAIN && errno != EINTR)
        throw std::system_error(errno, std::generic_category(), "cannot receive");
    }
  }
  return Outcome::kNoReply;
}

int run(const Options& o) {
  o.log.apply();
  const auto addrs = o.endpoint.addresses(net::Transport::kUdp, /*passive=*/false);
  const std::string target = o.endpoint.to_string();
  size_t current = 0;
  net::Socket socket = open_connected(addrs[current]);
  std::vector<char> buf(kMaxDatagram);
  MessageSource source(o.messages);
  while (auto message = source.next()) {
    std::string reply;
    for (;;) {
      const Outcome r = exchange(socket, *message, o, buf, reply);
      if (r == Outcome::kReply) break;
      if (r == Outcome::kNoReply) {
        throw std::runtime_error(
            fmt::format("no reply from {} after {} tries", target, o.retries + 1));
      }
      // Refused: nobody listens at this address; try the next one the name resolved to.
      if (++current == addrs.size()) {
        throw std::system_error(ECONNREFUSED, std::generic_category(), "no reply from " + target);
      }
      socket = open_connected(addrs[current]);
    }
    print_reply(reply);
  }
  return 0;
}
}  // namespace

void register_uclnt(CLI::App& app, Runner& runner) {
  auto opts = std::make_shared<Options>();
  auto* sub =
      app.add_subcommand("uclnt", "UDP client: sends each line as a datagram, prints each reply");
  add_address_options(sub, opts->endpoint, net::Transport::kUdp, Side::kClient);
  sub->add_option("-m,--message", opts->messages, "Send MSG instead of reading stdin (repeatable)")
      ->type_name("MSG")
      ->group("Client");
  sub->add_option("--timeout", opts->timeout_s, "Seconds to wait for each reply")
      ->check(CLI::PositiveNumber)
      ->type_name("SECS")
      ->capture_default_str()
      ->group("Client");
  sub->add_option("--retries", opts->retries, "Resends before giving up")
      ->check(CLI::Range(0, 100))
      ->type_name("N")
      ->capture_default_str()
      ->group("Client");
  add_log_options(sub, opts->log);
  sub->footer(examples({
      "netlab uclnt -m hello                 # ask localhost:21567/udp",
      "netlab uclnt --port daytime -m x      # any RFC 867 daytime server",
      "echo hi | netlab uclnt --timeout 0.5 --retries 0 example.org 9999",
  }));
  sub->callback([opts, &runner] { runner = [opts] { return run(*opts); }; });
}

}  // namespace netlab::modes
