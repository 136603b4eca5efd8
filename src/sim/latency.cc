#include "sim/latency.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ryuryo::sim {

// Values below 2^kSubBits have a bucket each; above, bucket (e + 1) << kSubBits | the kSubBits
// bits after the leading one, where e = bit width - kSubBits - 1.
int LatencyHistogram::BucketOf(uint64_t v) {
  v = std::min(v, kValueUsMax - 1);
  if (v < (uint64_t{1} << kSubBits)) return static_cast<int>(v);
  const int e = std::bit_width(v) - kSubBits - 1;
  return ((e + 1) << kSubBits) | static_cast<int>((v >> e) & ((1u << kSubBits) - 1));
}

uint64_t LatencyHistogram::UpperBound(int bucket) {
  if (bucket < (1 << kSubBits)) return static_cast<uint64_t>(bucket);
  const int e = (bucket >> kSubBits) - 1;
  const uint64_t mantissa = (uint64_t{1} << kSubBits) | (bucket & ((1u << kSubBits) - 1));
  return ((mantissa + 1) << e) - 1;
}

void LatencyHistogram::Record(uint64_t value_us) {
  ++buckets_[BucketOf(value_us)];
  ++count_;
  max_us_ = std::max(max_us_, value_us);
}

uint64_t LatencyHistogram::Percentile(double fraction) const {
  if (count_ == 0) return 0;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(fraction * count_)));
  if (rank >= count_) return max_us_;
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) return std::min(UpperBound(b), max_us_);
  }
  return max_us_;
}

}  // namespace ryuryo::sim
