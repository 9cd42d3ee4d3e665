// netlab tclnt: the TCP client (tsTclnt.py): sends lines, prints replies.
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "modes/cli_options.hpp"
#include "modes/message_source.hpp"
#include "modes/modes.hpp"
#include "net/blocking_io.hpp"
#include "net/buffer.hpp"
#include "net/endpoint.hpp"
#include "net/line_codec.hpp"

namespace netlab::modes {

namespace {
struct Options {
  net::Endpoint endpoint;
  std::vector<std::string> messages;
  bool one_shot = false;
  double timeout_s = 10;
  // Larger than any server's default --max-line: a reply is the request plus a prefix.
  size_t max_line = 1024 * 1024;
  LogOptions log;
};

// One request/response exchange at a time over a stream socket.
class LineClient {
 public:
  explicit LineClient(const Options& o) : o_(o), target_(o.endpoint.to_string()) {}

  bool connected() const { return socket_.valid(); }
  void connect() {
    const auto addrs = o_.endpoint.addresses(net::Transport::kTcp, /*passive=*/false);
    socket_ =
        net::connect_any(addrs, SOCK_STREAM, target_, net::Deadline::after_seconds(o_.timeout_s));
    socket_.set_nodelay();
    input_.clear();
  }
  void disconnect() { socket_.close(); }

  // Sends one line and returns the reply line, '\n' included.
  std::string request(std::string_view line) {
    const net::Deadline deadline = net::Deadline::after_seconds(o_.timeout_s);
    std::string out(line);
    out += '\n';
    if (net::send_all(socket_, out, -1, deadline) != net::IoResult::kOk) fail("cannot send to");
    return read_line(deadline);
  }

 private:
  std::string read_line(const net::Deadline& deadline) {
    bool eof = false;
    for (;;) {
      const net::Frame f = net::next_frame(input_.view(), net::Framing::kLine, o_.max_line, eof);
      if (f.kind == net::Frame::Kind::kMessage) {
        std::string reply(f.message);
        reply += '\n';
        input_.consume(f.consumed);
        return reply;
      }
      if (f.kind == net::Frame::Kind::kTooLong) {
        throw std::runtime_error(
            fmt::format("reply from {} longer than {} bytes", target_, o_.max_line));
      }
      if (eof) throw std::runtime_error(fmt::format("connection closed by {}", target_));
      if (net::wait_for(socket_.fd(), POLLIN, -1, deadline) == net::WaitResult::kTimedOut) {
        throw std::runtime_error(fmt::format("no reply from {} within {}s", target_, o_.timeout_s));
      }
      const ssize_t n = socket_.recv(input_.prepare(64 * 1024), 64 * 1024);
      if (n > 0) {
        input_.commit(static_cast<size_t>(n));
      } else if (n == 0) {
        eof = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        fail("cannot receive from");
      }
    }
  }

  [[noreturn]] void fail(const char* what) {
    throw std::system_error(errno, std::generic_category(), fmt::format("{} {}", what, target_));
  }

  const Options& o_;
  std::string target_;
  net::Socket socket_;
  net::Buffer input_;
};

int run(const Options& o) {
  o.log.apply();
  LineClient client(o);
  MessageSource source(o.messages);
  if (!o.one_shot) client.connect();  // fail early, before the user types anything
  while (auto message = source.next()) {
    if (!client.connected()) client.connect();
    print_reply(client.request(*message));
    if (o.one_shot) client.disconnect();
  }
  return 0;
}
}  // namespace

void register_tclnt(CLI::App& app, Runner& runner) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand("tclnt", "TCP client: sends each line, prints each reply");
  add_address_options(sub, opts->endpoint, net::Transport::kTcp, Side::kClient);
  sub->add_option("-m,--message", opts->messages, "Send MSG instead of reading stdin (repeatable)")
      ->type_name("MSG")
      ->group("Client");
  sub->add_flag("--one-shot", opts->one_shot, "Connect anew for every message")->group("Client");
  sub->add_option("--timeout", opts->timeout_s,
                  "Seconds to wait for the connection and for each reply")
      ->check(CLI::PositiveNumber)
      ->type_name("SECS")
      ->capture_default_str()
      ->group("Client");
  sub->add_option("--max-line", opts->max_line, "Longest accepted reply line in bytes")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30))
      ->type_name("BYTES")
      ->capture_default_str()
      ->group("Client");
  add_log_options(sub, opts->log);
  sub->footer(examples({
      "netlab tclnt                          # type lines; empty line or Ctrl-D ends",
      "printf 'a\\nb\\n' | netlab tclnt example.org 8000",
      "netlab tclnt --unix /tmp/ts.sock -m hello -m world",
  }));
  sub->callback([opts, &runner] { runner = [opts] { return run(*opts); }; });
}

}  // namespace netlab::modes
