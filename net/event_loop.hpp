#pragma once
// EventLoop: one thread's level-triggered epoll reactor, with timers and
// SIGINT/SIGTERM delivered as ordinary events (signalfd).
// The loop never owns the fds it watches (the Socket/Connection does); a
// handler may unwatch any fd, including its own, at any time: stale events for
// an fd that was unwatched (or unwatched and reused) in the same batch are
// dropped by a per-registration generation number.
#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <unordered_map>
#include <vector>

namespace netlab::net {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using IoHandler = std::function<void(uint32_t events)>;
  using TimerId = uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void watch(int fd, uint32_t events, IoHandler handler);
  void modify(int fd, uint32_t events);
  void unwatch(int fd);
  bool watching(int fd) const {
    return fd >= 0 && static_cast<size_t>(fd) < watches_.size() && watches_[fd] != nullptr;
  }

  TimerId run_after(std::chrono::milliseconds delay, std::function<void()> fn);
  TimerId run_every(std::chrono::milliseconds period, std::function<void()> fn);
  void cancel(TimerId id);

  // Runs fn after the current batch of events: the safe place to destroy
  // objects whose handlers are still on the stack.
  void defer(std::function<void()> fn);

  // An object with work to finish once at the end of this iteration (a
  // Connection's batched write). Queued by pointer rather than as a
  // std::function: this happens once per request, and must not allocate.
  class Flushable {
   public:
    virtual void flush_now() = 0;

   protected:
    ~Flushable() = default;

   private:
    friend class EventLoop;
    bool flush_queued_ = false;
  };
  // Queues f once until its flush_now() has run. Flushes run after the
  // iteration's events and timers, before deferred work.
  void queue_flush(Flushable* f);
  // Must be called before a queued f is destroyed.
  void unqueue_flush(Flushable* f);

  // Blocks SIGINT and SIGTERM for the process (so must be called before any
  // thread starts) and calls fn with the signal number when one arrives.
  void on_stop_signal(std::function<void(int signo)> fn);

  void run();   // until stop()
  void stop();  // run() returns after the current iteration
  bool stopping() const { return stop_requested_; }

 private:
  struct Watch {
    uint64_t generation;
    IoHandler handler;
  };
  struct Timer {
    std::chrono::milliseconds period;  // zero: one-shot
    std::function<void()> fn;
  };
  struct Due {
    Clock::time_point when;
    TimerId id;
    bool operator>(const Due& o) const { return when > o.when; }
  };

  int next_timeout_ms() const;
  void wait_and_dispatch();
  void run_due_timers();
  void run_deferred();

  int epoll_fd_;
  int signal_fd_ = -1;
  bool stop_requested_ = false;
  uint64_t next_generation_ = 1;
  // Indexed by fd (the kernel hands out the lowest free numbers, so this
  // stays dense): dispatch is an array access, not a hash lookup.
  // unique_ptr: a handler running in dispatch stays alive if it unwatches
  // itself; the retired registration is freed after the batch.
  std::vector<std::unique_ptr<Watch>> watches_;
  std::vector<std::unique_ptr<Watch>> retired_;
  std::vector<epoll_event> events_;
  TimerId next_timer_id_ = 1;
  std::unordered_map<TimerId, Timer> timers_;  // cancel() erases; the heap entry is skipped later
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  // Swapped, not reallocated, each iteration: both keep their capacity.
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> running_;
  std::vector<Flushable*> flush_queue_;
  std::vector<Flushable*> flushing_;
};

// Blocks SIGINT/SIGTERM in the calling thread (inherited by threads it starts
// and by fork()ed children) and returns a signalfd that becomes readable when
// one is pending. Used by the blocking server models, which poll() instead of
// running an EventLoop.
int open_stop_signalfd();

}  // namespace netlab::net
