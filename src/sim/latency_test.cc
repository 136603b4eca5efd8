#include "sim/latency.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ryuryo::sim {
namespace {

TEST(LatencyHistogramTest, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.5), 0u);
  EXPECT_EQ(h.max_us(), 0u);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 50; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0.5), 25u);
  EXPECT_EQ(h.Percentile(0.9), 45u);
  EXPECT_EQ(h.Percentile(1.0), 50u);
  EXPECT_EQ(h.max_us(), 50u);
}

TEST(LatencyHistogramTest, PercentilesWithinOnePointSixPercent) {
  LatencyHistogram h;
  std::vector<uint64_t> values;
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 100000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const uint64_t v = 50 + x % 2'000'000;
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double f : {0.5, 0.9, 0.99, 0.999}) {
    const uint64_t exact = values[static_cast<size_t>(f * values.size()) - 1];
    const uint64_t got = h.Percentile(f);
    EXPECT_GE(got, exact) << f;
    EXPECT_LE(static_cast<double>(got), exact * 1.016) << f;
  }
  EXPECT_EQ(h.Percentile(1.0), values.back());
  EXPECT_EQ(h.count(), values.size());
}

TEST(LatencyHistogramTest, HugeValuesLandInTheLastBucket) {
  LatencyHistogram h;
  h.Record(LatencyHistogram::kValueUsMax * 4);
  h.Record(10);
  EXPECT_EQ(h.Percentile(0.5), 10u);
  EXPECT_EQ(h.Percentile(1.0), LatencyHistogram::kValueUsMax * 4);
}

}  // namespace
}  // namespace ryuryo::sim
