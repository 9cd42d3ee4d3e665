// limit_userv PORT: the "limit" UDP timestamp server for bench/compare.sh.
// Same reply as `netlab userv`: each datagram comes back to its sender as
// "[<ctime>] <payload>", payload bytes unchanged (no newline added or
// removed, an empty datagram gets "[<ctime>] "). The one-core yardstick
// batches: one recvmmsg() takes up to kBatch datagrams, one sendmmsg()
// answers them all.
#include <sys/epoll.h>

#include <cerrno>

#include "limit_common.hpp"

namespace {

constexpr unsigned kBatch = 64;
// ctime() text is always 24 characters, so the reply prefix "[...] " is 27.
constexpr size_t kPrefix = 27;
constexpr size_t kMaxPayload = 64 * 1024;  // more than any UDP datagram

struct Slot {
  sockaddr_storage from;
  char buf[kPrefix + kMaxPayload];
};

Slot g_slots[kBatch];
mmsghdr g_msgs[kBatch];
iovec g_iov[kBatch];

// Each payload is received just past room for the prefix, so the reply is
// the same buffer with the prefix written in front: no copy of the payload.
void serve(int fd, const std::string& stamp) {
  for (unsigned i = 0; i < kBatch; ++i) {
    g_iov[i] = {g_slots[i].buf + kPrefix, kMaxPayload};
    g_msgs[i].msg_hdr = {};
    g_msgs[i].msg_hdr.msg_name = &g_slots[i].from;
    g_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    g_msgs[i].msg_hdr.msg_iov = &g_iov[i];
    g_msgs[i].msg_hdr.msg_iovlen = 1;
  }
  // Fewer than kBatch means the queue was empty at that moment; epoll is
  // level-triggered and wakes us for whatever comes next.
  const int n = recvmmsg(fd, g_msgs, kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return;
  for (int i = 0; i < n; ++i) {
    char* start = g_slots[i].buf;
    start[0] = '[';
    std::memcpy(start + 1, stamp.data(), kPrefix - 3);
    start[kPrefix - 2] = ']';
    start[kPrefix - 1] = ' ';
    g_iov[i] = {start, kPrefix + g_msgs[i].msg_len};
  }
  int sent = 0;
  while (sent < n) {
    const int r = sendmmsg(fd, g_msgs + sent, static_cast<unsigned>(n - sent), 0);
    if (r > 0) {
      sent += r;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;  // UDP: a full send queue drops replies, as netlab's would be
    } else {
      ++sent;  // this one reply failed (e.g. too big with the prefix); go on
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (!limit::usage_ok(argc, argv)) return 2;
  const int sfd = limit::signal_fd();
  const int fd = limit::bind_loopback(SOCK_DGRAM, argv[1]);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  ev.data.fd = sfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
  limit::CtimeCache ctime;

  epoll_event events[2];
  for (;;) {
    const int n = epoll_wait(ep, events, 2, -1);
    if (n < 0 && errno != EINTR) limit::die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == sfd) return 0;
      serve(fd, ctime.get(std::time(nullptr)));
    }
  }
}
