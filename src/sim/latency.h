// LatencyHistogram: response times in microseconds, kept in log-linear buckets (64 per power of
// two, so a percentile is within 1.6% of the true value) in constant memory, whatever the count.
//
// Thread-safety: not thread-safe (one owner).
#pragma once

#include <array>
#include <cstdint>

namespace ryuryo::sim {

class LatencyHistogram {
 public:
  // Values at or above this (about 73 minutes) are counted in the last bucket.
  static constexpr uint64_t kValueUsMax = uint64_t{1} << 32;

  void Record(uint64_t value_us);
  uint64_t count() const { return count_; }
  uint64_t max_us() const { return max_us_; }
  // The smallest recorded value v such that at least `fraction` (0..1) of the values are <= v,
  // rounded up to its bucket's upper bound (never above max_us()); 0 when empty.
  uint64_t Percentile(double fraction) const;

 private:
  static constexpr int kSubBits = 6;  // 64 buckets per power of two
  static constexpr int kBuckets = (32 - kSubBits + 1) << kSubBits;
  static int BucketOf(uint64_t value_us);
  static uint64_t UpperBound(int bucket);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t max_us_ = 0;
};

}  // namespace ryuryo::sim
