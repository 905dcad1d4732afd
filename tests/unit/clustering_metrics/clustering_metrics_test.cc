// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/clustering_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

// The expected numbers come from scikit-learn 1.2.1 on the same inputs: sklearn_values.py
// beside this file prints them.

// Twelve 2-D points in three loose groups; point 8 (2, 2) is clustered with the first group.
const std::vector<float> kTwelve = {0, 0,    1, 0, 0, 1.5f, 1,  1, 5,  5, 6,  5,
                                    5, 6.5f, 7, 7, 2, 2,    10, 0, 11, 1, 10, 2};
const std::vector<std::int64_t> kTwelveClusters = {0, 0, 0, 0, 2, 2, 2, 2, 0, 1, 1, 1};
const std::vector<std::int64_t> kTwelveClasses = {0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 0};

std::span<const float> rowsOf(const std::vector<float>& v, std::size_t begin, std::size_t end) {
  return std::span(v).subspan(begin * 2, (end - begin) * 2);
}

TEST(SilhouetteTest, MatchesScikitLearn) {
  auto score = silhouetteScore(kTwelve, 2, kTwelveClusters);
  ASSERT_TRUE(score.ok()) << score.status().toString();
  ASSERT_TRUE(score->has_value());
  EXPECT_NEAR(**score, 0.74123431498480585, 1e-12);
  // Without room for the table of sums, row by row: the same value.
  auto row_by_row = silhouetteScore(kTwelve, 2, kTwelveClusters, 0);
  EXPECT_NEAR(**row_by_row, 0.74123431498480585, 1e-12);

  // A cluster of one point scores 0; rows 0 and 1 coincide.
  std::vector<float> y = {0, 0, 0, 0, 3, 4, 1, 1, 4, 4, 4, 5};
  std::vector<std::int64_t> labels = {0, 0, 7, 3, 3, 3};  // any non-negative values
  score = silhouetteScore(y, 2, labels);
  ASSERT_TRUE(score.ok());
  EXPECT_NEAR(**score, 0.026485172545138547, 1e-12);
  EXPECT_NEAR(**silhouetteScore(y, 2, labels, 0), 0.026485172545138547, 1e-12);
}

TEST(SilhouetteTest, HandComputedPairAndUndefinedCases) {
  // Points 0 and 1 in cluster 0, point 4 in cluster 1: row 0 has a = 1, b = 4, s = 3/4; row 1
  // a = 1, b = 3, s = 2/3; row 2 is alone: 0. Mean (3/4 + 2/3) / 3.
  std::vector<float> x = {0, 1, 4};
  auto score = silhouetteScore(x, 1, std::vector<std::int64_t>{0, 0, 1});
  ASSERT_TRUE(score.ok());
  EXPECT_NEAR(**score, (0.75 + 2.0 / 3) / 3, 1e-15);
  // One cluster, or every row its own: undefined (scikit-learn raises).
  EXPECT_FALSE(silhouetteScore(x, 1, std::vector<std::int64_t>{0, 0, 0})->has_value());
  EXPECT_FALSE(silhouetteScore(x, 1, std::vector<std::int64_t>{0, 1, 2})->has_value());
  auto bad = silhouetteScore(x, 2, std::vector<std::int64_t>{0, 0, 1});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(silhouetteScore(x, 1, std::vector<std::int64_t>{0, -1, 1}).status().message(),
              HasSubstr("cluster -1 is negative"));
}

TEST(SampleRowsTest, SeededSortedDistinctAndAllWhenSmall) {
  EXPECT_EQ(sampleRows(4, 0, 1), (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(sampleRows(4, 9, 1), (std::vector<std::uint64_t>{0, 1, 2, 3}));
  auto a = sampleRows(1000, 50, 42);
  ASSERT_EQ(a.size(), 50u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::adjacent_find(a.begin(), a.end()), a.end());
  EXPECT_LT(a.back(), 1000u);
  EXPECT_EQ(sampleRows(1000, 50, 42), a);
  EXPECT_NE(sampleRows(1000, 50, 43), a);
}

TEST(ContingencyTest, AdjustedRandAndNmiMatchScikitLearn) {
  // contingency_matrix of sklearn_values.py's random labels (rows: classes, columns: clusters).
  std::vector<std::vector<std::uint64_t>> counts = {
      {39, 3, 1, 1, 4}, {1, 36, 3, 4, 3}, {4, 0, 45, 2, 2}, {3, 2, 4, 39, 4}};
  EXPECT_NEAR(adjustedRandIndex(counts), 0.57807664595307939, 1e-12);
  EXPECT_NEAR(normalizedMutualInformation(counts), 0.53132515291381655, 1e-12);
}

TEST(ContingencyTest, LimitCases) {
  // Identical partitions up to renaming.
  std::vector<std::vector<std::uint64_t>> same = {{0, 3}, {2, 0}};
  EXPECT_DOUBLE_EQ(adjustedRandIndex(same), 1.0);
  EXPECT_DOUBLE_EQ(normalizedMutualInformation(same), 1.0);
  // One class and one cluster: both 1 by scikit-learn's convention.
  EXPECT_DOUBLE_EQ(adjustedRandIndex({{5}}), 1.0);
  EXPECT_DOUBLE_EQ(normalizedMutualInformation({{5}}), 1.0);
  // Independent: every class spread evenly over the clusters. ARI by hand: n = 4, ordered
  // pairs tp = 4 - 4 = 0, fp = fn = 8 - 4 = 4, tn = 16 - 12 = 4:
  // 2 (0 - 16) / (4 * 8 + 4 * 8) = -0.5. NMI: mutual information 0.
  std::vector<std::vector<std::uint64_t>> independent = {{1, 1}, {1, 1}};
  EXPECT_DOUBLE_EQ(adjustedRandIndex(independent), -0.5);
  EXPECT_DOUBLE_EQ(normalizedMutualInformation(independent), 0.0);
}

TEST(ClusteringMetricsTest, TwoPassesInUnevenBatchesMatchScikitLearn) {
  ClusteringMetrics metrics(2, 3, 3);
  const std::vector<float> none;
  // First pass in batches of 5 and 7 rows, second in 8 and 4.
  ASSERT_TRUE(metrics
                  .add(rowsOf(kTwelve, 0, 5), std::span(kTwelveClusters).first(5), none,
                       std::span(kTwelveClasses).first(5))
                  .ok());
  ASSERT_TRUE(metrics
                  .add(rowsOf(kTwelve, 5, 12), std::span(kTwelveClusters).subspan(5), none,
                       std::span(kTwelveClasses).subspan(5))
                  .ok());
  EXPECT_EQ(metrics.report(std::nullopt, 0).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(metrics.addSpread(rowsOf(kTwelve, 0, 8), std::span(kTwelveClusters).first(8)).ok());
  ASSERT_TRUE(
      metrics.addSpread(rowsOf(kTwelve, 8, 12), std::span(kTwelveClusters).subspan(8)).ok());
  auto report = metrics.report(0.5, 12);
  ASSERT_TRUE(report.ok()) << report.status().toString();
  EXPECT_EQ(report->rows, 12u);
  EXPECT_EQ(report->clusters, 3);
  EXPECT_EQ(report->clusters_used, 3);
  EXPECT_FALSE(report->inertia_from_distances);
  EXPECT_NEAR(report->inertia, 14.604166666666668, 1e-12);
  ASSERT_TRUE(report->davies_bouldin.has_value());
  EXPECT_NEAR(*report->davies_bouldin, 0.31306820335021074, 1e-12);
  EXPECT_NEAR(*report->adjusted_rand, 0.49837133550488599, 1e-12);
  EXPECT_NEAR(*report->nmi, 0.62738443395623456, 1e-12);
  EXPECT_EQ(report->silhouette, 0.5);
  EXPECT_EQ(report->silhouette_rows, 12u);
}

TEST(ClusteringMetricsTest, SingletonClusterDaviesBouldinAndInertiaFromDistances) {
  std::vector<float> y = {0, 0, 0, 0, 3, 4, 1, 1, 4, 4, 4, 5};
  std::vector<std::int64_t> labels = {0, 0, 1, 2, 2, 2};
  // Distances to 3 centres; only the assigned one counts: 1, 2, 0, 1, 1, 3 squared sum to 16.
  std::vector<float> distances = {1, 9, 9, 2, 9, 9, 9, 0, 9, 9, 9, 1, 9, 9, 1, 9, 9, 3};
  ClusteringMetrics metrics(2, 3, 0);
  ASSERT_TRUE(metrics.add(y, labels, distances, {}).ok());
  ASSERT_TRUE(metrics.addSpread(y, labels).ok());
  auto report = metrics.report(std::nullopt, 0);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->inertia_from_distances);
  EXPECT_DOUBLE_EQ(report->inertia, 16.0);
  EXPECT_NEAR(*report->davies_bouldin, 2.2269711918858568, 1e-12);
  EXPECT_FALSE(report->adjusted_rand.has_value());
  EXPECT_FALSE(report->nmi.has_value());
}

TEST(ClusteringMetricsTest, DaviesBouldinUndefinedWithOneClusterUsed) {
  std::vector<float> x = {0, 2};
  std::vector<std::int64_t> c = {1, 1};
  ClusteringMetrics metrics(1, 2, 0);
  ASSERT_TRUE(metrics.add(x, c, {}, {}).ok());
  ASSERT_TRUE(metrics.addSpread(x, c).ok());
  auto report = metrics.report(std::nullopt, 0);
  EXPECT_EQ(report->clusters_used, 1);
  EXPECT_FALSE(report->davies_bouldin.has_value());
  EXPECT_DOUBLE_EQ(report->inertia, 2.0);  // both rows 1 from their mean
}

TEST(ClusteringMetricsTest, BadBatchesAreRejectedAndAddNothing) {
  ClusteringMetrics metrics(1, 2, 2);
  std::vector<float> x = {0, 1};
  std::vector<std::int64_t> classes = {0, 1};
  Status s = metrics.add(x, std::vector<std::int64_t>{0, 2}, {}, classes);
  EXPECT_THAT(s.message(), HasSubstr("row 1: cluster 2 is outside [0, 2)"));
  s = metrics.add(x, std::vector<std::int64_t>{0, 1}, {}, std::vector<std::int64_t>{0, 5});
  EXPECT_THAT(s.message(), HasSubstr("row 1: class 5 is outside [0, 2)"));
  s = metrics.add(x, std::vector<std::int64_t>{0, 1}, {}, {});
  EXPECT_THAT(s.message(), HasSubstr("0 class labels for 2 rows"));
  s = metrics.add(std::vector<float>{0, NAN}, std::vector<std::int64_t>{0, 1}, {}, classes);
  EXPECT_THAT(s.message(), HasSubstr("row 1: feature 0 is not finite"));
  s = metrics.add(x, std::vector<std::int64_t>{0, 1}, std::vector<float>{1, -1, 0, 0}, classes);
  EXPECT_THAT(s.message(), HasSubstr("row 0: distance -1.000000 is not a finite number >= 0"));
  EXPECT_EQ(metrics.report(std::nullopt, 0).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(metrics.add(x, std::vector<std::int64_t>{0, 0}, {}, classes).ok());
  s = metrics.addSpread(x, std::vector<std::int64_t>{0, 1});
  EXPECT_THAT(s.message(), HasSubstr("cluster 1 had no row in the first pass"));
}

}  // namespace
}  // namespace aimass::core
