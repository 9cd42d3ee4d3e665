#include "modes/chat/pair_server.hpp"

#include <fmt/format.h>

#include <deque>
#include <memory>

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
  }

  int run() {
    terminal_.start();
    loop_.run();
    terminal_.stop();
    return 0;
  }

 private:
  void accept(net::Socket socket, const net::Address& peer) {
    if (!o_.access.permits(peer)) {
      net::Log::debug("denied {}", peer.to_string());
      return;  // the socket closes here, unread
    }
    if (peer_ && peer_->is_open()) {
      static constexpr std::string_view kBusy = "error: busy\n";
      socket.send(kBusy.data(), kBusy.size());
      net::Log::debug("refused {}: busy", peer.to_string());
      return;
    }
    net::ConnectionOptions copts;
    copts.max_line = o_.max_line;
    peer_ = std::make_unique<net::Connection>(loop_, std::move(socket), peer, ++next_id_, copts);
    peer_->set_on_message(
        [this](net::Connection& c, std::string_view line) { on_client_line(c, line); });
    peer_->set_on_close([this](net::Connection& c) {
      terminal_.notice(fmt::format("* {} left", c.peer().to_string()));
      // The Connection is still on the stack here: free it later.
      loop_.defer([this, id = c.id()] {
        if (peer_ && peer_->id() == id) peer_.reset();
        if (shutting_down_) loop_.stop();
      });
    });
    operator_turn_ = false;  // the client speaks first
    peer_->start();
    terminal_.notice(fmt::format("* {} connected", peer.to_string()));
    send_held();
  }

  void on_client_line(net::Connection& c, std::string_view line) {
    if (trim(line) == kQuit) {
      c.send("quit\n");
      c.close_after_flush();
      return;
    }
    if (o_.half_duplex && operator_turn_) {
      c.send("error: not your turn\n");
      return;
    }
    terminal_.print(line);
    if (o_.half_duplex) {
      operator_turn_ = true;
      send_held();
    }
  }

  void on_operator_line(std::string line) {
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
      peer_->send(held_.front() + "\n");
      held_.pop_front();
      if (o_.half_duplex) operator_turn_ = false;
    }
    if (operator_eof_ && held_.empty()) shut_down();
  }

  void shut_down() {
    if (shutting_down_) return;
    shutting_down_ = true;
    acceptor_.stop();
    terminal_.stop();
    if (!peer_ || !peer_->is_open()) {
      loop_.stop();
      return;
    }
    peer_->send(std::string(kShutdownNotice) + "\n");
    peer_->close_after_flush();
    loop_.run_after(kShutdownGrace, [this] { loop_.stop(); });
  }

  const PairServerOptions& o_;
  net::EventLoop loop_;
  net::Acceptor acceptor_;
  ChatTerminal terminal_;
  std::unique_ptr<net::Connection> peer_;
  net::Connection::Id next_id_ = 0;
  bool operator_turn_ = false;
  bool operator_eof_ = false;
  bool shutting_down_ = false;
  std::deque<std::string> held_;
};
}  // namespace

int run_pair_server(const PairServerOptions& options) {
  net::Listener listener = net::Listener::open(options.endpoint, net::Transport::kTcp);
  PairServer server(options, listener);
  listener.announce();
  return server.run();
}

}  // namespace netlab::modes::chat
