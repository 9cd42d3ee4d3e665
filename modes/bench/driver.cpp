#include "modes/bench/driver.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "net/log.hpp"

namespace netlab::modes::bench {

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

namespace {
// How often the driver looks at the workers (failures, readiness).
constexpr double kPollS = 0.05;

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

Driver::Driver(const Options& o) : o_(o) {
  for (size_t i = 0; i < o.threads; ++i) stats_.push_back(std::make_unique<WorkerStats>());
  show_progress_ = !o.json && isatty(STDOUT_FILENO);
}

Driver::~Driver() {
  set_phase(Phase::kStop);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (mask_saved_) pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
}

void Driver::start(const std::function<void(size_t)>& body) {
  // Blocked before the threads start, so they inherit the mask and the
  // signals reach only the driver's sigtimedwait.
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, &saved_mask_);
  mask_saved_ = true;
  for (size_t i = 0; i < o_.threads; ++i) {
    threads_.emplace_back([this, body, i] {
      try {
        body(i);
      } catch (...) {
        std::lock_guard lock(failure_mutex_);
        if (!failure_) failure_ = std::current_exception();
        failed_ = true;
      }
    });
  }
}

bool Driver::wait_until(double deadline_s) {
  const sigset_t set = stop_signals();
  for (;;) {
    if (failed_) return false;
    const double now = now_s();
    if (show_progress_ && now - last_tick_s_ >= 1.0) progress(now);
    if (now >= deadline_s) return true;
    double wait = std::min(deadline_s - now, kPollS);
    if (show_progress_) wait = std::min(wait, last_tick_s_ + 1.0 - now);
    wait = std::max(wait, 0.0);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(wait);
    ts.tv_nsec = static_cast<long>((wait - std::floor(wait)) * 1e9);
    if (sigtimedwait(&set, nullptr, &ts) > 0) {
      signalled_ = true;
      return false;
    }
  }
}

bool Driver::wait_ready() {
  last_tick_s_ = now_s();
  for (;;) {
    const bool all =
        std::all_of(stats_.begin(), stats_.end(), [](const auto& s) { return s->ready.load(); });
    if (all) return true;
    if (!wait_until(now_s() + kPollS)) return false;
  }
}

bool Driver::sleep_for(double secs) {
  return wait_until(now_s() + secs);
}

void Driver::progress(double now) {
  uint64_t done = 0;
  for (const auto& s : stats_) done += s->done.load(std::memory_order_relaxed);
  if (last_tick_s_ > 0 && now > last_tick_s_) {
    const char* what = phase() == Phase::kSetup    ? " (setting up)"
                       : phase() == Phase::kWarmup ? " (warmup)"
                                                   : "";
    fmt::print("{}: {:.0f} {}/s{}\n", o_.mode,
               static_cast<double>(done - last_done_) / (now - last_tick_s_), unit_, what);
    std::fflush(stdout);
  }
  last_done_ = done;
  last_tick_s_ = now;
}

void Driver::finish() {
  set_phase(Phase::kStop);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  if (failure_) std::rethrow_exception(failure_);
}

void Driver::merge_into(Result& r) const {
  for (const auto& s : stats_) {
    r.requests += s->measured;
    r.errors += s->errors;
    r.lost += s->lost;
    r.messages += s->messages;
    r.opened += s->opened;
    r.latency.merge(s->latency);
  }
}

void Driver::run_timed(const std::function<void(size_t)>& body, const char* unit, Result& r) {
  unit_ = unit;
  start(body);
  if (wait_ready()) {
    set_phase(Phase::kWarmup);
    if (o_.warmup_s > 0) net::Log::debug("set up; warming up for {} s", o_.warmup_s);
    if (sleep_for(o_.warmup_s)) {
      set_phase(Phase::kMeasure);
      net::Log::debug("measuring for {} s", o_.duration_s);
      const double started = now_s();
      sleep_for(o_.duration_s);
      set_phase(Phase::kStop);
      // Interrupted early: the time actually measured.
      r.duration_s = now_s() - started;
    }
  }
  finish();
  merge_into(r);
}

}  // namespace netlab::modes::bench
