#include "net/acceptor.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "net/log.hpp"

namespace netlab::net {

namespace {
// Bounded work per wakeup: a connection storm must not starve the clients
// already connected.
constexpr int kMaxAcceptsPerWakeup = 64;
constexpr auto kPauseWhenOutOfFds = std::chrono::milliseconds(100);

int open_reserve_fd() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}
}  // namespace

Acceptor::Acceptor(EventLoop& loop, Listener& listener, AcceptHandler on_accept)
    : loop_(loop),
      listener_(listener),
      on_accept_(std::move(on_accept)),
      reserve_fd_(open_reserve_fd()) {
  for (Socket& s : listener_.sockets()) {
    loop_.watch(s.fd(), EPOLLIN, [this, &s](uint32_t) { handle_readable(s); });
  }
}

Acceptor::~Acceptor() {
  stop();
  if (resume_timer_ != 0) loop_.cancel(resume_timer_);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

void Acceptor::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (Socket& s : listener_.sockets()) loop_.unwatch(s.fd());
  listener_.close();
}

void Acceptor::handle_readable(Socket& listening) {
  for (int i = 0; i < kMaxAcceptsPerWakeup && !stopped_; ++i) {
    Address peer;
    Socket conn = listening.accept(peer);
    if (conn.valid()) {
      on_accept_(std::move(conn), peer);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EMFILE || errno == ENFILE) {
      handle_out_of_fds(listening);
      return;
    }
    // ECONNABORTED, EPROTO, EINTR, ...: that one connection failed, not us.
    if (errno != ECONNABORTED && errno != EINTR && errno != EPROTO) {
      Log::error("accept failed: {}", std::strerror(errno));
      pause_accepting();
      return;
    }
  }
}

void Acceptor::handle_out_of_fds(Socket& listening) {
  // One line per second at most: a storm of refused clients must not flood the log.
  const auto now = EventLoop::Clock::now();
  if (now - last_out_of_fds_log_ >= std::chrono::seconds(1)) {
    last_out_of_fds_log_ = now;
    Log::error("out of file descriptors: refusing new connections");
  }
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    Address peer;
    { Socket refused = listening.accept(peer); }  // closed at once
    reserve_fd_ = open_reserve_fd();
  }
  if (reserve_fd_ < 0) pause_accepting();
}

void Acceptor::pause_accepting() {
  if (paused_ || stopped_) return;
  paused_ = true;
  for (Socket& s : listener_.sockets()) loop_.modify(s.fd(), 0);
  resume_timer_ = loop_.run_after(kPauseWhenOutOfFds, [this] {
    paused_ = false;
    resume_timer_ = 0;
    if (stopped_) return;
    if (reserve_fd_ < 0) reserve_fd_ = open_reserve_fd();
    for (Socket& s : listener_.sockets()) loop_.modify(s.fd(), EPOLLIN);
  });
}

}  // namespace netlab::net
