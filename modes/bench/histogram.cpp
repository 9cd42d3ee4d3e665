#include "modes/bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace netlab::modes::bench {

// Layout: buckets [0, 256) hold 0..255 ns exactly. Above, a value with its
// highest set bit at position b (b >= 8) is shifted right by s = b - 7 so that
// its top 8 bits m lie in [128, 256); it lands in bucket 256 + (s - 1) * 128 +
// (m - 128), which covers [m << s, (m + 1) << s).
size_t Histogram::bucket_of(uint64_t ns) {
  if (ns < kLinear) return static_cast<size_t>(ns);
  const int top = std::bit_width(ns) - 1;
  if (top >= kMaxBits) return kBuckets - 1;
  const int shift = top - kSubBits;
  const uint64_t mantissa = ns >> shift;
  return static_cast<size_t>(kLinear + static_cast<uint64_t>(shift - 1) * (kLinear / 2) +
                             (mantissa - kLinear / 2));
}

uint64_t Histogram::bucket_low(size_t bucket) {
  if (bucket < kLinear) return bucket;
  const uint64_t above = bucket - kLinear;
  const int shift = static_cast<int>(above / (kLinear / 2)) + 1;
  const uint64_t mantissa = above % (kLinear / 2) + kLinear / 2;
  return mantissa << shift;
}

uint64_t Histogram::bucket_high(size_t bucket) {
  if (bucket < kLinear) return bucket;
  const int shift = static_cast<int>((bucket - kLinear) / (kLinear / 2)) + 1;
  return bucket_low(bucket) + (uint64_t{1} << shift) - 1;
}

void Histogram::record(uint64_t ns) {
  ++counts_[bucket_of(ns)];
  ++count_;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

double Histogram::percentile_us(double p) const {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(p / 100.0 * static_cast<double>(count_));
  const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(wanted), 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    // The bucket's midpoint, kept within what was actually recorded so that
    // p100 is the true maximum and a single sample reads back exactly.
    const uint64_t mid = bucket_low(i) + (bucket_high(i) - bucket_low(i)) / 2;
    return static_cast<double>(std::clamp(mid, min_, max_)) / 1000.0;
  }
  return static_cast<double>(max_) / 1000.0;
}

}  // namespace netlab::modes::bench
