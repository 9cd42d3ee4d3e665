#include "modes/chat/room_server.hpp"

#include <limits>
#include <memory>
#include <set>
#include <unordered_map>
#include <variant>
#include <vector>

#include "modes/chat/bus.hpp"
#include "modes/chat/cluster_bus.hpp"
#include "modes/chat/protocol.hpp"
#include "modes/chat/rooms.hpp"
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

class RoomServer final : private BusDelivery {
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
    BusDelivery& delivery = *this;
    if (o.cluster) {
      bus_ = std::make_unique<ClusterBus>(loop_, rooms_, delivery, *o.cluster);
    } else {
      bus_ = std::make_unique<LocalBus>(rooms_, delivery);
    }
    loop_.on_stop_signal([this](int) { shut_down(); });
  }

  int run() {
    loop_.run();
    return 0;
  }

  void when_ready(std::function<void()> fn) { bus_->when_ready(std::move(fn)); }

 private:
  struct Client {
    std::unique_ptr<net::Connection> conn;
    // Told "success" for its room: only then does it get the room's traffic
    // (false again while a /join is under way).
    bool logged_in = false;
    net::EventLoop::TimerId login_timer = 0;
    // While the bus answers a request of this client's, its connection's
    // input is paused: the next lines wait in it (see wait()).
    bool waiting = false;
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
      // Told before the name is free: nobody can join as it and be announced first.
      broadcast(room, notice, id);
      leave(id);
    }
    net::Log::debug("{} disconnected", it->second.conn->peer().to_string());
    clients_.erase(it);
    drop_slow_members();
    if (shutting_down_ && clients_.empty()) finish_shutdown();
  }

  // Out of the room here, and its name given back to the cluster (`done`
  // once that is done everywhere).
  void leave(MemberId id, std::function<void()> done = {}) {
    const auto* m = rooms_.find(id);
    const std::string room = m->room;
    const std::string name = m->name;
    rooms_.leave(id);
    bus_->release(room, name, std::move(done));
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
        who(id, m->room);
        break;
      case Command::Kind::kRooms:
        room_list(id);
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
    claim(id, login.room, login.name, [this, id, login](bool claimed) {
      Client* c = client(id);
      if (!claimed) {
        send_to(id, wire(kReuse));  // the client may try another name
        return;
      }
      if (rooms_.join(id, login.name, login.room) == JoinResult::kNameTaken)
        return;  // held by claim()
      if (c->login_timer != 0) loop_.cancel(c->login_timer);
      c->login_timer = 0;
      net::Log::debug("{} joined {} from {}", login.name, login.room, c->conn->peer().to_string());
      enter_room(id, login.room, joined_notice(login.name, login.room));
    });
  }

  // The member is in `room` now (its name held there): the room hears the
  // notice, and only once every node has it does the member get "success"
  // and the history. So whatever the member does next comes after its join
  // for everyone, and nothing said in the room reaches it before "success".
  void enter_room(MemberId id, const std::string& room, const std::string& notice) {
    wait(id);
    bus_->publish(room, notice, id, ChatBus::Kind::kNotice, [this, id, room] {
      Client* c = client(id);
      if (c == nullptr) return;
      c->logged_in = true;
      send_to(id, wire(kSuccess));
      for (const auto& line : rooms_.history(room)) send_to(id, wire(line));
      // The others were told when it happened; a newcomer is told now.
      if (!bus_->linked()) send_to(id, wire(kClusterLinkLost));
      resume(id);
    });
  }

  // Takes `name` in `room` for the client, here and on the bus, then calls
  // done(claimed) with the client still there. The client's further lines
  // wait meanwhile; a name being claimed counts as taken for everyone else.
  void claim(MemberId id, const std::string& room, const std::string& name,
             std::function<void(bool claimed)> done) {
    const std::string key = room + ' ' + name;
    if (rooms_.find_in_room(room, name) || claiming_.count(key) != 0) {
      done(false);
      return;
    }
    claiming_.insert(key);
    wait(id);
    bus_->claim(room, name, [this, id, room, name, key, done = std::move(done)](bool claimed) {
      claiming_.erase(key);
      Client* c = client(id);
      if (c == nullptr) {  // gone meanwhile
        if (claimed) bus_->release(room, name);
        return;
      }
      c->waiting = false;
      done(claimed);  // may start another wait
      c = client(id);
      if (c != nullptr && !c->waiting) resume(id);
    });
  }

  Client* client(MemberId id) {
    auto it = clients_.find(id);
    return it == clients_.end() ? nullptr : &it->second;
  }

  // The client's next lines wait (unread, in its connection and the
  // kernel) until resume(): replies keep the order of the requests, and a
  // client that half-closes still gets every answer.
  void wait(MemberId id) {
    Client& c = clients_.at(id);
    c.waiting = true;
    c.conn->pause_input();
  }

  // The bus has answered: the lines the client sent meanwhile, in order
  // (until one of them waits again).
  void resume(MemberId id) {
    Client* c = client(id);
    if (c == nullptr) return;
    c->waiting = false;
    c->conn->resume_input();
    drop_slow_members();
  }

  void say(MemberId id, const RoomDirectory::Member& m, std::string_view text) {
    if (trim(text).empty()) return;  // blank lines are not broadcast
    bus_->publish(m.room, format_message(ctime_now(), m.name, text), id, ChatBus::Kind::kMessage);
  }

  void quit(MemberId id, Client& c) {
    if (const auto* m = rooms_.find(id)) {
      const std::string room = m->room;
      const std::string notice = left_notice(m->name, room);
      net::Log::debug("{}", notice.substr(2));
      broadcast(room, notice, id);
      // "quit" comes back once the name is free on every node (and the
      // notice out), so the client may log in again under it at once, anywhere.
      wait(id);
      leave(id, [this, id] {
        if (Client* leaving = client(id)) {
          send_to(id, wire(kQuit));
          leaving->conn->close_after_flush();
        }
      });
      return;
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
    claim(id, room, name, [this, id, room, name, old_room](bool claimed) {
      if (!claimed || rooms_.find(id) == nullptr) {  // taken, or dropped meanwhile
        if (claimed)
          bus_->release(room, name);
        else
          send_to(id, wire(kReuse));
        return;
      }
      rooms_.move(id, room);
      broadcast(old_room, left_notice(name, old_room));
      bus_->release(old_room, name);
      clients_.at(id).logged_in = false;  // until "success" in the new room
      enter_room(id, room, joined_notice(name, room));
      net::Log::debug("{} moved from {} to {}", name, old_room, room);
    });
  }

  void private_message(MemberId id, const RoomDirectory::Member& m, const Command& cmd) {
    if (cmd.target.empty() || cmd.text.empty()) {
      send_to(id, wire("error: usage: /msg USER TEXT"));
      return;
    }
    std::string line = format_private(ctime_now(), m.name, cmd.text);
    if (deliver_private(m.room, cmd.target, line)) return;
    // Not on this node: perhaps on another one.
    std::string missing = fmt::format("error: no user {} in {}", cmd.target, m.room);
    wait(id);
    bus_->send_private(m.room, std::string(cmd.target), std::move(line),
                       [this, id, missing = std::move(missing)](bool found) {
                         if (!found) send_to(id, wire(missing));
                         resume(id);
                       });
  }

  void who(MemberId id, const std::string& room) {
    wait(id);
    bus_->who(room, [this, id, room](std::vector<std::string> names) {
      std::string out = fmt::format("* members of {}:", room);
      for (const auto& n : names) {
        out += ' ';
        out += n;
      }
      send_to(id, wire(out));
      resume(id);
    });
  }

  void room_list(MemberId id) {
    wait(id);
    bus_->rooms([this, id](const ChatBus::RoomCounts& rooms) {
      std::string out = "* rooms:";
      for (const auto& [name, count] : rooms) out += fmt::format(" {} ({})", name, count);
      send_to(id, wire(out));
      resume(id);
    });
  }

  // ---- BusDelivery -----------------------------------------------------------

  void deliver(const std::string& room, std::string_view line, MemberId except,
               bool record) override {
    // Formatted once; every member gets the same bytes.
    const std::string bytes = wire(line);
    for (MemberId m : rooms_.members(room)) {
      if (m == except) continue;
      auto it = clients_.find(m);
      if (it != clients_.end() && it->second.logged_in) queue(m, *it->second.conn, bytes);
    }
    if (record) rooms_.record(room, std::string(line));
  }

  bool deliver_private(const std::string& room, std::string_view user,
                       std::string_view line) override {
    const auto to = rooms_.find_in_room(room, user);
    if (!to) return false;
    if (clients_.at(*to).logged_in) send_to(*to, wire(line));
    return true;
  }

  void notify_all(std::string_view line) override {
    const std::string bytes = wire(line);
    for (auto& [id, c] : clients_) {
      if (c.logged_in) send_to(id, bytes);
    }
  }

  void name_taken_elsewhere(const std::string& room, std::string_view name) override {
    const auto id = rooms_.find_in_room(room, name);
    if (!id) return;
    send_to(*id,
            wire(fmt::format(
                "error: name {} in {} was taken on another node while the cluster link was down",
                name, room)));
    rooms_.leave(*id);  // the name is not this node's to give back
    deliver(room, left_notice(name, room), *id, false);
    Client& c = clients_.at(*id);
    c.logged_in = false;  // nothing more for it, not even "link restored"
    c.conn->close_after_flush();
  }

  void end_of_remote_delivery() override { drop_slow_members(); }

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
    if (it != clients_.end()) queue(id, *it->second.conn, bytes);
  }

  void queue(MemberId id, net::Connection& conn, std::string_view bytes) {
    conn.send(bytes);
    if (conn.output_size() <= o_.max_queue) return;
    // Writes are batched per loop iteration; only what the kernel refuses
    // now counts against the member.
    conn.flush();
    if (conn.is_open() && conn.output_size() > o_.max_queue) slow_.push_back(id);
  }

  // A notice for the room, on every node.
  void broadcast(const std::string& room, std::string_view line, MemberId except = 0) {
    bus_->publish(room, line, except, ChatBus::Kind::kNotice);
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
        broadcast(room, notice, id);
        leave(id);
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
    if (clients_.empty()) finish_shutdown();
    loop_.run_after(kShutdownGrace, [this] { loop_.stop(); });
  }

  // Every client is gone: the bus says goodbye (a cluster node removes
  // itself from Redis), then the loop ends.
  void finish_shutdown() {
    bus_->shut_down([this] { loop_.stop(); });
  }

  const RoomServerOptions& o_;
  net::EventLoop loop_;
  RoomDirectory rooms_;
  net::Acceptor acceptor_;
  std::unordered_map<MemberId, Client> clients_;
  std::vector<MemberId> slow_;
  std::set<std::string> claiming_;  // "ROOM NAME" being claimed on the bus
  std::unique_ptr<ChatBus> bus_;
  MemberId next_id_ = 1;
  size_t max_clients_ = 0;
  bool shutting_down_ = false;
};
}  // namespace

int run_room_server(const RoomServerOptions& options) {
  net::raise_fd_limit();
  if (options.cluster) ClusterBus::check_reachable(*options.cluster);
  net::Listener listener = net::Listener::open(options.endpoint, net::Transport::kTcp);
  RoomServer server(options, listener);
  // "listening on" once the bus is ready: a cluster node has reached Redis
  // (or given up for now), so a script that waits for the line logs in to
  // a node that is part of the cluster.
  server.when_ready([&listener] { listener.announce(); });
  return server.run();
}

}  // namespace netlab::modes::chat
