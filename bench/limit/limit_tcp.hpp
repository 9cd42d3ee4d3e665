#pragma once
// TCP plumbing shared by limit_tserv and limit_chat: a connection with an
// input remainder and an output queue, line framing with netlab's rules, one
// send per wakeup, EPOLLOUT only while something is queued.
#include <netinet/tcp.h>
#include <sys/epoll.h>

#include <cerrno>
#include <string>
#include <string_view>

#include "limit_common.hpp"

namespace limit {

constexpr size_t kMaxLine = 64 * 1024;      // netlab's --max-line default
constexpr size_t kMaxOutput = 1024 * 1024;  // netlab's output cap
constexpr size_t kReadChunk = 64 * 1024;    // one recv() per readable event
constexpr std::string_view kTooLong = "error: line too long (max 65536 bytes)\n";

struct Conn {
  int fd = -1;
  std::string in;   // a partial line carried over to the next read
  std::string out;  // queued bytes; out[0, sent) already went out
  size_t sent = 0;
  bool polling_in = true;
  bool polling_out = false;
  bool closing = false;  // close once `out` is drained
  bool dead = false;     // reap now
  virtual ~Conn() = default;
};

inline void watch(int ep, int fd, uint32_t events, void* tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

inline void set_events(int ep, Conn& c, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &c;
  epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
}

// Accepts every pending connection (level-triggered: whatever we leave is
// reported again). Returns the fd or -1; EMFILE pauses the listener via the
// caller so the loop does not spin on a backlog it cannot take.
inline int accept_one(int lfd) {
  const int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    const int one = 1;  // netlab sets it too; replies must not wait for ACKs
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

// One recv() of up to kReadChunk into `chunk`. A short read under
// level-triggered epoll means the socket was drained at that moment; more data
// wakes us again, so a second recv() just to see EAGAIN would be a wasted
// system call on every request. Returns bytes read, 0 at EOF, -1 if nothing.
inline ssize_t read_some(Conn& c, char* chunk) {
  const ssize_t n = recv(c.fd, chunk, kReadChunk, 0);
  if (n < 0 && errno != EAGAIN && errno != EINTR) c.dead = true;
  return n;
}

// Calls on_line(line) for every complete line in c.in + chunk (without '\n'
// and a preceding '\r'), keeps the partial tail in c.in. At EOF the tail is a
// line too. Returns false when a line was over kMaxLine (reply queued, closing).
template <class OnLine>
bool frame_lines(Conn& c, std::string_view chunk, bool at_eof, OnLine&& on_line) {
  // Parse straight from the read buffer unless a partial line is pending:
  // the common case copies nothing.
  std::string_view data = chunk;
  if (!c.in.empty()) {
    c.in.append(chunk);
    data = c.in;
  }
  size_t pos = 0;
  for (;;) {
    const size_t nl = data.find('\n', pos);
    std::string_view line =
        data.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLine) {
      c.out.append(kTooLong);
      c.closing = true;
      c.in.clear();
      return false;
    }
    if (nl == std::string_view::npos) {
      if (at_eof && pos < data.size()) on_line(line);
      break;
    }
    on_line(line);
    pos = nl + 1;
  }
  if (at_eof) {
    c.in.clear();
  } else if (data.data() == c.in.data()) {
    c.in.erase(0, pos);
  } else {
    c.in.assign(data.substr(pos));
  }
  return true;
}

// One send() of everything queued; what the kernel refuses waits for
// EPOLLOUT. Reading pauses while the queue is over kMaxOutput.
inline void flush(int ep, Conn& c) {
  if (c.sent < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n >= 0) {
      c.sent += static_cast<size_t>(n);
    } else if (errno != EAGAIN && errno != EINTR) {
      c.dead = true;
      return;
    }
  }
  if (c.sent == c.out.size()) {
    c.out.clear();
    c.sent = 0;
    if (c.closing) c.dead = true;
  } else if (c.sent > kReadChunk && 2 * c.sent > c.out.size()) {
    c.out.erase(0, c.sent);  // a slow reader: drop what went out, now and then
    c.sent = 0;
  }
  const bool want_out = c.sent < c.out.size();
  const bool want_in = !c.closing && c.out.size() - c.sent <= kMaxOutput;
  if (!c.dead && (want_out != c.polling_out || want_in != c.polling_in)) {
    set_events(ep, c, (want_in ? EPOLLIN : 0u) | (want_out ? EPOLLOUT : 0u));
    c.polling_in = want_in;
    c.polling_out = want_out;
  }
}

}  // namespace limit
