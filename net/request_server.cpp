#include "net/request_server.hpp"

#include <algorithm>
#include <memory>
#include <unordered_map>

#include "net/acceptor.hpp"
#include "net/connection.hpp"
#include "net/event_loop.hpp"
#include "net/log.hpp"
#include "net/progress_deadline.hpp"
#include "net/resource_limits.hpp"
#include "net/trace.hpp"

namespace netlab::net {

namespace {
// After SIGTERM, clients get this long to take their last replies.
constexpr auto kShutdownGrace = std::chrono::seconds(2);

class ReactorServer {
 public:
  ReactorServer(const RequestServerOptions& options, const RequestHandler& handler,
                Listener& listener)
      : options_(options),
        handler_(handler),
        acceptor_(loop_, listener,
                  [this](Socket s, const Address& peer) { accept(std::move(s), peer); }) {
    loop_.on_stop_signal([this](int) { shut_down(); });
    if (progress_timeout_ > EventLoop::Clock::duration::zero()) {
      // One sweep over every connection per period, rather than a timer each:
      // the I/O path then never touches a timer (see ProgressDeadline).
      const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(
          ProgressDeadline::check_period(progress_timeout_));
      loop_.run_every(period, [this] { close_stalled(); });
    }
  }

  int run() {
    loop_.run();
    return 0;
  }

 private:
  void accept(Socket socket, const Address& peer) {
    if (!options_.access.permits(peer)) {
      Log::debug("denied {}", peer.to_string());
      return;  // the socket closes here
    }
    if (options_.max_clients > 0 && conns_.size() >= options_.max_clients) {
      Log::debug("refused {}: server full", peer.to_string());
      socket.send(kServerFullReply.data(), kServerFullReply.size());
      return;
    }
    socket.set_nodelay();
    const Connection::Id id = next_id_++;
    ConnectionOptions copts;
    copts.framing = options_.framing;
    copts.max_line = options_.max_line;
    copts.progress_timeout = progress_timeout_;
    auto conn = std::make_unique<Connection>(loop_, std::move(socket), peer, id, copts);
    conn->set_on_message([this](Connection& c, std::string_view message) {
      if (reply_bytes(handler_, message, options_.framing, reply_)) c.send(reply_);
      if (options_.one_shot) c.close_after_flush();
    });
    conn->set_on_close([this](Connection& c) {
      Log::debug("{} disconnected", c.peer().to_string());
      // Destroying it here would pull the object out from under its own handler.
      loop_.defer([this, id = c.id()] {
        conns_.erase(id);
        if (shutting_down_ && conns_.empty()) loop_.stop();
      });
    });
    Log::debug("connection from {}", peer.to_string());
    conn->start();
    conns_.emplace(id, std::move(conn));
  }

  void close_stalled() {
    const auto now = EventLoop::Clock::now();
    for (auto& [id, conn] : conns_) {
      if (conn->stalled(now)) {
        Log::debug("{} made no progress for {}s: closing", conn->peer().to_string(),
                   options_.idle_timeout_s);
        conn->close();  // its on_close only defers the erase: the walk goes on safely
      }
    }
  }

  void shut_down() {
    if (shutting_down_) return;
    shutting_down_ = true;
    Log::info("shutting down");
    acceptor_.stop();
    for (auto& [id, conn] : conns_) conn->close_after_flush();
    if (conns_.empty()) loop_.stop();
    loop_.run_after(kShutdownGrace, [this] { loop_.stop(); });
  }

  const RequestServerOptions& options_;
  const RequestHandler& handler_;
  const EventLoop::Clock::duration progress_timeout_ = progress_timeout(options_);
  EventLoop loop_;
  Acceptor acceptor_;
  std::unordered_map<Connection::Id, std::unique_ptr<Connection>> conns_;
  Connection::Id next_id_ = 1;
  bool shutting_down_ = false;
  std::string reply_;  // reused for every reply: no allocation per request
};
}  // namespace

EventLoop::Clock::duration progress_timeout(const RequestServerOptions& options) {
  // Past about 292 years nanoseconds overflow; a century is never anyway.
  constexpr double kLongest = 100.0 * 365 * 24 * 3600;
  const double s = options.idle_timeout_s;
  if (!(s > 0)) return EventLoop::Clock::duration::zero();  // NaN included
  // At least one tick: a positive timeout under a nanosecond must not
  // become zero, which means "never".
  return std::max(EventLoop::Clock::duration(1),
                  std::chrono::duration_cast<EventLoop::Clock::duration>(
                      std::chrono::duration<double>(std::min(s, kLongest))));
}

bool reply_bytes(const RequestHandler& handler, std::string_view message, Framing framing,
                 std::string& out) {
  out.clear();
  if (!handler(message, out)) return false;
  if (framing == Framing::kLine) out.push_back('\n');
  return true;
}

int run_request_server(const RequestServerOptions& options, const RequestHandler& handler) {
  // --trace: say which thread or process of the model made each call.
  Trace::set_ids(options.model == Model::kThread ? Trace::Ids::kThread
                 : options.model == Model::kFork ? Trace::Ids::kProcess
                                                 : Trace::Ids::kNone);
  raise_fd_limit();
  Listener listener = Listener::open(options.endpoint, Transport::kTcp);
  if (options.model != Model::kReactor) return run_blocking_server(options, handler, listener);
  ReactorServer server(options, handler, listener);
  listener.announce();
  return server.run();
}

}  // namespace netlab::net
