#include "net/trace.hpp"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>

#include "net/trace_format.hpp"

namespace netlab::net {

namespace {
using Clock = std::chrono::steady_clock;

// Written by configure()/set_ids() before any socket or thread exists, read
// only afterwards.
struct Settings {
  Clock::time_point start = Clock::now();
  size_t payload_bytes = Trace::kDefaultPayloadBytes;
  bool colour = false;
  Trace::Ids ids = Trace::Ids::kNone;
};
Settings settings;

// Restores errno on the way out: the caller still has to read it.
class SavedErrno {
 public:
  SavedErrno() : value_(errno) {}
  ~SavedErrno() { errno = value_; }
  SavedErrno(const SavedErrno&) = delete;
  SavedErrno& operator=(const SavedErrno&) = delete;
  int value() const { return value_; }

 private:
  int value_;
};

bool wants_colour() {
  // https://no-color.org: set and not empty means no colour.
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  return isatty(STDERR_FILENO) == 1;
}

LinePrefix prefix_now() {
  LinePrefix p;
  p.ms = std::chrono::duration<double, std::milli>(Clock::now() - settings.start).count();
  if (settings.ids == Trace::Ids::kThread) {
    p.id_kind = LinePrefix::Id::kThread;
    p.id = static_cast<long>(::syscall(SYS_gettid));
  } else if (settings.ids == Trace::Ids::kProcess) {
    p.id_kind = LinePrefix::Id::kProcess;
    p.id = static_cast<long>(::getpid());
  }
  return p;
}

void emit(const CallText& call) {
  const std::string line = format_trace_line(prefix_now(), call, settings.colour);
  // One write per line (a pipe takes up to PIPE_BUF bytes atomically), so
  // lines from threads and forked children stay whole.
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stderr gone: tracing must never stop the program
    done += static_cast<size_t>(n);
  }
}

// EAGAIN lines only with --trace=all (see is_would_block).
bool hidden(ssize_t rc, int err) {
  return rc < 0 && is_would_block(err) && !Trace::all();
}

// 0 bytes from recv() ends a stream but is a valid (empty) datagram. Asked
// only then, and only while tracing: the socket does not remember its type.
bool is_stream(int fd) {
  int type = 0;
  socklen_t len = sizeof(type);
  return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM;
}

const char* bytes_of(const void* buf) {
  return static_cast<const char*>(buf);
}
}  // namespace

void Trace::configure(Level level, size_t payload_bytes) {
  calls_ = level != Level::kOff;
  all_ = level == Level::kAll;
  settings.start = Clock::now();
  settings.payload_bytes = payload_bytes;
  settings.colour = calls_ && wants_colour();
}

void Trace::set_ids(Ids ids) {
  settings.ids = ids;
}

void Trace::socket(int family, int type, int fd) {
  SavedErrno e;
  emit(socket_call(family, type, fd, e.value()));
}

void Trace::setsockopt(int fd, int level, int name, int value, int rc) {
  SavedErrno e;
  emit(setsockopt_call(fd, level, name, value, rc, e.value()));
}

void Trace::so_error(int fd, int rc, int value) {
  SavedErrno e;
  emit(so_error_call(fd, rc, value, e.value()));
}

void Trace::bind(int fd, const Address& addr, int rc) {
  SavedErrno e;
  emit(bind_call(fd, addr, rc, e.value()));
}

void Trace::listen(int fd, int backlog, int rc) {
  SavedErrno e;
  emit(listen_call(fd, backlog, rc, e.value()));
}

void Trace::accept(int fd, int new_fd, const Address& peer) {
  SavedErrno e;
  if (hidden(new_fd, e.value())) return;
  emit(accept_call(fd, new_fd, peer, e.value()));
}

void Trace::connect(int fd, const Address& addr, int rc) {
  SavedErrno e;
  emit(connect_call(fd, addr, rc, e.value()));
}

void Trace::recv(int fd, const void* buf, size_t len, ssize_t n) {
  SavedErrno e;
  if (hidden(n, e.value())) return;
  const bool stream = n != 0 || is_stream(fd);
  emit(recv_call(fd, len, bytes_of(buf), n, e.value(), stream, settings.payload_bytes));
}

void Trace::send(int fd, const void* buf, size_t len, ssize_t n) {
  SavedErrno e;
  if (hidden(n, e.value())) return;
  emit(send_call(fd, bytes_of(buf), len, n, e.value(), settings.payload_bytes));
}

void Trace::recvfrom(int fd, const void* buf, size_t len, ssize_t n, const Address& from) {
  SavedErrno e;
  if (hidden(n, e.value())) return;
  emit(recvfrom_call(fd, len, bytes_of(buf), n, from, e.value(), settings.payload_bytes));
}

void Trace::sendto(int fd, const void* buf, size_t len, const Address& to, ssize_t n) {
  SavedErrno e;
  if (hidden(n, e.value())) return;
  emit(sendto_call(fd, bytes_of(buf), len, to, n, e.value(), settings.payload_bytes));
}

void Trace::shutdown(int fd, int how, int rc) {
  SavedErrno e;
  emit(shutdown_call(fd, how, rc, e.value()));
}

void Trace::close(int fd, int rc) {
  SavedErrno e;
  emit(close_call(fd, rc, e.value()));
}

void Trace::getsockname(int fd, const Address& addr, int rc) {
  SavedErrno e;
  emit(getsockname_call(fd, addr, rc, e.value()));
}

void Trace::getpeername(int fd, const Address& addr, int rc) {
  SavedErrno e;
  emit(getpeername_call(fd, addr, rc, e.value()));
}

void Trace::epoll_create(int epfd) {
  SavedErrno e;
  emit(epoll_create_call(epfd, e.value()));
}

void Trace::epoll_ctl(int epfd, int op, int fd, uint32_t events, int rc) {
  SavedErrno e;
  emit(epoll_ctl_call(epfd, op, fd, events, rc, e.value()));
}

void Trace::epoll_wait(int epfd, int timeout_ms, int n) {
  SavedErrno e;
  emit(epoll_wait_call(epfd, timeout_ms, n, e.value()));
}

void Trace::poll(const pollfd* fds, size_t nfds, int timeout_ms, int n) {
  SavedErrno e;
  emit(poll_call(fds, nfds, timeout_ms, n, e.value()));
}

}  // namespace netlab::net
