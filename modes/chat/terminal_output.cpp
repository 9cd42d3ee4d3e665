#include "modes/chat/terminal_output.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace netlab::modes::chat {

namespace {
constexpr size_t kKeepIdleBuffer = 16 * 1024;
}

TerminalOutput::TerminalOutput(net::EventLoop& loop) : loop_(loop) {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) != 0) {
    broken_ = true;  // no stdout at all: nothing to show, nothing to block on
    return;
  }
  if (S_ISREG(st.st_mode)) return;  // a file takes every write at once
  if (S_ISSOCK(st.st_mode)) {
    kind_ = Kind::kSocket;
    return;
  }
  // A pipe, FIFO or terminal: a description of our own to make non-blocking.
  const int fd = ::open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0) {
    fd_ = fd;
    own_fd_ = true;
    kind_ = Kind::kNonBlocking;
  }
  // Else (no /proc, or a pipe with no reader left): plain blocking writes,
  // which fail at once on a pipe nobody will ever read.
}

TerminalOutput::~TerminalOutput() {
  if (watching_) loop_.unwatch(fd_);
  if (own_fd_) ::close(fd_);
}

ssize_t TerminalOutput::write_some(std::string_view bytes) {
  if (kind_ == Kind::kSocket) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  return ::write(fd_, bytes.data(), bytes.size());
}

void TerminalOutput::write(std::string_view bytes, size_t lines) {
  if (broken_ || bytes.empty()) return;
  if (!queued_.empty()) {  // behind what waits already: keep the order
    if (queued_.size() >= kMaxQueued) {
      dropped_lines_ += lines;
      return;
    }
    queued_.append(bytes);
    if (backed_up()) was_backed_up_ = true;
    return;
  }
  while (!bytes.empty()) {
    const ssize_t n = write_some(bytes);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      broken_ = true;  // EPIPE, EIO: the reader is gone for good
      return;
    }
  }
  if (bytes.empty()) return;
  queued_.append(bytes);
  if (backed_up()) was_backed_up_ = true;
  update_watch();
}

void TerminalOutput::flush() {
  while (!queued_.empty() && !broken_) {
    const ssize_t n = write_some(queued_.view());
    if (n > 0) {
      queued_.consume(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      broken_ = true;
      queued_.clear();
    }
  }
  if (queued_.empty()) {
    queued_.shrink_if_idle(kKeepIdleBuffer);
    if (dropped_lines_ > 0 && !broken_) {
      const size_t n = std::exchange(dropped_lines_, 0);
      write(
          fmt::format("* {} line{} not shown: the screen did not keep up\n", n, n == 1 ? "" : "s"));
    }
  }
  update_watch();
  if (was_backed_up_ && queued_.size() < kPauseAt / 2) {
    was_backed_up_ = false;
    if (on_drained_) on_drained_();
  }
}

void TerminalOutput::update_watch() {
  const bool want = !queued_.empty() && !broken_;
  if (want == watching_) return;
  if (want) {
    loop_.watch(fd_, EPOLLOUT, [this](uint32_t) { flush(); });
  } else {
    loop_.unwatch(fd_);
  }
  watching_ = want;
}

void TerminalOutput::finish(std::chrono::milliseconds limit) {
  on_drained_ = nullptr;  // the owner is done with its peers
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const size_t before = queued_.size();
    flush();
    if (queued_.empty() || broken_) return;
    // A slow reader that keeps taking output gets all of it.
    if (queued_.size() < before) deadline = std::chrono::steady_clock::now() + limit;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;  // nobody reads: the rest is not shown
    pollfd p{fd_, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

}  // namespace netlab::modes::chat
