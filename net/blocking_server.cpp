// The thread, fork and iterative models of the request server. They are the
// tutorial's designs, kept simple on purpose so users can compare them with
// the reactor; each client is served by serve_session() with poll()-based
// blocking I/O that also watches a stop fd, so SIGTERM ends them promptly.
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <set>
#include <system_error>
#include <thread>

#include "net/blocking_io.hpp"
#include "net/buffer.hpp"
#include "net/event_loop.hpp"
#include "net/log.hpp"
#include "net/progress_deadline.hpp"
#include "net/request_server.hpp"
#include "net/trace.hpp"

namespace netlab::net {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
constexpr auto kShutdownGrace = std::chrono::seconds(2);
constexpr auto kPauseWhenOutOfFds = std::chrono::milliseconds(100);
// --max-clients 0 means "no limit" for the reactor, whose clients cost a few
// KiB each. A thread or a process per client is a different price: cap them
// so one remote peer cannot exhaust the host's threads or processes.
constexpr size_t kDefaultBlockingMaxClients = 1024;

size_t client_limit(const RequestServerOptions& o) {
  return o.max_clients > 0 ? o.max_clients : kDefaultBlockingMaxClients;
}

// Owns a plain fd (signalfd, eventfd).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot create fd");
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Serves one client until it leaves, breaks a rule, SIGTERM comes, or it
// makes no progress for --idle-timeout: every wait, for a request or in a
// send, is against one progress deadline.
void serve_session(Socket& client, const Address& peer, const RequestServerOptions& o,
                   const RequestHandler& handler, int stop_fd) {
  Buffer input;
  std::string reply;
  bool eof = false;
  ProgressDeadline progress(progress_timeout(o), SteadyClock::now());
  const auto stalled = [&] {
    Log::debug("{} made no progress for {}s: closing", peer.to_string(), o.idle_timeout_s);
  };
  for (;;) {
    for (;;) {
      const Frame f = next_frame(input.view(), o.framing, o.max_line, eof);
      if (f.kind == Frame::Kind::kNeedMore) break;
      if (f.kind == Frame::Kind::kTooLong) {
        send_all(client, too_long_reply(o.max_line), stop_fd,
                 Deadline::after(std::chrono::seconds(1)));
        return;
      }
      if (reply_bytes(handler, f.message, o.framing, reply)) {
        const IoResult sent = send_all(client, reply, stop_fd, progress);
        if (sent == IoResult::kTimedOut) stalled();
        if (sent != IoResult::kOk) return;
      }
      input.consume(f.consumed);
      if (o.one_shot) return;
    }
    if (eof) return;
    const WaitResult w = wait_for(client, POLLIN, stop_fd, progress);
    if (w == WaitResult::kTimedOut) stalled();
    if (w != WaitResult::kReady) return;
    const ssize_t n = client.recv(input.prepare(kReadChunk), kReadChunk);
    if (n > 0) {
      input.commit(static_cast<size_t>(n));
      progress.received(static_cast<size_t>(n));
    } else if (n == 0) {
      eof = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      return;
    }
  }
}

// Waits for a connection on any listening socket, or a stop/child signal.
// Shared by the three blocking models.
class AcceptWaiter {
 public:
  AcceptWaiter(Listener& listener, int stop_fd, int extra_fd = -1)
      : listener_(listener), stop_fd_(stop_fd), extra_fd_(extra_fd) {}

  enum class Event { kStop, kExtra, kAccepted };
  struct Result {
    Event event;
    Socket socket;
    Address peer;
  };

  Result next() {
    for (;;) {
      std::vector<pollfd> fds = {{stop_fd_, POLLIN, 0}, {extra_fd_, POLLIN, 0}};
      const bool paused = SteadyClock::now() < paused_until_;
      if (!paused) {
        for (Socket& s : listener_.sockets()) fds.push_back({s.fd(), POLLIN, 0});
      }
      const int timeout = paused ? 100 : -1;
      const int n = ::poll(fds.data(), fds.size(), timeout);
      if (Trace::all()) Trace::poll(fds.data(), fds.size(), timeout, n);
      if (n < 0 && errno != EINTR) {
        throw std::system_error(errno, std::generic_category(), "poll failed");
      }
      if (fds[0].revents & POLLIN) return {Event::kStop, Socket(), Address()};
      if (extra_fd_ >= 0 && (fds[1].revents & POLLIN)) return {Event::kExtra, Socket(), Address()};
      for (size_t i = 2; i < fds.size(); ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        Socket& listening = listener_.sockets()[i - 2];
        Result r{Event::kAccepted, Socket(), Address()};
        r.socket = listening.accept(r.peer);
        if (r.socket.valid()) return r;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR)
          continue;
        // EMFILE, ENFILE, ENOBUFS, ...: retrying at once would spin.
        const auto now = SteadyClock::now();
        if (now - last_error_log_ >= std::chrono::seconds(1)) {
          last_error_log_ = now;
          Log::error("cannot accept: {}: pausing", std::strerror(errno));
        }
        paused_until_ = now + kPauseWhenOutOfFds;
      }
    }
  }

 private:
  Listener& listener_;
  int stop_fd_;
  int extra_fd_;
  SteadyClock::time_point paused_until_{};
  SteadyClock::time_point last_error_log_{};
};

// Access and capacity checks shared by the models; true when the client may stay.
bool admit(Socket& client, const Address& peer, const RequestServerOptions& o, size_t active) {
  if (!o.access.permits(peer)) {
    Log::debug("denied {}", peer.to_string());
    return false;
  }
  if (active >= client_limit(o)) {
    Log::debug("refused {}: server full", peer.to_string());
    client.send(kServerFullReply.data(), kServerFullReply.size());
    return false;
  }
  Log::debug("connection from {}", peer.to_string());
  return true;
}

int run_iterative(const RequestServerOptions& o, const RequestHandler& handler,
                  Listener& listener) {
  Fd stop(open_stop_signalfd());
  AcceptWaiter waiter(listener, stop.get());
  listener.announce();
  for (;;) {
    auto r = waiter.next();
    if (r.event == AcceptWaiter::Event::kStop) break;
    if (r.event != AcceptWaiter::Event::kAccepted || !admit(r.socket, r.peer, o, 0)) continue;
    serve_session(r.socket, r.peer, o, handler, stop.get());
    Log::debug("{} disconnected", r.peer.to_string());
  }
  Log::info("shutting down");
  return 0;
}

int run_threaded(const RequestServerOptions& o, const RequestHandler& handler, Listener& listener) {
  Fd stop(open_stop_signalfd());  // block signals before the first thread starts
  Fd stop_workers(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<Worker> workers;  // std::list: a Worker must not move while its thread runs
  auto reap = [&workers] {
    for (auto it = workers.begin(); it != workers.end();) {
      if (it->done) {
        it->thread.join();
        it = workers.erase(it);
      } else {
        ++it;
      }
    }
  };
  // However this function is left (even by an exception), every worker is
  // told to stop and joined first: a std::thread destroyed while running
  // would terminate the process.
  struct StopAndJoin {
    std::list<Worker>& workers;
    int stop_fd;
    ~StopAndJoin() {
      const uint64_t one = 1;
      if (::write(stop_fd, &one, sizeof(one)) < 0)
        Log::error("cannot stop workers: {}", std::strerror(errno));
      for (Worker& w : workers) w.thread.join();
    }
  } stop_and_join{workers, stop_workers.get()};
  AcceptWaiter waiter(listener, stop.get());
  listener.announce();
  for (;;) {
    auto r = waiter.next();
    if (r.event == AcceptWaiter::Event::kStop) break;
    reap();
    if (r.event != AcceptWaiter::Event::kAccepted || !admit(r.socket, r.peer, o, workers.size()))
      continue;
    Worker& w = workers.emplace_back();
    try {
      w.thread = std::thread([&o, &handler, &w, fd = stop_workers.get(),
                              client = std::move(r.socket), peer = r.peer]() mutable {
        serve_session(client, peer, o, handler, fd);
        client.close();
        Log::debug("{} disconnected", peer.to_string());
        w.done = true;
      });
    } catch (const std::system_error& e) {
      // Out of threads or memory: refuse this client, keep serving the others.
      Log::error("cannot start a thread for {}: {}", r.peer.to_string(), e.what());
      workers.pop_back();  // the client's socket went with the failed thread: it sees a close
    }
  }
  Log::info("shutting down");
  listener.close();
  return 0;
}

int run_forking(const RequestServerOptions& o, const RequestHandler& handler, Listener& listener) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  Fd child_exited(signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC));
  Fd stop(open_stop_signalfd());
  std::set<pid_t> children;
  auto reap = [&children, &child_exited] {
    signalfd_siginfo info;
    while (::read(child_exited.get(), &info, sizeof(info)) > 0) {
    }
    pid_t pid;
    while ((pid = waitpid(-1, nullptr, WNOHANG)) > 0) children.erase(pid);
  };
  AcceptWaiter waiter(listener, stop.get(), child_exited.get());
  listener.announce();
  for (;;) {
    auto r = waiter.next();
    if (r.event == AcceptWaiter::Event::kStop) break;
    if (r.event == AcceptWaiter::Event::kExtra) {
      reap();
      continue;
    }
    if (!admit(r.socket, r.peer, o, children.size())) continue;
    const pid_t pid = fork();
    if (pid < 0) {
      Log::error("cannot fork: {}", std::strerror(errno));
      continue;
    }
    if (pid == 0) {
      // Child: serve this one client. SIGINT/SIGTERM stay blocked and arrive
      // on the inherited signalfd, which reads the child's own signals.
      listener.close();
      serve_session(r.socket, r.peer, o, handler, stop.get());
      r.socket.close();
      Log::debug("{} disconnected", r.peer.to_string());
      _exit(0);  // no destructors or atexit handlers of the parent's state
    }
    children.insert(pid);
  }
  Log::info("shutting down");
  listener.close();
  for (pid_t pid : children) kill(pid, SIGTERM);
  const Deadline grace = Deadline::after(kShutdownGrace);
  while (!children.empty()) {
    if (wait_for(child_exited.get(), POLLIN, -1, grace) == WaitResult::kTimedOut) {
      for (pid_t pid : children) kill(pid, SIGKILL);
      for (pid_t pid : children) waitpid(pid, nullptr, 0);
      break;
    }
    reap();
  }
  return 0;
}
}  // namespace

int run_blocking_server(const RequestServerOptions& options, const RequestHandler& handler,
                        Listener& listener) {
  switch (options.model) {
    case Model::kIterative:
      return run_iterative(options, handler, listener);
    case Model::kThread:
      return run_threaded(options, handler, listener);
    case Model::kFork:
      return run_forking(options, handler, listener);
    case Model::kReactor:
      break;
  }
  throw std::logic_error("run_blocking_server: reactor is not a blocking model");
}

}  // namespace netlab::net
