// netlab chat-client: the chat client of exercises 16-7 ... 16-10. Full
// duplex on one event loop: the terminal (stdin) and the server socket.
#include <fmt/format.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>

#include "modes/chat/modes.hpp"
#include "modes/chat/protocol.hpp"
#include "modes/chat/terminal.hpp"
#include "modes/cli_options.hpp"
#include "modes/modes.hpp"
#include "net/blocking_io.hpp"
#include "net/connection.hpp"
#include "net/endpoint.hpp"
#include "net/event_loop.hpp"
#include "net/log.hpp"

namespace netlab::modes {

namespace {
using chat::ChatMode;
// At exit, how long stdout may take nothing before the rest is given up.
constexpr auto kOutputGrace = std::chrono::seconds(10);
// Bytes of the user's input the server has not taken yet, before stdin is
// left unread (see limit_user_input).
constexpr size_t kMaxUserBacklog = 1024 * 1024;

struct Options {
  net::Endpoint endpoint;
  ChatMode mode = ChatMode::kRoom;
  std::string user;
  std::string room;
  double linger_s = 1;
  double timeout_s = 10;
  LogOptions log;
};

class ChatClient {
 public:
  explicit ChatClient(const Options& o)
      : o_(o),
        terminal_(
            loop_, prompt(), [this](std::string line) { on_user_line(std::move(line)); },
            [this] { on_user_eof(); }) {
    // The screen caught up: read the server again.
    terminal_.set_on_output_drained([this] {
      if (conn_ && conn_->is_open()) conn_->resume_input();
    });
  }

  int run() {
    // First: a SIGTERM while still connecting must still end in a clean exit.
    loop_.on_stop_signal([this](int) {
      send_line(chat::kQuit);
      finish(0);
    });
    const auto addrs = o_.endpoint.addresses(net::Transport::kTcp, /*passive=*/false);
    net::Socket socket = net::connect_any(addrs, SOCK_STREAM, o_.endpoint.to_string(),
                                          net::Deadline::after_seconds(o_.timeout_s));
    socket.set_nodelay();
    const net::Address peer = socket.peer_address();
    net::ConnectionOptions copts;
    // Well above any server's --max-line: a broadcast line is the member's
    // line plus a "[ctime] name: " prefix.
    copts.max_line = 1024 * 1024;
    conn_ = std::make_unique<net::Connection>(loop_, std::move(socket), peer, 1, copts);
    // Never answer the server (the room would see it as our message): just leave.
    conn_->set_on_too_long([this](net::Connection&) {
      fail(fmt::format("line from {} longer than {} bytes", o_.endpoint.to_string(), 1024 * 1024));
    });
    conn_->set_on_message(
        [this](net::Connection&, std::string_view line) { on_server_line(line); });
    conn_->set_on_close([this](net::Connection&) { on_server_closed(); });
    conn_->set_on_drained([this](net::Connection&) { limit_user_input(); });
    conn_->start();
    if (o_.mode == ChatMode::kRoom) {
      conn_->send(fmt::format("{} {}\n", o_.user, o_.room));
    } else {
      terminal_.start();
    }
    loop_.run();
    terminal_.stop();
    terminal_.finish_output(kOutputGrace);
    if (!error_.empty()) throw std::runtime_error(error_);
    return exit_code_;
  }

 private:
  std::string prompt() const { return o_.mode == ChatMode::kRoom ? o_.room + "> " : "> "; }

  void on_server_line(std::string_view line) {
    if (o_.mode == ChatMode::kRoom && !logged_in_) {
      login_reply(line);
      return;
    }
    if (line == chat::kQuit) return;  // the server's goodbye to our quit
    terminal_.print(line);
    // A screen that does not keep up: leave the rest in the socket, so the
    // server sees a slow reader (and applies its --max-queue) instead of
    // this process buffering without bound.
    if (terminal_.output_backed_up()) conn_->pause_input();
    if (o_.mode == ChatMode::kHalfDuplex) {
      my_turn_ = true;
      send_held_line();
    }
  }

  void login_reply(std::string_view line) {
    if (line == chat::kSuccess) {
      logged_in_ = true;
      terminal_.start();
      return;
    }
    if (line == chat::kReuse) {
      fail(fmt::format("name {} is already taken in {}", o_.user, o_.room));
    } else {
      fail(fmt::format("login refused: {}", line));
    }
  }

  void on_server_closed() {
    if (quit_sent_) {
      finish(0);
    } else {
      fail("server closed the connection");
    }
  }

  void on_user_line(std::string line) {
    if (o_.mode == ChatMode::kHalfDuplex && (!my_turn_ || !held_.empty())) {
      held_bytes_ += line.size();
      held_.push_back(std::move(line));
      terminal_.notice("(waiting for the server…)");
      limit_user_input();
      return;
    }
    send_user_line(line);
    limit_user_input();
  }

  // What the user typed or piped waits in stdin while the server is behind
  // by kMaxUserBacklog (held for its turn, or queued on the connection), and
  // is read again once that is down to half: no unbounded queue here either.
  void limit_user_input() {
    const size_t backlog = held_bytes_ + (conn_ ? conn_->output_size() : 0);
    if (backlog >= kMaxUserBacklog) {
      terminal_.pause_input();
    } else if (backlog < kMaxUserBacklog / 2) {
      terminal_.resume_input();
    }
  }

  void send_user_line(const std::string& line) {
    send_line(line);
    if (chat::trim(line) == chat::kQuit) {
      quit_sent_ = true;
      terminal_.stop();
      start_linger();
      return;
    }
    if (o_.mode == ChatMode::kHalfDuplex) {
      my_turn_ = false;
      if (terminal_.interactive()) terminal_.notice("(waiting for the server…)");
    }
  }

  void send_held_line() {
    if (held_.empty() || !my_turn_) return;
    std::string line = std::move(held_.front());
    held_.pop_front();
    held_bytes_ -= line.size();
    send_user_line(line);
    limit_user_input();
  }

  // stdin is done: say goodbye once our turn comes (half-duplex) or now.
  void on_user_eof() {
    user_eof_ = true;
    if (o_.mode == ChatMode::kHalfDuplex && (!my_turn_ || !held_.empty())) {
      held_.push_back(std::string(chat::kQuit));
      held_bytes_ += chat::kQuit.size();
      return;
    }
    send_user_line(std::string(chat::kQuit));
  }

  void start_linger() {
    // Wait for the server to close after our quit, but not forever.
    loop_.run_after(std::chrono::milliseconds(static_cast<long long>(o_.linger_s * 1000)),
                    [this] { finish(0); });
  }

  void send_line(std::string_view line) {
    if (conn_ && conn_->is_open()) conn_->send(fmt::format("{}\n", line));
  }

  void fail(std::string why) {
    if (done_) return;
    error_ = std::move(why);
    finish(1);
  }

  void finish(int code) {
    if (done_) return;
    done_ = true;
    exit_code_ = code;
    loop_.stop();
  }

  const Options& o_;
  net::EventLoop loop_;
  chat::ChatTerminal terminal_;
  std::unique_ptr<net::Connection> conn_;
  bool logged_in_ = false;
  bool quit_sent_ = false;
  bool user_eof_ = false;
  bool my_turn_ = true;  // half-duplex: the client speaks first
  std::deque<std::string> held_;
  size_t held_bytes_ = 0;
  bool done_ = false;
  int exit_code_ = 0;
  std::string error_;
};

int run(const Options& o) {
  o.log.apply();
  ChatClient client(o);
  return client.run();
}
}  // namespace

void register_chat_client(CLI::App& app, Runner& runner) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand("chat-client",
                                 "Chat client: join a room (or a 1:1 chat) and talk, full duplex");
  add_address_options(sub, opts->endpoint, net::Transport::kTcp, Side::kClient);
  chat::add_chat_mode_option(sub, opts->mode);
  auto* user =
      sub->add_option("-u,--user", opts->user, "Your name (room mode; 1-32 characters, no spaces)")
          ->type_name("NAME")
          ->group("Chat");
  auto* room = sub->add_option("-r,--room", opts->room, "Room to join (room mode)")
                   ->type_name("ROOM")
                   ->group("Chat");
  sub->add_option("--linger", opts->linger_s,
                  "After stdin ends: seconds to wait for the server to close")
      ->check(CLI::NonNegativeNumber)
      ->type_name("SECS")
      ->capture_default_str()
      ->group("Chat");
  sub->add_option("--timeout", opts->timeout_s, "Seconds to wait for the connection")
      ->check(CLI::PositiveNumber)
      ->type_name("SECS")
      ->capture_default_str()
      ->group("Chat");
  add_log_options(sub, opts->log);
  sub->footer(examples({
      "netlab chat-client -u alice -r lobby            # localhost:21567",
      "printf 'hi all\\n' | netlab chat-client -u bot -r ops chat.example.org 21567",
      "netlab chat-client --mode half-duplex           # talk to the server's operator, in turns",
  }));
  sub->callback([opts, &runner, sub, user, room] {
    chat::reject_room_only_options(sub, opts->mode, {"--user", "--room"});
    if (opts->mode == ChatMode::kRoom) {
      if (user->count() == 0) throw CLI::RequiredError("--user (required in room mode)");
      if (room->count() == 0) throw CLI::RequiredError("--room (required in room mode)");
    }
    runner = [opts] { return run(*opts); };
  });
}

}  // namespace netlab::modes
