// limit_tserv PORT: the "limit" TCP timestamp server for bench/compare.sh.
// Same work per request as `netlab tserv --model reactor`: frame `\n` lines
// (a '\r' before it dropped, 64 KiB cap), answer each with
// "[<ctime>] <line>\n", one send per connection per wakeup, back-pressure at
// 1 MiB queued, the unterminated last line answered at EOF. Nothing else: no
// logging, no options, IPv4 loopback only.
#include <sys/epoll.h>

#include "limit_tcp.hpp"

namespace {

using limit::Conn;

char g_chunk[limit::kReadChunk];

// The reply is built straight into the output queue: no temporary string.
void answer(Conn& c, std::string_view stamp, std::string_view line) {
  c.out += '[';
  c.out += stamp;
  c.out += "] ";
  c.out += line;
  c.out += '\n';
}

void on_readable(int ep, Conn& c, std::string_view stamp) {
  const ssize_t n = limit::read_some(c, g_chunk);
  if (n < 0) return;
  const bool eof = n == 0;
  limit::frame_lines(c, std::string_view(g_chunk, static_cast<size_t>(n)), eof,
                     [&](std::string_view line) { answer(c, stamp, line); });
  if (eof) c.closing = true;
  if (!c.dead) limit::flush(ep, c);
}

}  // namespace

int main(int argc, char** argv) {
  if (!limit::usage_ok(argc, argv)) return 2;
  const int sfd = limit::signal_fd();
  const int lfd = limit::bind_loopback(SOCK_STREAM, argv[1]);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  // The listener and the signalfd are told apart from connections by tag.
  int listener_tag = 0, signal_tag = 0;
  limit::watch(ep, lfd, EPOLLIN, &listener_tag);
  limit::watch(ep, sfd, EPOLLIN, &signal_tag);
  limit::CtimeCache ctime;
  bool accepting = true;

  epoll_event events[256];
  for (;;) {
    const int n = epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno != EINTR) limit::die("epoll_wait");
    const std::string& stamp = ctime.get(std::time(nullptr));
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &signal_tag) return 0;  // the kernel closes every socket
      if (tag == &listener_tag) {
        for (int k = 0; k < 64; ++k) {  // bounded, like netlab's acceptor
          const int fd = limit::accept_one(lfd);
          if (fd < 0) {
            // Out of fds: stop listening until a connection closes, rather
            // than spin on a level-triggered backlog we cannot take.
            if (errno == EMFILE || errno == ENFILE) {
              epoll_ctl(ep, EPOLL_CTL_DEL, lfd, nullptr);
              accepting = false;
            }
            break;
          }
          auto* c = new Conn;
          c->fd = fd;
          limit::watch(ep, fd, EPOLLIN, c);
        }
        continue;
      }
      auto* c = static_cast<Conn*>(tag);
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(ep, *c, stamp);
      if (!c->dead && (events[i].events & EPOLLOUT)) limit::flush(ep, *c);
      if (c->dead) {
        // Each fd appears at most once per epoll_wait batch, so freeing now
        // cannot leave a dangling pointer in `events`.
        close(c->fd);  // also drops it from the epoll set
        delete c;
        if (!accepting) {
          limit::watch(ep, lfd, EPOLLIN, &listener_tag);
          accepting = true;
        }
      }
    }
  }
}
