// The bench latency histogram: bucket arithmetic and percentiles.
#include <gtest/gtest.h>

#include <cstdint>

#include "modes/bench/histogram.hpp"

namespace netlab::modes::bench {
namespace {

TEST(BenchHistogram, BucketsTileTheRangeWithoutGapsOrOverlap) {
  uint64_t expected_low = 0;
  for (size_t b = 0; b < 4000; ++b) {
    ASSERT_EQ(Histogram::bucket_low(b), expected_low) << "bucket " << b;
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_low(b)), b);
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_high(b)), b);
    expected_low = Histogram::bucket_high(b) + 1;
  }
}

TEST(BenchHistogram, EveryBucketIsWithinOnePercentOfItsValues) {
  for (uint64_t v : {1ull, 255ull, 256ull, 1000ull, 40'123ull, 999'999ull, 123'456'789ull,
                     (1ull << 40) + 12345}) {
    const size_t b = Histogram::bucket_of(v);
    EXPECT_LE(Histogram::bucket_low(b), v);
    EXPECT_GE(Histogram::bucket_high(b), v);
    const double width = static_cast<double>(Histogram::bucket_high(b) - Histogram::bucket_low(b));
    EXPECT_LE(width, static_cast<double>(v) / 100) << v;
  }
}

TEST(BenchHistogram, PercentilesOfAUniformSpread) {
  Histogram h;
  for (uint64_t us = 1; us <= 1000; ++us) h.record(us * 1000);
  EXPECT_NEAR(h.percentile_us(50), 500, 5);
  EXPECT_NEAR(h.percentile_us(90), 900, 9);
  EXPECT_NEAR(h.percentile_us(99), 990, 10);
  EXPECT_NEAR(h.percentile_us(99.9), 999, 10);
  EXPECT_DOUBLE_EQ(h.percentile_us(100), 1000);  // the true maximum
  EXPECT_NEAR(h.percentile_us(0), 1, 0.01);      // the minimum
}

TEST(BenchHistogram, SingleValueReadsBackExactly) {
  Histogram h;
  h.record(40'123);
  EXPECT_DOUBLE_EQ(h.percentile_us(50), 40.123);
  EXPECT_DOUBLE_EQ(h.percentile_us(99.9), 40.123);
}

TEST(BenchHistogram, EmptyIsZeroAndHugeValuesAreClamped) {
  Histogram h;
  EXPECT_EQ(h.percentile_us(50), 0);
  h.record(UINT64_MAX);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_GT(h.percentile_us(50), 0);
}

TEST(BenchHistogram, MergeAddsCountsAndKeepsExtremes) {
  Histogram a, b;
  for (int i = 0; i < 90; ++i) a.record(10'000);
  for (int i = 0; i < 10; ++i) b.record(1'000'000);
  a.merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_NEAR(a.percentile_us(50), 10, 0.1);
  EXPECT_NEAR(a.percentile_us(95), 1000, 10);
  EXPECT_DOUBLE_EQ(a.percentile_us(100), 1000);
}

}  // namespace
}  // namespace netlab::modes::bench
