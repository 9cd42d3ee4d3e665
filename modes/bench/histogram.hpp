#pragma once
// Histogram: latency counts in fixed log-linear buckets (the idea behind
// HdrHistogram): exact below 256 ns, then 128 buckets per power of two, so
// any recorded value is known within 0.8%. Recording is an index computation
// and an increment, with no allocation, so the generator can record every
// request. Each worker thread owns one; they are merged after the run.
#include <array>
#include <cstddef>
#include <cstdint>

namespace netlab::modes::bench {

class Histogram {
 public:
  void record(uint64_t ns);
  void merge(const Histogram& other);
  uint64_t count() const { return count_; }
  // The value (in microseconds) at or below which p percent of the recorded
  // values lie, p in [0, 100]; 0 when nothing was recorded.
  double percentile_us(double p) const;

  // Bucket arithmetic, public for the unit tests.
  static size_t bucket_of(uint64_t ns);
  static uint64_t bucket_low(size_t bucket);
  static uint64_t bucket_high(size_t bucket);  // inclusive

 private:
  static constexpr int kSubBits = 7;                   // 128 buckets per power of two
  static constexpr uint64_t kLinear = 2u << kSubBits;  // values below are exact
  static constexpr int kMaxBits = 42;                  // ~73 minutes in ns; larger is clamped
  static constexpr size_t kBuckets = kLinear + (kMaxBits - kSubBits - 1) * (kLinear / 2);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace netlab::modes::bench
