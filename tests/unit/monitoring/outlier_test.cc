// SPDX-License-Identifier: Apache-2.0
// Per-row outlier scores on Gaussian data: the learnt threshold sits at the chi distribution's
// 99.5th percentile, fresh rows from the training distribution are flagged at about the
// threshold's share, planted outliers (one far value, or values each in range that break the
// features' correlation) are flagged; wide data gets a diagonal scorer; the scorer survives the
// profile record; profiles without one say why.
#include "monitoring/outlier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "data_profile.h"
#include "profile_from_draws.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using testing::profileOf;

constexpr std::size_t kWidth = 4;

/// Rows of 4 features: x0 standard normal, x1 correlated 0.8 with it, x2 = 10 + 2 N(0, 1),
/// x3 standard normal.
std::vector<float> correlatedRows(std::size_t rows, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(0, 1);
  std::vector<float> out;
  out.reserve(rows * kWidth);
  for (std::size_t r = 0; r < rows; ++r) {
    const double a = normal(gen), b = normal(gen), c = normal(gen), d = normal(gen);
    for (double v : {a, 0.8 * a + 0.6 * b, 10 + 2 * c, d}) out.push_back(static_cast<float>(v));
  }
  return out;
}

const DataProfile& gaussianProfile() {
  static const DataProfile profile = profileOf({"x0", "x1", "x2", "x3"}, correlatedRows(20000, 5));
  return profile;
}

TEST(OutlierTest, TheThresholdIsTheChiQuantileAndFreshRowsAreFlaggedAtItsShare) {
  const DataProfile& profile = gaussianProfile();
  ASSERT_TRUE(profile.outlier.has_value());
  EXPECT_EQ(profile.outlier->kind, OutlierModel::Kind::kFull);
  EXPECT_EQ(profile.outlier->fit_rows, 2048u);  // half the 4096-row sample
  EXPECT_EQ(profile.outlier->calibration_rows, 2048u);
  EXPECT_GE(profile.outlier->shrinkage, kOutlierMinShrinkage);
  EXPECT_LT(profile.outlier->shrinkage, 0.1);  // 2048 rows of 4 features need little
  auto scorer = OutlierScorer::make(profile);
  ASSERT_TRUE(scorer.ok()) << scorer.status().toString();
  // For Gaussian rows the squared score is chi2 with 4 dof, whose 99.5th percentile is 14.86:
  // the threshold is sqrt(14.86) = 3.855, up to the sampling error of the 99.5th percentile of
  // 2048 scores (its rank is off by sqrt(0.005 0.995 / 2048) = 0.0016, some 3% in score).
  EXPECT_NEAR(scorer->threshold(), std::sqrt(14.86), 0.3);
  // Fresh rows: the share above the threshold is 0.005 give or take that rank error (3 sd
  // 0.0047) and the binomial error of 20000 rows (0.0005): the bound is 0.005 +- 0.005.
  const auto fresh = correlatedRows(20000, 99);
  int flagged = 0;
  for (std::size_t r = 0; r < 20000; ++r) {
    flagged += scorer->isOutlier(scorer->score({&fresh[r * kWidth], kWidth})) ? 1 : 0;
  }
  EXPECT_GT(flagged, 0);
  EXPECT_LE(std::abs(flagged / 20000.0 - (1 - kOutlierThresholdQuantile)), 0.005)
      << flagged << " of 20000 rows flagged";
}

TEST(OutlierTest, PlantedOutliersAreFlaggedAndGapsCountAsTheMean) {
  auto scorer = OutlierScorer::make(gaussianProfile());
  ASSERT_TRUE(scorer.ok());
  // x0 = 2 and x1 = -2 are each inside the training range, but against a correlation of 0.8:
  // z' C^-1 z = (4 + 4 + 2 0.8 4) / (1 - 0.64) = 40, a score of 6.3.
  const std::vector<float> broken_correlation = {2, -2, 10, 0};
  const FeatureProfile& x1 = gaussianProfile().features[1];
  EXPECT_GT(-2.0, x1.min);  // input validation's range check would let it through
  const double broken = scorer->score(broken_correlation);
  EXPECT_NEAR(broken, std::sqrt(40.0), 0.6);
  EXPECT_TRUE(scorer->isOutlier(broken));
  // The same values with the correlation's sign: z' C^-1 z = (8 - 6.4) / 0.36 = 4.4.
  EXPECT_FALSE(scorer->isOutlier(scorer->score(std::vector<float>{2, 2, 10, 0})));
  EXPECT_TRUE(scorer->isOutlier(scorer->score(std::vector<float>{0, 0, 10, 7})));  // 7 sd
  EXPECT_TRUE(scorer->isOutlier(scorer->score(std::vector<float>{0, 0, 30, 0})));  // 10 sd
  // A gap counts as the mean; an infinite value scores +inf.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NEAR(scorer->score(std::vector<float>{nan, nan, nan, nan}), 0.0, 0.1);
  EXPECT_TRUE(std::isinf(scorer->score(std::vector<float>{0, 0, INFINITY, 0})));
}

TEST(OutlierTest, WideDataGetsADiagonalScorer) {
  constexpr std::size_t kWide = 300, kRows = 2000;
  std::mt19937 gen(8);
  std::normal_distribution<double> normal(0, 1);
  std::vector<float> rows(kWide * kRows);
  for (auto& v : rows) v = static_cast<float>(normal(gen));
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kWide; ++i) names.push_back("f" + std::to_string(i));
  const DataProfile profile = profileOf(names, rows);
  ASSERT_TRUE(profile.outlier.has_value());
  EXPECT_EQ(profile.outlier->kind, OutlierModel::Kind::kDiagonal);
  EXPECT_TRUE(profile.outlier->covariance.empty());
  EXPECT_EQ(profile.outlier->calibration_rows, kRows);  // every row: nothing to fit
  auto scorer = OutlierScorer::make(profile);
  ASSERT_TRUE(scorer.ok()) << scorer.status().toString();
  // chi2 with 300 dof has its 99.5th percentile near 300 + 2.58 sqrt(600) = 363: score 19.1.
  EXPECT_NEAR(scorer->threshold(), 19.1, 1.0);
  std::vector<float> planted(kWide, 0.0f);
  EXPECT_FALSE(scorer->isOutlier(scorer->score(planted)));
  for (std::size_t i = 0; i < 10; ++i) planted[i] = 8.0f;  // adds 640 to the squared score
  EXPECT_TRUE(scorer->isOutlier(scorer->score(planted)));
}

TEST(OutlierTest, TheScorerSurvivesTheProfileRecord) {
  const DataProfile& profile = gaussianProfile();
  auto decoded = decodeDataProfile(encodeDataProfile(profile));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  ASSERT_TRUE(decoded->outlier.has_value());
  EXPECT_EQ(decoded->outlier->covariance, profile.outlier->covariance);
  auto original = OutlierScorer::make(profile);
  auto loaded = OutlierScorer::make(*decoded);
  ASSERT_TRUE(original.ok() && loaded.ok());
  EXPECT_EQ(loaded->threshold(), original->threshold());
  const auto rows = correlatedRows(50, 3);
  for (std::size_t r = 0; r < 50; ++r) {
    const std::span<const float> row(&rows[r * kWidth], kWidth);
    EXPECT_EQ(loaded->score(row), original->score(row)) << "row " << r;
  }
}

TEST(OutlierTest, ProfilesWithoutAScorerSayWhy) {
  const DataProfile few = profileOf({"x"}, std::vector<float>(kOutlierMinRows - 1, 1.0f));
  EXPECT_FALSE(few.outlier.has_value());
  EXPECT_THAT(OutlierScorer::make(few).status().message(), HasSubstr("fewer than 100"));
  auto old = decodeDataProfile("aimass-data-profile 1\nrows 3\nnumber x 3 0 1 2 1 1 1 1.5 2 2 2\n");
  ASSERT_TRUE(old.ok());
  auto refused = OutlierScorer::make(*old);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("retrain the model to get one"));
  // A covariance that is not positive definite is refused when the scorer is made.
  OutlierModel model;
  model.kind = OutlierModel::Kind::kFull;
  model.features = 2;
  model.covariance = {1, 2, 1};  // correlation 2
  const std::vector<double> means = {0, 0}, sds = {1, 1};
  EXPECT_THAT(OutlierScorer::make(model, means, sds).status().message(),
              HasSubstr("not positive definite"));
}

}  // namespace
}  // namespace aimass::core
