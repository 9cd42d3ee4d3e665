#include "modes/chat_room_server.hpp"

#include <limits>
#include <memory>
#include <unordered_map>
#include <variant>
#include <vector>

#include "modes/chat_protocol.hpp"
#include "modes/chat_rooms.hpp"
#include "modes/timestamp.hpp"
#include "net/acceptor.hpp"
#include "net/connection.hpp"
#include "net/event_loop.hpp"
#include "net/listener.hpp"
#include "net/log.hpp"
#include "net/resource_limits.hpp"

namespace netlab::modes::chat {

namespace {
constexpr auto kShutdownGrace = std::chrono::seconds(2);
// fds kept back from --max-clients' default for listeners, epoll, signalfd, logs.
constexpr long kReservedFds = 32;

class RoomServer {
 public:
  RoomServer(const RoomServerOptions& o, net::Listener& listener)
      : o_(o),
        rooms_(o.history),
        acceptor_(loop_, listener,
                  [this](net::Socket s, const net::Address& peer) { accept(std::move(s), peer); }) {
    max_clients_ = o.max_clients;
    if (max_clients_ == 0) {
      const long fds = net::raise_fd_limit();
      max_clients_ = fds > 2 * kReservedFds ? static_cast<size_t>(fds - kReservedFds) : 16;
    }
    loop_.on_stop_signal([this](int) { shut_down(); });
  }

  int run() {
    loop_.run();
    return 0;
  }

 private:
  struct Client {
    std::unique_ptr<net::Connection> conn;
    bool logged_in = false;
    net::EventLoop::TimerId login_timer = 0;
  };

  // ---- connections ---------------------------------------------------------

  void accept(net::Socket socket, const net::Address& peer) {
    if (!o_.access.permits(peer)) {
      net::Log::debug("denied {}", peer.to_string());
      return;
    }
    if (clients_.size() >= max_clients_) {
      const std::string full = wire("error: server full");
      socket.send(full.data(), full.size());
      net::Log::debug("refused {}: server full", peer.to_string());
      return;
    }
    socket.set_nodelay();
    const MemberId id = next_id_++;
    net::ConnectionOptions copts;
    copts.framing = o_.framing;
    copts.max_line = o_.max_line;
    // Chat never pauses a member's reading; a member that does not read is
    // dropped at --max-queue instead (see send_to).
    copts.max_output = std::numeric_limits<size_t>::max();
    Client& c = clients_[id];
    c.conn = std::make_unique<net::Connection>(loop_, std::move(socket), peer, id, copts);
    c.conn->set_on_message(
        [this, id](net::Connection&, std::string_view line) { on_line(id, line); });
    c.conn->set_on_close([this, id](net::Connection&) { on_closed(id); });
    if (o_.login_timeout_s > 0) {
      c.login_timer = loop_.run_after(
          std::chrono::milliseconds(static_cast<long long>(o_.login_timeout_s * 1000)),
          [this, id] { login_timed_out(id); });
    }
    net::Log::debug("connection from {}", peer.to_string());
    c.conn->start();
  }

  void login_timed_out(MemberId id) {
    auto it = clients_.find(id);
    if (it == clients_.end() || it->second.logged_in) return;
    it->second.login_timer = 0;
    send_to(id, wire("error: login timeout"));
    it->second.conn->close_after_flush();
  }

  // Runs inside the connection's own handler, possibly in the middle of a
  // broadcast over the room (a send that failed): change nothing now.
  void on_closed(MemberId id) {
    loop_.defer([this, id] { forget(id); });
  }

  void forget(MemberId id) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    if (it->second.login_timer != 0) loop_.cancel(it->second.login_timer);
    if (const auto* m = rooms_.find(id)) {
      // Vanished without "quit": the room is told all the same.
      const std::string room = m->room;
      const std::string notice = left_notice(m->name, room);
      net::Log::debug("{}", notice.substr(2));
      rooms_.leave(id);
      broadcast(room, wire(notice));
    }
    net::Log::debug("{} disconnected", it->second.conn->peer().to_string());
    clients_.erase(it);
    drop_slow_members();
    if (shutting_down_ && clients_.empty()) loop_.stop();
  }

  // ---- protocol ------------------------------------------------------------

  void on_line(MemberId id, std::string_view line) {
    Client& c = clients_.at(id);
    if (!c.logged_in) {
      login(id, c, line);
      // A client that repeats a taken name without reading its "reuse"
      // answers must be dropped at --max-queue like any other.
      drop_slow_members();
      return;
    }
    const auto* m = rooms_.find(id);
    if (m == nullptr) return;
    const Command cmd = parse_command(line);
    switch (cmd.kind) {
      case Command::Kind::kSay:
        say(id, *m, trim_terminator(cmd.text));
        break;
      case Command::Kind::kQuit:
        quit(id, c);
        break;
      case Command::Kind::kWho:
        send_to(id, wire(who(m->room)));
        break;
      case Command::Kind::kRooms:
        send_to(id, wire(room_list()));
        break;
      case Command::Kind::kJoin:
        join_room(id, std::string(cmd.target));
        break;
      case Command::Kind::kMsg:
        private_message(id, *m, cmd);
        break;
      case Command::Kind::kHelp:
        send_to(id, wire(kHelpText));
        break;
      case Command::Kind::kUnknown:
        send_to(id, wire(fmt::format("error: unknown command {}", cmd.target)));
        break;
    }
    drop_slow_members();
  }

  void login(MemberId id, Client& c, std::string_view line) {
    auto parsed = parse_login(line);
    if (auto* error = std::get_if<std::string>(&parsed)) {
      send_to(id, wire(*error));
      c.conn->close_after_flush();
      return;
    }
    auto& login = std::get<Login>(parsed);
    if (rooms_.join(id, login.name, login.room) == JoinResult::kNameTaken) {
      send_to(id, wire(kReuse));  // the client may try another name
      return;
    }
    c.logged_in = true;
    if (c.login_timer != 0) loop_.cancel(c.login_timer);
    c.login_timer = 0;
    send_to(id, wire(kSuccess));
    for (const auto& line : rooms_.history(login.room)) send_to(id, wire(line));
    net::Log::debug("{} joined {} from {}", login.name, login.room, c.conn->peer().to_string());
    broadcast(login.room, wire(joined_notice(login.name, login.room)), id);
    drop_slow_members();
  }

  void say(MemberId id, const RoomDirectory::Member& m, std::string_view text) {
    if (trim(text).empty()) return;  // blank lines are not broadcast
    std::string line = format_message(ctime_now(), m.name, text);
    broadcast(m.room, wire(line), id);
    rooms_.record(m.room, std::move(line));
  }

  void quit(MemberId id, Client& c) {
    if (const auto* m = rooms_.find(id)) {
      const std::string room = m->room;
      const std::string notice = left_notice(m->name, room);
      net::Log::debug("{}", notice.substr(2));
      rooms_.leave(id);
      broadcast(room, wire(notice));
    }
    send_to(id, wire(kQuit));
    c.conn->close_after_flush();
  }

  void join_room(MemberId id, std::string room) {
    if (auto why = name_problem(room)) {
      send_to(id, wire(fmt::format("error: invalid room: {}", *why)));
      return;
    }
    const auto* m = rooms_.find(id);
    const std::string old_room = m->room;
    const std::string name = m->name;
    if (old_room == room) {
      send_to(id, wire(kSuccess));
      return;
    }
    if (rooms_.move(id, room) == JoinResult::kNameTaken) {
      send_to(id, wire(kReuse));
      return;
    }
    broadcast(old_room, wire(left_notice(name, old_room)));
    send_to(id, wire(kSuccess));
    for (const auto& line : rooms_.history(room)) send_to(id, wire(line));
    broadcast(room, wire(joined_notice(name, room)), id);
    net::Log::debug("{} moved from {} to {}", name, old_room, room);
  }

  void private_message(MemberId id, const RoomDirectory::Member& m, const Command& cmd) {
    if (cmd.target.empty() || cmd.text.empty()) {
      send_to(id, wire("error: usage: /msg USER TEXT"));
      return;
    }
    const auto to = rooms_.find_in_room(m.room, cmd.target);
    if (!to) {
      send_to(id, wire(fmt::format("error: no user {} in {}", cmd.target, m.room)));
      return;
    }
    send_to(*to, wire(format_private(ctime_now(), m.name, cmd.text)));
  }

  std::string who(const std::string& room) const {
    std::string out = fmt::format("* members of {}:", room);
    for (MemberId m : rooms_.members(room)) {
      out += ' ';
      out += rooms_.find(m)->name;
    }
    return out;
  }

  std::string room_list() const {
    std::string out = "* rooms:";
    for (const auto& [name, count] : rooms_.rooms()) out += fmt::format(" {} ({})", name, count);
    return out;
  }

  // ---- output --------------------------------------------------------------

  // The bytes for one line: its text plus '\n' in line framing; in raw
  // framing (the tutorial's client) nothing is added.
  std::string wire(std::string_view text) const {
    std::string out(text);
    if (o_.framing == net::Framing::kLine) out += '\n';
    return out;
  }

  static std::string_view trim_terminator(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    return s;
  }

  // Queues bytes for one member. One that lets its queue pass --max-queue is
  // marked; it is dropped once the current broadcast is over.
  void send_to(MemberId id, std::string_view bytes) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    net::Connection& conn = *it->second.conn;
    conn.send(bytes);
    if (conn.output_size() <= o_.max_queue) return;
    // Writes are batched per loop iteration; only what the kernel refuses
    // now counts against the member.
    conn.flush();
    if (conn.is_open() && conn.output_size() > o_.max_queue) slow_.push_back(id);
  }

  // The message was formatted once by the caller; every member gets the same bytes.
  void broadcast(const std::string& room, const std::string& bytes, MemberId except = 0) {
    for (MemberId m : rooms_.members(room)) {
      if (m != except) send_to(m, bytes);
    }
  }

  void drop_slow_members() {
    // Dropping announces to the room, which may push other members over:
    // keep going until nobody is left over the cap.
    while (!slow_.empty()) {
      const MemberId id = slow_.back();
      slow_.pop_back();
      auto it = clients_.find(id);
      if (it == clients_.end() || !it->second.conn->is_open()) continue;
      net::Connection& conn = *it->second.conn;
      net::Log::info("dropping {}: {} bytes queued (--max-queue {})", conn.peer().to_string(),
                     conn.output_size(), o_.max_queue);
      if (const auto* m = rooms_.find(id)) {
        const std::string room = m->room;
        const std::string notice = left_notice(m->name, room, "too slow");
        rooms_.leave(id);
        broadcast(room, wire(notice));
      }
      conn.close();
    }
  }

  void shut_down() {
    if (shutting_down_) return;
    shutting_down_ = true;
    net::Log::info("shutting down");
    acceptor_.stop();
    const std::string notice = wire(kShutdownNotice);
    for (auto& [id, c] : clients_) {
      c.conn->send(notice);
      c.conn->close_after_flush();
    }
    if (clients_.empty()) loop_.stop();
    loop_.run_after(kShutdownGrace, [this] { loop_.stop(); });
  }

  const RoomServerOptions& o_;
  net::EventLoop loop_;
  RoomDirectory rooms_;
  net::Acceptor acceptor_;
  std::unordered_map<MemberId, Client> clients_;
  std::vector<MemberId> slow_;
  MemberId next_id_ = 1;
  size_t max_clients_ = 0;
  bool shutting_down_ = false;
};
}  // namespace

int run_room_server(const RoomServerOptions& options) {
  net::raise_fd_limit();
  net::Listener listener = net::Listener::open(options.endpoint, net::Transport::kTcp);
  RoomServer server(options, listener);
  listener.announce();
  return server.run();
}

}  // namespace netlab::modes::chat
