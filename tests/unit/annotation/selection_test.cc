// SPDX-License-Identifier: Apache-2.0
// Active-learning selection: uncertainty scores worked out by hand, the orders they give (ties
// to the lower row, NaN last), the seeded random order (pinned to the values an independent
// implementation of std::mt19937_64 and the same draw rule gives), and diverse batches that take
// one row from each of several well-separated clusters where plain uncertainty would take them
// all from one.
#include "annotation/selection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <vector>

namespace aimass::core::annotation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kFloat = 1e-6;  // the probabilities are FP32

// Five rows of three classes:
//   row 0: 0.5 0.3 0.2     row 1: 0.9 0.05 0.05     row 2: 0.5 0.5 0
//   row 3: 0.4 0.3 0.3     row 4: 1 0 0
const std::vector<float> kProbabilities = {0.5f, 0.3f, 0.2f, 0.9f, 0.05f, 0.05f, 0.5f, 0.5f,
                                           0.0f, 0.4f, 0.3f, 0.3f, 1.0f,  0.0f,  0.0f};

SelectionPool poolOf(const std::vector<float>& probabilities, std::size_t classes) {
  SelectionPool pool;
  pool.rows = probabilities.size() / classes;
  pool.probabilities = probabilities;
  pool.classes = classes;
  return pool;
}

TEST(SelectionStrategyTest, NamesRoundTripAndUnknownNamesListTheValidOnes) {
  for (auto strategy :
       {SelectionStrategy::kLeastConfidence, SelectionStrategy::kMargin,
        SelectionStrategy::kEntropy, SelectionStrategy::kDiversity, SelectionStrategy::kRandom}) {
    auto parsed = parseSelectionStrategy(selectionStrategyName(strategy));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, strategy);
  }
  EXPECT_EQ(selectionStrategyName(SelectionStrategy::kLeastConfidence), "least_confidence");
  auto unknown = parseSelectionStrategy("uncertainty");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(),
              HasSubstr("'uncertainty': expected one of least_confidence, margin, entropy, "
                        "diversity, random"));
}

TEST(UncertaintyScoresTest, LeastConfidenceIsOneMinusTheTopProbability) {
  auto scores = uncertaintyScores(SelectionStrategy::kLeastConfidence, kProbabilities, 5, 3);
  ASSERT_TRUE(scores.ok());
  // 1 - 0.5, 1 - 0.9, 1 - 0.5, 1 - 0.4, 1 - 1.
  const std::vector<double> expected = {0.5, 0.1, 0.5, 0.6, 0.0};
  for (std::size_t r = 0; r < 5; ++r) {
    EXPECT_NEAR((*scores)[r], expected[r], kFloat) << "row " << r;
  }
}

TEST(UncertaintyScoresTest, MarginIsOneMinusTheGapBetweenTheTopTwo) {
  auto scores = uncertaintyScores(SelectionStrategy::kMargin, kProbabilities, 5, 3);
  ASSERT_TRUE(scores.ok());
  // 1 - (0.5 - 0.3), 1 - (0.9 - 0.05), 1 - (0.5 - 0.5), 1 - (0.4 - 0.3), 1 - (1 - 0).
  const std::vector<double> expected = {0.8, 0.15, 1.0, 0.9, 0.0};
  for (std::size_t r = 0; r < 5; ++r) {
    EXPECT_NEAR((*scores)[r], expected[r], kFloat) << "row " << r;
  }
  // Diversity ranks its candidates by margin.
  EXPECT_EQ(*uncertaintyScores(SelectionStrategy::kDiversity, kProbabilities, 5, 3), *scores);
  // One class: p_2 = 0.
  const std::vector<float> single = {0.7f};
  EXPECT_NEAR((*uncertaintyScores(SelectionStrategy::kMargin, single, 1, 1))[0], 0.3, kFloat);
}

TEST(UncertaintyScoresTest, EntropyInNatsWithZeroLogZeroAsZero) {
  auto scores = uncertaintyScores(SelectionStrategy::kEntropy, kProbabilities, 5, 3);
  ASSERT_TRUE(scores.ok());
  // ln 0.5 = -0.693147, ln 0.3 = -1.203973, ln 0.2 = -1.609438, ln 0.9 = -0.105361,
  // ln 0.05 = -2.995732, ln 0.4 = -0.916291.
  // row 0: 0.5 * 0.693147 + 0.3 * 1.203973 + 0.2 * 1.609438 = 0.346574 + 0.361192 + 0.321888
  //        = 1.029653
  // row 1: 0.9 * 0.105361 + 2 * 0.05 * 2.995732 = 0.094824 + 0.299573 = 0.394398
  // row 2: 2 * 0.5 * 0.693147 + 0 = 0.693147 (0 ln 0 = 0)
  // row 3: 0.4 * 0.916291 + 2 * 0.3 * 1.203973 = 0.366516 + 0.722384 = 1.088900
  // row 4: 1 ln 1 + 0 + 0 = 0
  const std::vector<double> expected = {1.029653, 0.394398, 0.693147, 1.088900, 0.0};
  for (std::size_t r = 0; r < 5; ++r) {
    EXPECT_NEAR((*scores)[r], expected[r], 2e-6) << "row " << r;
  }
}

TEST(UncertaintyScoresTest, RandomScoresNothingAndBadSizesAreErrors) {
  EXPECT_THAT(*uncertaintyScores(SelectionStrategy::kRandom, kProbabilities, 5, 3),
              ElementsAre(0, 0, 0, 0, 0));
  auto bad = uncertaintyScores(SelectionStrategy::kMargin, kProbabilities, 4, 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("15 probabilities do not make 4 rows x 3"));
  EXPECT_FALSE(uncertaintyScores(SelectionStrategy::kEntropy, kProbabilities, 5, 0).ok());
}

TEST(RankPoolTest, EachStrategyOrdersTheRowsByItsScore) {
  const SelectionPool pool = poolOf(kProbabilities, 3);
  // Least confidence 0.5 0.1 0.5 0.6 0: row 3, then rows 0 and 2 tied (lower first), 1, 4.
  EXPECT_THAT(*rankPool(SelectionStrategy::kLeastConfidence, pool, 0), ElementsAre(3, 0, 2, 1, 4));
  // Margin 0.8 0.15 1 0.9 0: rows 2, 3, 0, 1, 4 (row 2's tie is what margin looks at).
  EXPECT_THAT(*rankPool(SelectionStrategy::kMargin, pool, 0), ElementsAre(2, 3, 0, 1, 4));
  EXPECT_THAT(*rankPool(SelectionStrategy::kDiversity, pool, 0), ElementsAre(2, 3, 0, 1, 4));
  // Entropy 1.030 0.394 0.693 1.089 0: rows 3, 0, 2, 1, 4.
  EXPECT_THAT(*rankPool(SelectionStrategy::kEntropy, pool, 0), ElementsAre(3, 0, 2, 1, 4));
}

TEST(RankPoolTest, TiesGoToTheLowerRowAndNanRowsGoLast) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> probabilities = {0.6f, 0.4f, nan,  0.5f, 0.6f, 0.4f,
                                            0.9f, 0.1f, 0.6f, 0.4f, 0.5f, 0.5f};
  const SelectionPool pool = poolOf(probabilities, 2);
  auto scores = uncertaintyScores(SelectionStrategy::kMargin, probabilities, 6, 2);
  EXPECT_TRUE(std::isnan((*scores)[1]));
  // Margins 0.8, NaN, 0.8, 0.2, 0.8, 1: row 5, then rows 0, 2, 4 tied, row 3, NaN last.
  EXPECT_THAT(*rankPool(SelectionStrategy::kMargin, pool, 0), ElementsAre(5, 0, 2, 4, 3, 1));
  SelectionOptions options;
  options.batch = 3;
  EXPECT_THAT(*selectBatch(SelectionStrategy::kMargin, pool, options), ElementsAre(5, 0, 2));
}

TEST(RandomSelectionTest, TheSeededOrderIsPinnedAndDeterministic) {
  SelectionPool pool;
  pool.rows = 10;  // random reads no probabilities
  // Fisher-Yates from the last position down, position i - 1 swapped with a draw from [0, i):
  // std::mt19937_64(42), a draw x redrawn while x < 2^64 mod i, then x mod i. The expected
  // orders come from an independent implementation of the same (mt19937_64 written from its
  // definition, checked against the standard's 10000th output 9981545732273789042).
  EXPECT_THAT(*rankPool(SelectionStrategy::kRandom, pool, 42),
              ElementsAre(1, 7, 9, 0, 3, 8, 4, 2, 5, 6));
  EXPECT_THAT(*rankPool(SelectionStrategy::kRandom, pool, 7),
              ElementsAre(0, 7, 4, 9, 3, 1, 2, 8, 6, 5));
  // selectBatch takes the first rows of the same order.
  SelectionOptions options;
  options.batch = 4;
  options.seed = 42;
  EXPECT_THAT(*selectBatch(SelectionStrategy::kRandom, pool, options), ElementsAre(1, 7, 9, 0));
}

TEST(RandomSelectionTest, APermutationThatChangesWithTheSeed) {
  SelectionPool pool;
  pool.rows = 1000;
  auto a = *rankPool(SelectionStrategy::kRandom, pool, 3);
  auto again = *rankPool(SelectionStrategy::kRandom, pool, 3);
  auto b = *rankPool(SelectionStrategy::kRandom, pool, 4);
  EXPECT_EQ(a, again);
  EXPECT_NE(a, b);
  std::vector<std::size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::size_t> all(1000);
  std::iota(all.begin(), all.end(), std::size_t{0});
  EXPECT_EQ(sorted, all);
  // Not the identity, nor close to it: fewer than 1% of rows stay in place (expected: 1 row).
  std::size_t fixed = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    fixed += a[i] == i ? 1 : 0;
  }
  EXPECT_LT(fixed, 10u);
}

TEST(SelectBatchTest, UncertaintyTakesTheTopRowsAndAllWhenThePoolIsSmall) {
  const SelectionPool pool = poolOf(kProbabilities, 3);
  SelectionOptions options;
  options.batch = 2;
  EXPECT_THAT(*selectBatch(SelectionStrategy::kEntropy, pool, options), ElementsAre(3, 0));
  EXPECT_THAT(*selectBatch(SelectionStrategy::kLeastConfidence, pool, options), ElementsAre(3, 0));
  EXPECT_THAT(*selectBatch(SelectionStrategy::kMargin, pool, options), ElementsAre(2, 3));
  options.batch = 9;
  EXPECT_THAT(*selectBatch(SelectionStrategy::kMargin, pool, options), ElementsAre(2, 3, 0, 1, 4));
}

TEST(SelectBatchTest, BadOptionsAndPoolsAreErrors) {
  SelectionPool pool = poolOf(kProbabilities, 3);
  SelectionOptions options;
  options.batch = 0;
  EXPECT_THAT(selectBatch(SelectionStrategy::kMargin, pool, options).status().message(),
              HasSubstr("at least 1 row"));
  options.batch = 2;
  options.beta = 0.5;
  EXPECT_THAT(selectBatch(SelectionStrategy::kDiversity, pool, options).status().message(),
              HasSubstr("beta >= 1"));
  options.beta = 10;
  // Diversity needs features; the others do not.
  EXPECT_THAT(selectBatch(SelectionStrategy::kDiversity, pool, options).status().message(),
              HasSubstr("0 feature values do not make 5 rows x 0 dims"));
  EXPECT_TRUE(selectBatch(SelectionStrategy::kMargin, pool, options).ok());
  pool.rows = 6;
  EXPECT_FALSE(selectBatch(SelectionStrategy::kEntropy, pool, options).ok());
  EXPECT_FALSE(rankPool(SelectionStrategy::kLeastConfidence, pool, 0).ok());
}

// Four tight clusters of ten 2-D points around (0, 0), (100, 0), (0, 100), (100, 100); the
// rows of the first cluster are the most uncertain (margin scores 0.99 down to 0.90), then the
// second's (0.89 to 0.80), and so on, so the ten most uncertain rows are all in cluster 0.
struct ClusteredPool {
  std::vector<float> probabilities, features;
  SelectionPool pool;

  ClusteredPool() {
    const float centres[4][2] = {{0, 0}, {100, 0}, {0, 100}, {100, 100}};
    for (int c = 0; c < 4; ++c) {
      for (int i = 0; i < 10; ++i) {
        const float gap = 0.01f * static_cast<float>(10 * c + i + 1);  // margin score 1 - gap
        probabilities.push_back(0.5f + gap / 2);
        probabilities.push_back(0.5f - gap / 2);
        features.push_back(centres[c][0] + static_cast<float>(i % 3));
        features.push_back(centres[c][1] + static_cast<float>(i / 3));
      }
    }
    pool.rows = 40;
    pool.probabilities = probabilities;
    pool.classes = 2;
    pool.features = features;
    pool.dims = 2;
  }
};

int clusterOf(std::size_t row) { return static_cast<int>(row / 10); }

TEST(DiversitySelectionTest, OneRowFromEachWellSeparatedCluster) {
  const ClusteredPool data;
  SelectionOptions options;
  options.batch = 4;
  options.beta = 10;  // all 40 rows are candidates
  // Margin alone takes the four most uncertain rows, all from cluster 0.
  EXPECT_THAT(*selectBatch(SelectionStrategy::kMargin, data.pool, options),
              ElementsAre(0, 1, 2, 3));
  for (std::uint64_t seed : {0, 1, 2, 3, 4}) {
    options.seed = seed;
    auto batch = selectBatch(SelectionStrategy::kDiversity, data.pool, options);
    ASSERT_TRUE(batch.ok()) << batch.status().toString();
    ASSERT_EQ(batch->size(), 4u);
    std::set<int> clusters;
    for (std::size_t row : *batch) {
      clusters.insert(clusterOf(row));
    }
    EXPECT_EQ(clusters, (std::set<int>{0, 1, 2, 3})) << "seed " << seed;
    // Returned most uncertain first: cluster 0's row, then 1's, 2's, 3's.
    EXPECT_TRUE(std::is_sorted(batch->begin(), batch->end())) << "seed " << seed;
    EXPECT_EQ(*batch, *selectBatch(SelectionStrategy::kDiversity, data.pool, options));
  }
}

TEST(DiversitySelectionTest, TheCandidatesAreTheMostUncertainBetaTimesBatch) {
  const ClusteredPool data;
  SelectionOptions options;
  options.batch = 2;
  options.beta = 10;  // the 20 most uncertain rows: clusters 0 and 1
  // k = 2 finds the two groups. Each pick is its cluster's row nearest the uncertainty-weighted
  // centre. Cluster 0: points (i mod 3, i div 3) for i = 0..9, weights 0.99, 0.98, ..., 0.90
  // (sum 9.45): centre x = (0.98 + 0.95 + 0.92 + 2 (0.97 + 0.94 + 0.91)) / 9.45 = 8.49 / 9.45
  // = 0.898, y = (0.96 + 0.95 + 0.94 + 2 (0.93 + 0.92 + 0.91) + 3 (0.90)) / 9.45 = 11.07 / 9.45
  // = 1.171: nearest is (1, 1), i = 4 (squared distance 0.040; next (1, 2) at 0.697). Cluster
  // 1 (weights 0.89 to 0.80) likewise: centre (0.898, 1.168), row 10 + 4.
  auto batch = selectBatch(SelectionStrategy::kDiversity, data.pool, options);
  ASSERT_TRUE(batch.ok());
  EXPECT_THAT(*batch, ElementsAre(4, 14));
}

TEST(DiversitySelectionTest, IdenticalRowsStillFillTheBatch) {
  // Every feature row the same: k-means has one distinct point; the batch is made up with the
  // most uncertain candidates.
  ClusteredPool data;
  std::fill(data.features.begin(), data.features.end(), 5.0f);
  SelectionOptions options;
  options.batch = 3;
  auto batch = selectBatch(SelectionStrategy::kDiversity, data.pool, options);
  ASSERT_TRUE(batch.ok());
  EXPECT_THAT(*batch, ElementsAre(0, 1, 2));
}

}  // namespace
}  // namespace aimass::core::annotation
