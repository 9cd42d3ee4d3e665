#include "modes/chat/pair_server.hpp"

#include <fmt/format.h>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modes/chat/protocol.hpp"
#include "modes/chat/terminal.hpp"
#include "net/acceptor.hpp"
#include "net/connection.hpp"
#include "net/event_loop.hpp"
#include "net/listener.hpp"
#include "net/log.hpp"

namespace netlab::modes::chat {

namespace {
constexpr auto kShutdownGrace = std::chrono::seconds(2);
// At exit, how long a stdout that is not taking output gets for the rest.
constexpr auto kOutputGrace = std::chrono::seconds(1);
// What the operator typed or piped that the client has not taken yet (held
// for its turn or for a client, or queued on the connection): past this,
// stdin is left unread until the client catches up.
constexpr size_t kMaxOperatorBacklog = 1024 * 1024;

class PairServer {
 public:
  PairServer(const PairServerOptions& o, net::Listener& listener)
      : o_(o),
        acceptor_(loop_, listener,
                  [this](net::Socket s, const net::Address& peer) { accept(std::move(s), peer); }),
        terminal_(
            loop_, "> ", [this](std::string line) { on_operator_line(std::move(line)); },
            [this] { on_operator_eof(); }) {
    loop_.on_stop_signal([this](int) { shut_down(); });
    terminal_.set_raw_input(raw());
    // The operator's screen caught up: read the client again.
    terminal_.set_on_output_drained([this] {
      if (peer_ && peer_->is_open()) peer_->resume_input();
    });
  }

  int run() {
    terminal_.start();
    loop_.run();
    terminal_.stop();
    terminal_.finish_output(kOutputGrace);
    return 0;
  }

 private:
  bool raw() const { return o_.framing == net::Framing::kRaw; }
  // The bytes that carry one message: a line, or in raw framing the text as is.
  std::string frame(std::string_view text) const {
    std::string out(text);
    if (!raw()) out += '\n';
    return out;
  }

  void accept(net::Socket socket, const net::Address& peer) {
    if (!o_.access.permits(peer)) {
      net::Log::debug("denied {}", peer.to_string());
      return;  // the socket closes here, unread
    }
    if (peer_ && peer_->is_open()) {
      const std::string busy = frame("error: busy");
      socket.send(busy.data(), busy.size());
      net::Log::debug("refused {}: busy", peer.to_string());
      return;
    }
    // The previous client may still be writing its last bytes (its quit,
    // say): it stays until it has, and closes by itself.
    if (peer_) leaving_.push_back(std::move(peer_));
    net::ConnectionOptions copts;
    copts.framing = o_.framing;
    copts.max_line = o_.max_line;
    peer_ = std::make_unique<net::Connection>(loop_, std::move(socket), peer, ++next_id_, copts);
    peer_->set_on_message(
        [this](net::Connection& c, std::string_view message) { on_client_message(c, message); });
    peer_->set_on_drained([this](net::Connection&) { limit_operator_input(); });
    peer_->set_on_close([this](net::Connection& c) {
      terminal_.notice(fmt::format("* {} left", c.peer().to_string()));
      // The Connection is still on the stack here: free it later.
      loop_.defer([this, id = c.id()] { forget(id); });
    });
    operator_turn_ = false;  // the client speaks first
    peer_->start();
    terminal_.notice(fmt::format("* {} connected", peer.to_string()));
    send_held();
  }

  void forget(net::Connection::Id id) {
    if (peer_ && peer_->id() == id) peer_.reset();
    std::erase_if(leaving_, [id](const auto& c) { return c->id() == id; });
    if (shutting_down_ && !peer_ && leaving_.empty()) loop_.stop();
  }

  void on_client_message(net::Connection& c, std::string_view message) {
    if (trim(message) == kQuit) {
      c.send(frame(kQuit));
      c.close_after_flush();
      return;
    }
    if (o_.half_duplex && operator_turn_) {
      c.send(frame("error: not your turn"));
      return;
    }
    show(message);
    // Nothing more from the client until the operator's screen takes this.
    if (terminal_.output_backed_up()) c.pause_input();
    if (o_.half_duplex) {
      operator_turn_ = true;
      send_held();
    }
  }

  // A line; in raw framing a chunk, shown as the lines it holds (the newline
  // that ends it, if any, ends its last line).
  void show(std::string_view message) {
    if (!raw()) {
      terminal_.print(message);
      return;
    }
    if (message.ends_with('\n')) message.remove_suffix(1);
    for (;;) {
      const size_t nl = message.find('\n');
      std::string_view line = message.substr(0, nl);
      if (line.ends_with('\r')) line.remove_suffix(1);
      terminal_.print(line);
      if (nl == std::string_view::npos) return;
      message.remove_prefix(nl + 1);
    }
  }

  void on_operator_line(std::string line) {
    held_bytes_ += line.size();
    held_.push_back(std::move(line));
    const bool can_send = peer_ && peer_->is_open() && (!o_.half_duplex || operator_turn_);
    if (!can_send) {
      terminal_.notice(peer_ ? "(waiting for the client…)" : "(waiting for a client to connect…)");
    }
    send_held();
  }

  void on_operator_eof() {
    // Only the end of a terminal or pipe means the operator left; the end of
    // /dev/null or a file (a service manager's stdin) keeps the server up.
    if (!terminal_.input_can_end()) return;
    operator_eof_ = true;
    if (held_.empty()) shut_down();
  }

  // Sends what the operator typed, as far as the turn allows.
  void send_held() {
    while (!held_.empty() && peer_ && peer_->is_open() && (!o_.half_duplex || operator_turn_)) {
      peer_->send(frame(held_.front()));
      held_bytes_ -= held_.front().size();
      held_.pop_front();
      if (o_.half_duplex) operator_turn_ = false;
    }
    limit_operator_input();
    if (operator_eof_ && held_.empty()) shut_down();
  }

  // The operator's input waits in stdin while the client is behind by
  // kMaxOperatorBacklog, and is read again once it is down to half.
  void limit_operator_input() {
    const size_t backlog = held_bytes_ + (peer_ ? peer_->output_size() : 0);
    if (backlog >= kMaxOperatorBacklog) {
      terminal_.pause_input();
    } else if (backlog < kMaxOperatorBacklog / 2) {
      terminal_.resume_input();
    }
  }

  void shut_down() {
    if (shutting_down_) return;
    shutting_down_ = true;
    acceptor_.stop();
    terminal_.stop();
    if (peer_ && peer_->is_open()) {
      peer_->send(frame(kShutdownNotice));
      peer_->close_after_flush();
    }
    if ((!peer_ || peer_->state() == net::Connection::State::kClosed) && leaving_.empty()) {
      loop_.stop();
      return;
    }
    loop_.run_after(kShutdownGrace, [this] { loop_.stop(); });
  }

  const PairServerOptions& o_;
  net::EventLoop loop_;
  net::Acceptor acceptor_;
  ChatTerminal terminal_;
  std::unique_ptr<net::Connection> peer_;
  // Earlier clients still writing their last bytes (draining).
  std::vector<std::unique_ptr<net::Connection>> leaving_;
  net::Connection::Id next_id_ = 0;
  bool operator_turn_ = false;
  bool operator_eof_ = false;
  bool shutting_down_ = false;
  std::deque<std::string> held_;
  size_t held_bytes_ = 0;
};
}  // namespace

int run_pair_server(const PairServerOptions& options) {
  net::Listener listener = net::Listener::open(options.endpoint, net::Transport::kTcp);
  PairServer server(options, listener);
  listener.announce();
  return server.run();
}

}  // namespace netlab::modes::chat
