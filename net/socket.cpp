#include "net/socket.hpp"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "net/trace.hpp"

namespace netlab::net {

namespace {
[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// 0, or -1 with errno.
int set_int_option(int fd, int level, int name, int value) {
  const int rc = ::setsockopt(fd, level, name, &value, sizeof(value));
  if (Trace::calls()) Trace::setsockopt(fd, level, name, value, rc);
  return rc;
}
}  // namespace

Socket::~Socket() {
  close();
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.release();
  }
  return *this;
}

Socket Socket::open(int family, int type) {
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // Shown without the two flags: every netlab socket has them.
  if (Trace::calls()) Trace::socket(family, type, fd);
  if (fd < 0) throw_errno("cannot create socket");
  return Socket(fd);
}

int Socket::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void Socket::close() {
  if (fd_ < 0) return;
  const int rc = ::close(fd_);
  if (Trace::calls()) Trace::close(fd_, rc);
  fd_ = -1;
}

void Socket::set_reuse_addr() {
  if (set_int_option(fd_, SOL_SOCKET, SO_REUSEADDR, 1) < 0) throw_errno("cannot set SO_REUSEADDR");
}
void Socket::set_v6only(bool on) {
  if (set_int_option(fd_, IPPROTO_IPV6, IPV6_V6ONLY, on ? 1 : 0) < 0)
    throw_errno("cannot set IPV6_V6ONLY");
}
void Socket::set_nodelay() {
  // Best effort: a Unix stream socket has no Nagle to switch off.
  set_int_option(fd_, IPPROTO_TCP, TCP_NODELAY, 1);
}

void Socket::bind(const Address& addr) {
  const int rc = ::bind(fd_, addr.get(), addr.size());
  if (Trace::calls()) Trace::bind(fd_, addr, rc);
  if (rc < 0) throw_errno("cannot bind " + addr.to_string());
}

void Socket::listen(int backlog) {
  const int rc = ::listen(fd_, backlog);
  if (Trace::calls()) Trace::listen(fd_, backlog, rc);
  if (rc < 0) throw_errno("cannot listen on " + local_address().to_string());
}

Socket Socket::accept(Address& peer) {
  const int fd =
      ::accept4(fd_, peer.get_mutable(), peer.size_for_kernel(), SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (Trace::calls()) Trace::accept(fd_, fd, peer);
  return Socket(fd);
}

int Socket::connect(const Address& addr) {
  const int rc = ::connect(fd_, addr.get(), addr.size());
  if (Trace::calls()) Trace::connect(fd_, addr, rc);
  return rc;
}

int Socket::pending_error() {
  int err = 0;
  socklen_t len = sizeof(err);
  const int rc = ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  if (Trace::calls()) Trace::so_error(fd_, rc, err);
  return rc < 0 ? errno : err;
}

ssize_t Socket::recv(void* buf, size_t len) {
  const ssize_t n = ::recv(fd_, buf, len, 0);
  if (Trace::calls()) Trace::recv(fd_, buf, len, n);
  return n;
}

ssize_t Socket::send(const void* buf, size_t len) {
  const ssize_t n = ::send(fd_, buf, len, MSG_NOSIGNAL);
  if (Trace::calls()) Trace::send(fd_, buf, len, n);
  return n;
}

ssize_t Socket::recv_from(void* buf, size_t len, Address& from) {
  const ssize_t n = ::recvfrom(fd_, buf, len, 0, from.get_mutable(), from.size_for_kernel());
  if (Trace::calls()) Trace::recvfrom(fd_, buf, len, n, from);
  return n;
}

int Socket::recv_many(mmsghdr* msgs, unsigned count) {
  return ::recvmmsg(fd_, msgs, count, MSG_DONTWAIT, nullptr);
}

int Socket::send_many(mmsghdr* msgs, unsigned count) {
  return ::sendmmsg(fd_, msgs, count, MSG_NOSIGNAL);
}

ssize_t Socket::send_to(const void* buf, size_t len, const Address& to) {
  const ssize_t n = ::sendto(fd_, buf, len, MSG_NOSIGNAL, to.get(), to.size());
  if (Trace::calls()) Trace::sendto(fd_, buf, len, to, n);
  return n;
}

int Socket::shutdown_write() {
  const int rc = ::shutdown(fd_, SHUT_WR);
  if (Trace::calls()) Trace::shutdown(fd_, SHUT_WR, rc);
  return rc;
}

int Socket::unsent_bytes() const {
  int n = 0;
  return ::ioctl(fd_, SIOCOUTQ, &n) < 0 ? -1 : n;
}

Address Socket::local_address() const {
  Address a;
  const int rc = ::getsockname(fd_, a.get_mutable(), a.size_for_kernel());
  if (Trace::calls()) Trace::getsockname(fd_, a, rc);
  return a;
}

Address Socket::peer_address() const {
  Address a;
  const int rc = ::getpeername(fd_, a.get_mutable(), a.size_for_kernel());
  if (Trace::calls()) Trace::getpeername(fd_, a, rc);
  if (rc < 0) return Address();
  return a;
}

}  // namespace netlab::net
