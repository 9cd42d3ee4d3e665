#pragma once
// Driver: runs one worker per thread (-t) and moves them through the phases
// of a run: setup (connect, log in), warmup, measure, stop. Workers poll the
// phase once per wakeup; the driver thread itself only sleeps, ticks the
// progress line and waits for SIGINT/SIGTERM, which stop the run early and
// still report what was measured.
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "modes/bench/histogram.hpp"
#include "modes/bench/options.hpp"
#include "modes/bench/report.hpp"

namespace netlab::modes::bench {

enum class Phase { kSetup, kWarmup, kMeasure, kStop };

// Counters of one worker. Only its own thread writes them; the driver reads
// `done` for the progress line and everything else after the join. Aligned
// so that workers never share a cache line.
struct alignas(64) WorkerStats {
  std::atomic<uint64_t> done{0};   // completions in any phase
  std::atomic<bool> ready{false};  // setup finished
  uint64_t measured = 0;           // completions while measuring
  uint64_t errors = 0;
  uint64_t lost = 0;
  uint64_t messages = 0;  // fanout: messages every member received
  uint64_t opened = 0;    // idle: connections opened and answered
  Histogram latency;
};

class Driver {
 public:
  explicit Driver(const Options& o);
  ~Driver();  // stops and joins the workers if still running
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  Phase phase() const { return phase_.load(std::memory_order_relaxed); }
  bool stopping() const { return phase() == Phase::kStop; }
  WorkerStats& stats(size_t worker) { return *stats_[worker]; }

  // rr, udp and fanout: starts body(worker) on every thread, then setup,
  // warmup and measurement; fills the measured part of `r`. A worker's
  // exception is rethrown here.
  void run_timed(const std::function<void(size_t)>& body, const char* unit, Result& r);

  // The steps run_timed is made of, for modes with phases of their own (idle).
  void start(const std::function<void(size_t)>& body);
  bool wait_ready();            // false if interrupted
  bool sleep_for(double secs);  // false if interrupted; ticks the progress line
  void set_phase(Phase p) { phase_.store(p, std::memory_order_relaxed); }
  void finish();  // stop, join, rethrow the first worker failure
  void merge_into(Result& r) const;

 private:
  bool wait_until(double deadline_s);  // monotonic seconds; false if interrupted or a worker failed
  void progress(double now_s);

  const Options& o_;
  std::atomic<Phase> phase_{Phase::kSetup};
  std::vector<std::unique_ptr<WorkerStats>> stats_;
  std::vector<std::thread> threads_;
  std::mutex failure_mutex_;
  std::exception_ptr failure_;
  std::atomic<bool> failed_{false};
  bool signalled_ = false;
  bool show_progress_ = false;
  const char* unit_ = "requests";
  double last_tick_s_ = 0;
  uint64_t last_done_ = 0;
  bool mask_saved_ = false;
  sigset_t saved_mask_{};
};

// CLOCK_MONOTONIC, the one clock every latency and phase is measured with.
uint64_t now_ns();
inline double now_s() {
  return static_cast<double>(now_ns()) / 1e9;
}

}  // namespace netlab::modes::bench
