#include "net/connection.hpp"

#include <sys/epoll.h>

#include <cerrno>
#include <memory>

namespace netlab::net {

namespace {
// Read at most this much per wakeup, so one fast peer cannot starve the
// others (level-triggered epoll brings us back for the rest).
constexpr size_t kReadChunk = 64 * 1024;
// A buffer that grew for a burst is released once idle, keeping RSS per idle
// connection small.
constexpr size_t kKeepIdleBuffer = 16 * 1024;

// Where reads land first: one per thread (one loop per thread), allocated
// once. Messages are handed to the handler straight from here.
char* read_scratch() {
  thread_local std::unique_ptr<char[]> scratch = std::make_unique_for_overwrite<char[]>(kReadChunk);
  return scratch.get();
}
}  // namespace

Connection::Connection(EventLoop& loop, Socket socket, Address peer, Id id,
                       ConnectionOptions options)
    : loop_(loop),
      socket_(std::move(socket)),
      peer_(peer),
      id_(id),
      options_(options),
      progress_(options.progress_timeout, EventLoop::Clock::now()) {}

Connection::~Connection() {
  loop_.unqueue_flush(this);
  // Unwatch before the Socket member closes the fd.
  if (socket_.valid()) loop_.unwatch(socket_.fd());
}

void Connection::start() {
  interest_ = EPOLLIN;
  loop_.watch(socket_.fd(), interest_, [this](uint32_t events) { handle_events(events); });
}

void Connection::handle_events(uint32_t events) {
  if (events & EPOLLERR) {
    close();
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP)) {
    if (interest_ & EPOLLIN) {
      handle_read();
    } else if (events & EPOLLHUP) {
      close();  // both directions gone while we were not reading: nothing left to deliver
      return;
    }
  }
  if ((events & EPOLLOUT) && state_ != State::kClosed) handle_write();
}

void Connection::handle_read() {
  // With nothing buffered, whole messages are delivered from the scratch
  // space and only what is left (an unfinished line, or input held back
  // while paused) is copied into input_.
  const bool direct = input_.empty();
  char* space = direct ? read_scratch() : input_.prepare(kReadChunk);
  const ssize_t n = socket_.recv(space, kReadChunk);
  if (n > 0) {
    progress_.received(static_cast<size_t>(n));
    if (direct) {
      const std::string_view data(space, static_cast<size_t>(n));
      in_process_ = true;
      const size_t used = deliver(data);
      in_process_ = false;
      if (state_ == State::kOpen) input_.append(data.substr(used));
      finish_input();
      return;
    }
    input_.commit(static_cast<size_t>(n));
  } else if (n == 0) {
    peer_eof_ = true;
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    close();  // ECONNRESET and friends: the peer is gone
    return;
  }
  process_input();
}

void Connection::process_input() {
  if (in_process_) return;
  in_process_ = true;
  input_.consume(deliver(input_.view()));
  in_process_ = false;
  finish_input();
}

// Hands each complete message at the front of `data` to the handler while
// the connection is open and not paused; returns the bytes used up.
size_t Connection::deliver(std::string_view data) {
  size_t used = 0;
  while (state_ == State::kOpen && !paused()) {
    const Frame f = next_frame(data.substr(used), options_.framing, options_.max_line, peer_eof_);
    if (f.kind == Frame::Kind::kNeedMore) break;
    if (f.kind == Frame::Kind::kTooLong) {
      if (on_too_long_) {
        on_too_long_(*this);
      } else {
        send(too_long_reply(options_.max_line));
      }
      close_after_flush();
      return data.size();  // nothing more is read from this client
    }
    if (on_message_) on_message_(*this, f.message);
    used += f.consumed;
  }
  return used;
}

void Connection::finish_input() {
  if (state_ == State::kOpen && peer_eof_ && !paused() && input_.empty()) {
    close_after_flush();  // the peer is done and every request is answered
    return;
  }
  input_.shrink_if_idle(kKeepIdleBuffer);
  update_interest();
}

void Connection::send(std::string_view bytes) {
  if (state_ == State::kClosed || bytes.empty()) return;
  // Queue now, write once at the end of this loop iteration: every reply to
  // a pipelined batch, or every broadcast a chat member gets in one
  // iteration, leaves in one send() instead of one each (like redis'
  // handleClientsWithPendingWrites). The loop runs deferred work before it
  // waits again, so this adds no latency.
  if (output_.empty() && !flush_scheduled_) {
    flush_scheduled_ = true;
    loop_.queue_flush(this);
  }
  output_.append(bytes);
  if (output_.size() >= options_.max_output) paused_ = true;
  update_interest();
}

void Connection::flush_now() {
  flush_scheduled_ = false;
  if (state_ != State::kClosed) handle_write();
}

void Connection::flush() {
  if (state_ != State::kClosed && !output_.empty()) handle_write();
}

void Connection::handle_write() {
  while (!output_.empty()) {
    const std::string_view pending = output_.view();
    const ssize_t n = socket_.send(pending.data(), pending.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      close();
      return;
    }
    output_.consume(static_cast<size_t>(n));
    progress_.sent(static_cast<size_t>(n));
  }
  if (output_.empty()) {
    output_.shrink_if_idle(kKeepIdleBuffer);
    if (state_ == State::kDraining) {
      close();
      return;
    }
    if (on_drained_) on_drained_(*this);
    if (state_ == State::kClosed) return;
  }
  if (paused_ && output_.size() < options_.max_output / 2) {
    paused_ = false;
    process_input();  // requests that waited in the input buffer
    return;
  }
  update_interest();
}

void Connection::pause_input() {
  held_ = true;
  update_interest();
}

void Connection::resume_input() {
  if (!held_) return;
  held_ = false;
  // From inside a message handler (in_process_), the delivery loop that
  // called it simply goes on; otherwise the messages that waited go now.
  if (in_process_) {
    update_interest();
  } else {
    process_input();
  }
}

void Connection::close_after_flush() {
  if (state_ != State::kOpen) return;
  state_ = State::kDraining;
  if (output_.empty()) {
    close();
    return;
  }
  update_interest();
}

void Connection::close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  loop_.unwatch(socket_.fd());
  socket_.close();
  interest_ = 0;
  if (on_close_) on_close_(*this);
}

void Connection::update_interest() {
  if (state_ == State::kClosed) return;
  uint32_t want = 0;
  if (state_ == State::kOpen && !peer_eof_ && !paused()) want |= EPOLLIN;
  if (!output_.empty()) want |= EPOLLOUT;
  // While a deferred flush is pending, EPOLLOUT would only wake us for
  // what that flush is about to write anyway.
  if (flush_scheduled_) want &= ~static_cast<uint32_t>(EPOLLOUT);
  if (want != interest_) {
    interest_ = want;
    loop_.modify(socket_.fd(), want);
  }
}

}  // namespace netlab::net
