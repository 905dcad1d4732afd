// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace aimass::core {

/// How long requests took, in fixed buckets: what Prometheus' histogram_quantile() (and the
/// console's served-state page) turn into latency percentiles, which the cumulative durations
/// of the statistics extension cannot give.
///
/// The bounds are fixed (kBoundsNs, 10 µs to 10 s, three per decade: a small model answers in
/// tens of microseconds inside the runtime), so every version of every model exports the same
/// `le` labels and a dashboard can sum them. Recording is a search over 19 bounds and one
/// increment.
///
/// Threading: not synchronised; the owner (VersionStats) records and copies under its mutex.
class LatencyHistogram {
 public:
  /// The upper bounds of the finite buckets, in nanoseconds, ascending; one more bucket (+Inf)
  /// holds the rest.
  static constexpr std::array<std::uint64_t, 19> kBoundsNs = {
      10'000,        25'000,        50'000,        100'000,       250'000,
      500'000,       1'000'000,     2'500'000,     5'000'000,     10'000'000,
      25'000'000,    50'000'000,    100'000'000,   250'000'000,   500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

  void record(std::uint64_t ns);

  /// Observations in bucket `i` alone (not cumulative); i == kBoundsNs.size() is +Inf.
  std::uint64_t bucket(std::size_t i) const { return counts_[i]; }
  std::uint64_t count() const { return count_; }
  std::uint64_t sumNs() const { return sum_ns_; }

  /// Appends the `_bucket` (cumulative, with `le` in seconds and a final +Inf), `_sum` (seconds)
  /// and `_count` lines of `metric` with the `labels` (already escaped, without braces).
  void appendPrometheus(std::string& out, std::string_view metric, std::string_view labels) const;

 private:
  std::array<std::uint64_t, kBoundsNs.size() + 1> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ns_ = 0;
};

}  // namespace aimass::core
