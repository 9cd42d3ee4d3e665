#pragma once
// Connection: one accepted stream socket inside an EventLoop. Owns the socket,
// an input buffer cut into messages by the line codec, and an output buffer
// holding what the kernel has not taken yet.
//
// Lifetime: open -> draining (close_after_flush: no more reading, close once
// the output is written) -> closed. close() unwatches the fd and calls the
// close handler exactly once, but never destroys the Connection: its owner
// does that later (EventLoop::defer), because close() is usually reached from
// inside this object's own event handler.
//
// Writes are batched: send() queues, and the queue is written once at the
// end of the loop iteration (EventLoop::queue_flush).
//
// Reads go to the loop thread's shared scratch space; only an unfinished
// line is copied into the connection's own input buffer, so an idle
// connection holds no input memory at all.
//
// Backpressure: while the output buffer holds max_output bytes or more, the
// connection stops reading (a peer that never reads its replies cannot make
// us buffer without bound); reading resumes once the output falls under half.
//
// Progress deadline (ConnectionOptions::progress_timeout): the owner calls
// stalled() every ProgressDeadline::check_period() and closes the
// connection when it says so, in any state, draining included: a peer that
// neither sends nor takes our bytes cannot hold it for ever.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "net/address.hpp"
#include "net/buffer.hpp"
#include "net/event_loop.hpp"
#include "net/line_codec.hpp"
#include "net/progress_deadline.hpp"
#include "net/socket.hpp"

namespace netlab::net {

struct ConnectionOptions {
  Framing framing = Framing::kLine;
  size_t max_line = kDefaultMaxLine;
  size_t max_output = 1024 * 1024;
  // No progress (bytes read, or bytes the peer took) for this long: stalled()
  // says so. Zero: never.
  EventLoop::Clock::duration progress_timeout{0};
};

class Connection : private EventLoop::Flushable {
 public:
  using Id = uint64_t;
  // `message` is valid only during the call: it may point into the
  // thread's read scratch space, which the next read overwrites.
  using MessageHandler = std::function<void(Connection&, std::string_view message)>;
  using Handler = std::function<void(Connection&)>;
  enum class State { kOpen, kDraining, kClosed };

  Connection(EventLoop& loop, Socket socket, Address peer, Id id, ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void set_on_message(MessageHandler h) { on_message_ = std::move(h); }
  void set_on_close(Handler h) { on_close_ = std::move(h); }
  // A line over max_line arrived; the default replies with an error line.
  // Either way the connection then closes after flushing.
  void set_on_too_long(Handler h) { on_too_long_ = std::move(h); }
  // Everything queued has been written (called while still open): an owner
  // that stopped producing for this peer (its input paused) can go on.
  // The handler may send or close, but must not destroy the Connection.
  void set_on_drained(Handler h) { on_drained_ = std::move(h); }

  void start();  // begin reading
  void send(std::string_view bytes);
  void flush();  // write what is queued now instead of at the end of the iteration
  void close_after_flush();
  void close();
  // The owner has to wait (for another server, say) before it can take the
  // next message: none is delivered, nothing more is read and EOF does not
  // close, until resume_input() delivers what arrived meanwhile. Independent
  // of the output backpressure pause.
  void pause_input();
  void resume_input();

  Id id() const { return id_; }
  const Address& peer() const { return peer_; }
  State state() const { return state_; }
  bool is_open() const { return state_ == State::kOpen; }
  size_t output_size() const { return output_.size(); }
  size_t max_line() const { return options_.max_line; }
  // True when the connection, not yet closed, has made no progress for
  // options.progress_timeout (see ProgressDeadline). At most one system call,
  // and only for a connection where nothing moved since the last call.
  bool stalled(EventLoop::Clock::time_point now) {
    return state_ != State::kClosed && progress_.expired(now, socket_);
  }

 private:
  void handle_events(uint32_t events);
  void handle_read();
  void handle_write();
  void flush_now() override;  // the batched write, at the end of the iteration
  void process_input();
  size_t deliver(std::string_view data);
  void finish_input();
  void update_interest();
  bool paused() const { return paused_ || held_; }

  EventLoop& loop_;
  Socket socket_;
  Address peer_;
  Id id_;
  ConnectionOptions options_;
  State state_ = State::kOpen;
  bool peer_eof_ = false;
  bool paused_ = false;           // backpressure: the output is over max_output
  bool held_ = false;             // pause_input()
  bool in_process_ = false;       // guards against re-entering process_input()
  bool flush_scheduled_ = false;  // flush_now() is queued on the loop
  uint32_t interest_ = 0;
  Buffer input_;
  Buffer output_;
  ProgressDeadline progress_;
  MessageHandler on_message_;
  Handler on_close_;
  Handler on_too_long_;
  Handler on_drained_;
};

}  // namespace netlab::net
