#include "net/socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "net/log.hpp"

namespace netlab::net {

namespace {
std::string type_name(int type) {
  return type == SOCK_STREAM  ? "SOCK_STREAM"
         : type == SOCK_DGRAM ? "SOCK_DGRAM"
                              : std::to_string(type);
}

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void set_int_option(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) < 0) throw_errno(what);
}
}  // namespace

std::string family_name(int family) {
  switch (family) {
    case AF_INET:
      return "AF_INET";
    case AF_INET6:
      return "AF_INET6";
    case AF_UNIX:
      return "AF_UNIX";
    default:
      return std::to_string(family);
  }
}

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
  if (fd < 0) throw_errno("cannot create socket");
  Log::trace("fd {} = socket({}, {})", fd, family_name(family), type_name(type));
  return Socket(fd);
}

int Socket::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void Socket::close() {
  if (fd_ < 0) return;
  Log::trace("close(fd {})", fd_);
  ::close(fd_);
  fd_ = -1;
}

void Socket::set_reuse_addr() {
  set_int_option(fd_, SOL_SOCKET, SO_REUSEADDR, 1, "cannot set SO_REUSEADDR");
}
void Socket::set_v6only(bool on) {
  set_int_option(fd_, IPPROTO_IPV6, IPV6_V6ONLY, on ? 1 : 0, "cannot set IPV6_V6ONLY");
}
void Socket::set_nodelay() {
  // Best effort: a Unix stream socket has no Nagle to switch off.
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void Socket::bind(const Address& addr) {
  if (::bind(fd_, addr.get(), addr.size()) < 0) throw_errno("cannot bind " + addr.to_string());
  Log::trace("bind(fd {}, {})", fd_, addr.to_string());
}

void Socket::listen(int backlog) {
  if (::listen(fd_, backlog) < 0) throw_errno("cannot listen on " + local_address().to_string());
  Log::trace("listen(fd {}, backlog {})", fd_, backlog);
}

Socket Socket::accept(Address& peer) {
  const int fd =
      ::accept4(fd_, peer.get_mutable(), peer.size_for_kernel(), SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) Log::trace("fd {} = accept(fd {}) from {}", fd, fd_, peer.to_string());
  return Socket(fd);
}

int Socket::connect(const Address& addr) {
  const int rc = ::connect(fd_, addr.get(), addr.size());
  if (Log::tracing()) {
    const int saved = errno;
    Log::trace("connect(fd {}, {}){}", fd_, addr.to_string(),
               rc == 0                ? ""
               : saved == EINPROGRESS ? " in progress"
                                      : " failed");
    errno = saved;
  }
  return rc;
}

int Socket::pending_error() {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

ssize_t Socket::recv(void* buf, size_t len) {
  const ssize_t n = ::recv(fd_, buf, len, 0);
  if (n >= 0) Log::trace("recv(fd {}) = {} bytes{}", fd_, n, n == 0 ? " (peer closed)" : "");
  return n;
}

ssize_t Socket::send(const void* buf, size_t len) {
  const ssize_t n = ::send(fd_, buf, len, MSG_NOSIGNAL);
  if (n >= 0) Log::trace("send(fd {}, {} bytes) = {}", fd_, len, n);
  return n;
}

ssize_t Socket::recv_from(void* buf, size_t len, Address& from) {
  const ssize_t n = ::recvfrom(fd_, buf, len, 0, from.get_mutable(), from.size_for_kernel());
  if (n >= 0) Log::trace("recvfrom(fd {}) = {} bytes from {}", fd_, n, from.to_string());
  return n;
}

ssize_t Socket::send_to(const void* buf, size_t len, const Address& to) {
  const ssize_t n = ::sendto(fd_, buf, len, MSG_NOSIGNAL, to.get(), to.size());
  if (n >= 0) Log::trace("sendto(fd {}, {} bytes, {}) = {}", fd_, len, to.to_string(), n);
  return n;
}

int Socket::shutdown_write() {
  Log::trace("shutdown(fd {}, SHUT_WR)", fd_);
  return ::shutdown(fd_, SHUT_WR);
}

Address Socket::local_address() const {
  Address a;
  getsockname(fd_, a.get_mutable(), a.size_for_kernel());
  return a;
}

Address Socket::peer_address() const {
  Address a;
  if (getpeername(fd_, a.get_mutable(), a.size_for_kernel()) < 0) return Address();
  return a;
}

}  // namespace netlab::net
