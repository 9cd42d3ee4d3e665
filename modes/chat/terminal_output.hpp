#pragma once
// The chat screen's output (stdout) written without ever blocking the event
// loop. A stdout nobody reads (a stopped pager, a pipe into a stuck
// program, a terminal after Ctrl-S) would otherwise freeze the whole
// process inside write(): the peer unserved, SIGTERM unheard.
//
// stdout is reopened through /proc/self/fd/1 as a file description of our
// own, non-blocking: O_NONBLOCK on fd 1 itself would also change it for the
// shell and every other process sharing that terminal or pipe. A socket
// gets send(MSG_DONTWAIT) instead; a regular file never blocks for long and
// is written directly. What stdout does not take at once waits in a queue
// written when epoll says stdout has room.
//
// Bounds: backed_up() tells the owner to stop taking more from its peer
// (the chat server and client then stop reading their socket, so the
// kernel's flow control pushes back on the sender) and on_drained says when
// to resume. Text that arrives anyway while the queue is over kMaxQueued
// (the owner's own notices) is dropped and counted, and one line says so
// once stdout has caught up.
#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include "net/buffer.hpp"
#include "net/event_loop.hpp"

namespace netlab::modes::chat {

class TerminalOutput {
 public:
  static constexpr size_t kPauseAt = 64 * 1024;      // backed_up() from here
  static constexpr size_t kMaxQueued = 1024 * 1024;  // past this, text is dropped

  explicit TerminalOutput(net::EventLoop& loop);
  ~TerminalOutput();
  TerminalOutput(const TerminalOutput&) = delete;
  TerminalOutput& operator=(const TerminalOutput&) = delete;

  // Writes what stdout takes now and queues the rest; `lines` is how many
  // lines the bytes hold (for the notice if they have to be dropped).
  void write(std::string_view bytes, size_t lines = 1);
  bool idle() const { return queued_.empty(); }
  bool backed_up() const { return queued_.size() >= kPauseAt; }
  // Called once the queue has gone from backed_up() to under half of it.
  void set_on_drained(std::function<void()> h) { on_drained_ = std::move(h); }
  // At exit: lets stdout take what is queued, giving up on the rest once it
  // has taken nothing for `limit` (the process must end even if nobody
  // reads; a slow reader that keeps reading gets everything).
  void finish(std::chrono::milliseconds limit);

 private:
  enum class Kind { kNonBlocking, kSocket, kBlocking };
  // Writes from the queue until it is empty or stdout is full; false once
  // stdout is gone for good (EPIPE and the like: the queue is dropped).
  void flush();
  ssize_t write_some(std::string_view bytes);
  void update_watch();

  net::EventLoop& loop_;
  int fd_ = 1;
  bool own_fd_ = false;
  Kind kind_ = Kind::kBlocking;
  bool watching_ = false;
  bool was_backed_up_ = false;
  bool broken_ = false;  // stdout is gone: writes are discarded
  size_t dropped_lines_ = 0;
  net::Buffer queued_;
  std::function<void()> on_drained_;
};

}  // namespace netlab::modes::chat
