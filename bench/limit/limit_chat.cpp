// limit_chat PORT: the "limit" room chat server for bench/compare.sh, the
// subset of `netlab chat-server` that `netlab bench fanout` uses, with the
// same bytes on the wire:
//   first line "NAME [ROOM]" -> "success" (the room gets "* NAME joined ROOM"),
//                               "reuse" if NAME is taken in ROOM;
//   any other line           -> "[<ctime>] NAME: <line>" to every other member
//                               (blank lines skipped, "quit" leaves);
//   a member that goes       -> "* NAME left ROOM" to the room.
// Like netlab: each message is formatted once and the same bytes queued to
// every member, one send per member per wakeup, a member with more than
// 1 MiB queued is dropped ("* NAME left ROOM (too slow)"). Not done: name
// validation beyond 1-32 bytes, /commands (answered "error: unknown command").
#include <sys/epoll.h>

#include <unordered_map>
#include <vector>

#include "limit_tcp.hpp"

namespace {

struct Member : limit::Conn {
  std::string name, room;  // set once logged in
  size_t slot = 0;         // index in its room's member list
  bool joined = false;
  bool dirty = false;  // something queued since the last flush
  bool gone = false;   // left its room, waiting to be freed
  const char* why = nullptr;
};

struct Room {
  std::vector<Member*> members;
  std::unordered_map<std::string, Member*> by_name;
};

int g_ep = -1;
char g_chunk[limit::kReadChunk];
std::unordered_map<std::string, Room> g_rooms;
std::vector<Member*> g_dirty, g_slow, g_graveyard;

void deliver(Member& m, std::string_view bytes) {
  m.out.append(bytes);
  if (!m.dirty) g_dirty.push_back(&m);
  m.dirty = true;
  if (m.out.size() - m.sent > limit::kMaxOutput && !m.why) {
    limit::flush(g_ep, m);  // only what the kernel refuses counts
    if (m.out.size() - m.sent > limit::kMaxOutput) {
      m.why = "too slow";
      g_slow.push_back(&m);  // dropped after this broadcast, not during it
    }
  }
}

void broadcast(const Room& room, std::string_view bytes, const Member* except) {
  for (Member* m : room.members) {
    if (m != except && !m->why) deliver(*m, bytes);
  }
}

void leave_room(Member& m, const char* why) {
  if (!m.joined) return;
  m.joined = false;
  Room& r = g_rooms[m.room];
  r.members[m.slot] = r.members.back();
  r.members[m.slot]->slot = m.slot;
  r.members.pop_back();
  r.by_name.erase(m.name);
  std::string notice = "* " + m.name + " left " + m.room;
  notice += why ? std::string(" (") + why + ")\n" : "\n";
  broadcast(r, notice, nullptr);
  if (r.members.empty()) g_rooms.erase(m.room);
}

// Once per member that died (EOF, error, too slow): tell the room, free later.
void bury(Member& m) {
  if (m.gone) return;
  m.gone = true;
  leave_room(m, m.why);
  g_graveyard.push_back(&m);
}

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

void login(Member& m, std::string_view line) {
  std::string_view rest = trim(line);
  const std::string_view name = rest.substr(0, rest.find_first_of(" \t"));
  rest = trim(rest.substr(name.size()));
  const std::string_view room = rest.empty() ? "lobby" : rest;
  if (name.empty() || name.size() > 32 || room.size() > 32 ||
      room.find_first_of(" \t") != std::string_view::npos) {
    deliver(m, "error: expected USERNAME [ROOM]\n");
    m.closing = true;
    return;
  }
  Room& r = g_rooms[std::string(room)];
  if (!r.by_name.emplace(std::string(name), &m).second) return deliver(m, "reuse\n");
  m.name = name;
  m.room = room;
  m.joined = true;
  m.slot = r.members.size();
  r.members.push_back(&m);
  deliver(m, "success\n");
  broadcast(r, "* " + m.name + " joined " + m.room + "\n", &m);
}

void on_line(Member& m, std::string_view line, const std::string& stamp) {
  if (m.closing) return;
  if (!m.joined) return login(m, line);
  const std::string_view t = trim(line);
  if (t.empty()) return;  // blank lines are not broadcast
  if (t == "quit") {
    leave_room(m, nullptr);
    deliver(m, "quit\n");
    m.closing = true;
  } else if (t.front() == '/') {
    deliver(m, "error: unknown command " + std::string(t.substr(0, t.find_first_of(" \t"))) + "\n");
  } else {
    std::string msg;  // formatted once, the same bytes for every member
    msg.reserve(stamp.size() + m.name.size() + line.size() + 6);
    msg.append("[").append(stamp).append("] ").append(m.name).append(": ").append(line) += '\n';
    broadcast(g_rooms[m.room], msg, &m);
  }
}

void on_readable(Member& m, const std::string& stamp) {
  const ssize_t n = limit::read_some(m, g_chunk);
  if (n < 0) return;
  limit::frame_lines(m, std::string_view(g_chunk, static_cast<size_t>(n)), n == 0,
                     [&](std::string_view line) { on_line(m, line, stamp); });
  if (n == 0) m.closing = true;
  if (!m.dirty) g_dirty.push_back(&m);  // flush decides whether to close
  m.dirty = true;
}

// After each epoll batch: drop the too-slow (which may push others over),
// then one send per member that got anything; the dead are freed by the caller.
void settle() {
  while (!g_slow.empty() || !g_dirty.empty()) {
    while (!g_slow.empty()) {
      Member* m = g_slow.back();
      g_slow.pop_back();
      bury(*m);
    }
    if (g_dirty.empty()) break;
    Member* m = g_dirty.back();
    g_dirty.pop_back();
    m->dirty = false;
    if (!m->gone && !m->dead) limit::flush(g_ep, *m);
    if (m->dead) bury(*m);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (!limit::usage_ok(argc, argv)) return 2;
  const int sfd = limit::signal_fd();
  const int lfd = limit::bind_loopback(SOCK_STREAM, argv[1]);
  g_ep = epoll_create1(EPOLL_CLOEXEC);
  int listener_tag = 0, signal_tag = 0;
  limit::watch(g_ep, lfd, EPOLLIN, &listener_tag);
  limit::watch(g_ep, sfd, EPOLLIN, &signal_tag);
  limit::CtimeCache ctime;

  epoll_event events[256];
  for (;;) {
    const int n = epoll_wait(g_ep, events, 256, -1);
    if (n < 0 && errno != EINTR) limit::die("epoll_wait");
    const std::string& stamp = ctime.get(std::time(nullptr));
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &signal_tag) return 0;
      if (tag == &listener_tag) {
        for (int k = 0; k < 64; ++k) {
          const int fd = limit::accept_one(lfd);
          if (fd < 0) break;  // compare.sh raises the fd limit well past its load
          auto* m = new Member;
          m->fd = fd;
          limit::watch(g_ep, fd, EPOLLIN, m);
        }
        continue;
      }
      auto* m = static_cast<Member*>(tag);
      if (m->gone) continue;  // dropped earlier in this batch
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(*m, stamp);
      if (!m->dead && (events[i].events & EPOLLOUT) && !m->dirty) {
        m->dirty = true;
        g_dirty.push_back(m);
      }
    }
    // Sends are batched per wakeup: a member who got 16 messages from this
    // batch gets them in one send().
    settle();
    for (Member* m : g_graveyard) {
      close(m->fd);
      delete m;
    }
    g_graveyard.clear();
  }
}
