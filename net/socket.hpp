#pragma once
// Socket: move-only owner of one socket fd, always non-blocking and
// close-on-exec. This is the only place raw socket syscalls are made, so
// --trace sees every one of them: each call is followed by its Trace
// recorder (trace.hpp), behind one branch when tracing is off. Setup calls
// (bind, listen) throw std::system_error carrying errno; I/O calls return -1
// and leave errno set, because EAGAIN/EINTR are normal flow inside an event
// loop.
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <string>

#include "net/address.hpp"

namespace netlab::net {

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& other) noexcept : fd_(other.release()) {}
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC); throws on failure.
  static Socket open(int family, int type);

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();  // gives up ownership without closing
  void close();

  void set_reuse_addr();
  void set_v6only(bool on);
  void set_nodelay();

  void bind(const Address& addr);  // throws "cannot bind ADDR: reason"
  void listen(int backlog);        // throws "cannot listen on ADDR: reason"

  // Returns a new non-blocking socket, or an invalid one with errno set.
  Socket accept(Address& peer);
  // 0, or -1 with errno (EINPROGRESS for a pending non-blocking connect).
  int connect(const Address& addr);
  int pending_error();  // SO_ERROR, for finishing a non-blocking connect

  ssize_t recv(void* buf, size_t len);
  // Never raises SIGPIPE (MSG_NOSIGNAL): a vanished peer is just EPIPE.
  ssize_t send(const void* buf, size_t len);
  ssize_t recv_from(void* buf, size_t len, Address& from);
  ssize_t send_to(const void* buf, size_t len, const Address& to);
  // recvmmsg(MSG_DONTWAIT) / sendmmsg: many datagrams per system call
  // (DatagramBatch). Not traced: with --trace, DatagramBatch makes one
  // recvfrom/sendto per datagram instead, so the trace shows the calls the
  // tutorial names and they are the calls really made.
  int recv_many(mmsghdr* msgs, unsigned count);
  int send_many(mmsghdr* msgs, unsigned count);
  int shutdown_write();
  // How many of the bytes this socket accepted its peer has not taken yet
  // (ioctl SIOCOUTQ: not yet acknowledged over TCP, not yet read over a
  // Unix socket, where it counts the kernel's buffer sizes rather than
  // payload); -1 with errno on failure. Not traced: the progress deadline's
  // periodic look at the kernel (ProgressDeadline), not a call the tutorial
  // names.
  int unsent_bytes() const;

  Address local_address() const;
  Address peer_address() const;

 private:
  int fd_ = -1;
};

}  // namespace netlab::net
