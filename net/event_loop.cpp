#include "net/event_loop.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "net/log.hpp"
#include "net/trace.hpp"

namespace netlab::net {

namespace {
constexpr size_t kInitialEvents = 256;

epoll_event make_event(int fd, uint32_t events, uint64_t generation) {
  epoll_event ev{};
  ev.events = events;
  // High 32 bits: generation, low 32 bits: fd.
  ev.data.u64 = (generation << 32) | static_cast<uint32_t>(fd);
  return ev;
}
}  // namespace

int open_stop_signalfd() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot block signals");
  }
  const int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create signalfd");
  return fd;
}

EventLoop::EventLoop() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)), events_(kInitialEvents) {
  if (Trace::all()) Trace::epoll_create(epoll_fd_);
  if (epoll_fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "cannot create epoll instance");
}

EventLoop::~EventLoop() {
  if (signal_fd_ >= 0) ::close(signal_fd_);
  ::close(epoll_fd_);
}

void EventLoop::watch(int fd, uint32_t events, IoHandler handler) {
  const uint64_t gen = next_generation_++;
  epoll_event ev = make_event(fd, events, gen);
  const int rc = epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  if (Trace::all()) Trace::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, events, rc);
  if (rc < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot watch fd " + std::to_string(fd));
  }
  if (static_cast<size_t>(fd) >= watches_.size()) watches_.resize(static_cast<size_t>(fd) + 1);
  watches_[fd] = std::make_unique<Watch>(Watch{gen, std::move(handler)});
}

void EventLoop::modify(int fd, uint32_t events) {
  if (!watching(fd)) return;
  epoll_event ev = make_event(fd, events, watches_[fd]->generation);
  const int rc = epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  if (Trace::all()) Trace::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, events, rc);
}

void EventLoop::unwatch(int fd) {
  if (!watching(fd)) return;
  const int rc = epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  if (Trace::all()) Trace::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, 0, rc);
  retired_.push_back(std::move(watches_[fd]));
}

EventLoop::TimerId EventLoop::run_after(std::chrono::milliseconds delay, std::function<void()> fn) {
  const TimerId id = next_timer_id_++;
  timers_[id] = Timer{std::chrono::milliseconds(0), std::move(fn)};
  due_.push(Due{Clock::now() + delay, id});
  return id;
}

EventLoop::TimerId EventLoop::run_every(std::chrono::milliseconds period,
                                        std::function<void()> fn) {
  const TimerId id = next_timer_id_++;
  timers_[id] = Timer{period, std::move(fn)};
  due_.push(Due{Clock::now() + period, id});
  return id;
}

void EventLoop::cancel(TimerId id) {
  timers_.erase(id);
}

void EventLoop::defer(std::function<void()> fn) {
  deferred_.push_back(std::move(fn));
}

void EventLoop::queue_flush(Flushable* f) {
  if (f->flush_queued_) return;
  f->flush_queued_ = true;
  flush_queue_.push_back(f);
}

void EventLoop::unqueue_flush(Flushable* f) {
  if (!f->flush_queued_) return;
  f->flush_queued_ = false;
  // Rare (destroyed with a write still queued), so a scan is fine.
  for (auto* queue : {&flush_queue_, &flushing_}) {
    for (auto& queued : *queue) {
      if (queued == f) queued = nullptr;
    }
  }
}

void EventLoop::on_stop_signal(std::function<void(int)> fn) {
  signal_fd_ = open_stop_signalfd();
  watch(signal_fd_, EPOLLIN, [this, fn = std::move(fn)](uint32_t) {
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
      fn(static_cast<int>(info.ssi_signo));
    }
  });
}

void EventLoop::stop() {
  stop_requested_ = true;
}

// One iteration = wait, dispatch I/O, run due timers, run deferred work
// (which reaps connections closed during dispatch).
void EventLoop::run() {
  stop_requested_ = false;
  while (!stop_requested_) {
    wait_and_dispatch();
    run_due_timers();
    run_deferred();
  }
  run_deferred();
}

int EventLoop::next_timeout_ms() const {
  if (!deferred_.empty() || !flush_queue_.empty()) return 0;
  if (due_.empty()) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(due_.top().when - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

void EventLoop::wait_and_dispatch() {
  const int timeout_ms = next_timeout_ms();
  const int n = epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (Trace::all()) Trace::epoll_wait(epoll_fd_, timeout_ms, n);
  if (n < 0) {
    if (errno == EINTR) return;
    throw std::system_error(errno, std::generic_category(), "epoll_wait failed");
  }
  for (int i = 0; i < n; ++i) {
    const int fd = static_cast<int>(events_[i].data.u64 & 0xffffffffu);
    const uint64_t gen = events_[i].data.u64 >> 32;
    if (!watching(fd) || (watches_[fd]->generation & 0xffffffffu) != gen) continue;
    Watch* w = watches_[fd].get();  // survives unwatch() until retired_ is cleared
    w->handler(events_[i].events);
  }
  retired_.clear();
  if (static_cast<size_t>(n) == events_.size()) events_.resize(events_.size() * 2);
}

void EventLoop::run_due_timers() {
  const auto now = Clock::now();
  while (!due_.empty() && due_.top().when <= now) {
    const Due due = due_.top();
    due_.pop();
    auto it = timers_.find(due.id);
    if (it == timers_.end()) continue;  // cancelled
    std::function<void()> fn = it->second.fn;
    if (it->second.period.count() > 0) {
      due_.push(Due{now + it->second.period, due.id});
    } else {
      timers_.erase(it);
    }
    fn();
  }
}

void EventLoop::run_deferred() {
  while (!flush_queue_.empty() || !deferred_.empty()) {
    flushing_.swap(flush_queue_);
    // By index: unqueue_flush() may null entries while we walk them.
    for (size_t i = 0; i < flushing_.size(); ++i) {
      if (Flushable* f = flushing_[i]) {
        f->flush_queued_ = false;
        f->flush_now();
      }
    }
    flushing_.clear();
    running_.swap(deferred_);
    for (auto& fn : running_) fn();
    running_.clear();
  }
}

}  // namespace netlab::net
