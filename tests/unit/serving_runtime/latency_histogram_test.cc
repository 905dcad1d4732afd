// SPDX-License-Identifier: Apache-2.0
// The serving runtime's latency histogram (core/src/latency_histogram.h): which bucket a
// duration lands in (a bound is inclusive, as Prometheus' `le` says) and the exposition lines.
#include "latency_histogram.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

TEST(LatencyHistogramTest, ADurationOnABoundCountsInThatBucketAndLongerOnesInTheNext) {
  LatencyHistogram h;
  h.record(0);               // first bucket (le 0.00001)
  h.record(10'000);          // exactly 10 µs: still the first
  h.record(10'001);          // just over: the second (le 0.000025)
  h.record(10'000'000'000);  // exactly 10 s: the last finite bucket
  h.record(10'000'000'001);  // +Inf
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(LatencyHistogram::kBoundsNs.size() - 1), 1u);
  EXPECT_EQ(h.bucket(LatencyHistogram::kBoundsNs.size()), 1u);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.sumNs(), 10'000u + 10'001u + 10'000'000'000u + 10'000'000'001u);
}

TEST(LatencyHistogramTest, TheExpositionIsCumulativeWithSecondsBoundsAndAnInfiniteBucket) {
  LatencyHistogram h;
  h.record(300'000);    // le 0.0005
  h.record(2'000'000);  // le 0.0025
  h.record(2'000'000);
  std::string out;
  h.appendPrometheus(out, "m", "model=\"a\"");
  EXPECT_THAT(out, HasSubstr("m_bucket{model=\"a\",le=\"0.00001\"} 0\n"));
  EXPECT_THAT(out, HasSubstr("m_bucket{model=\"a\",le=\"0.0001\"} 0\n"));
  EXPECT_THAT(out, HasSubstr("m_bucket{model=\"a\",le=\"0.00025\"} 0\n"));
  EXPECT_THAT(out, HasSubstr("m_bucket{model=\"a\",le=\"0.0005\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("m_bucket{model=\"a\",le=\"0.001\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("m_bucket{model=\"a\",le=\"0.0025\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("m_bucket{model=\"a\",le=\"10\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("m_bucket{model=\"a\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("m_sum{model=\"a\"} 0.0043\n"));
  EXPECT_THAT(out, HasSubstr("m_count{model=\"a\"} 3\n"));
  // 19 finite buckets, +Inf, sum and count.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 22);
}

TEST(LatencyHistogramTest, WithoutLabelsTheLinesHaveNoEmptyBraces) {
  LatencyHistogram h;
  std::string out;
  h.appendPrometheus(out, "m", "");
  EXPECT_THAT(out, HasSubstr("m_bucket{le=\"+Inf\"} 0\n"));
  EXPECT_THAT(out, HasSubstr("m_sum 0\n"));
  EXPECT_THAT(out, HasSubstr("m_count 0\n"));
}

}  // namespace
}  // namespace aimass::core
