// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/sequence_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace aimass::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(LanguageModelMetricsTest, CrossEntropyPerplexityBitsAndAccuracy) {
  LanguageModelMetrics metrics(3);
  // Next tokens 0, 2, 1 given 0.5, 0.6, 0.2; most probable 0, 2, 0: two of three right.
  ASSERT_TRUE(metrics
                  .add(std::vector<std::int64_t>{0, 2},
                       std::vector<float>{0.5f, 0.25f, 0.25f, 0.2f, 0.2f, 0.6f}, 1)
                  .ok());
  ASSERT_TRUE(metrics.add(std::vector<std::int64_t>{1}, std::vector<float>{0.7f, 0.2f, 0.1f}, 1)
                  .ok());
  auto r = metrics.report(true);
  ASSERT_TRUE(r.ok());
  const double nats = -(std::log(0.5) + std::log(0.6) + std::log(0.2)) / 3;
  EXPECT_NEAR(r->loss, nats, 1e-7);
  EXPECT_NEAR(r->perplexity, std::exp(nats), 1e-6);
  EXPECT_NEAR(r->bits_per_token, nats / std::log(2.0), 1e-7);
  EXPECT_DOUBLE_EQ(r->token_accuracy, 2.0 / 3);
  EXPECT_EQ(r->tokens, 3u);
  EXPECT_EQ(r->rows, 2u);
  EXPECT_TRUE(r->byte_tokens);
}

TEST(LanguageModelMetricsTest, TiesGoToTheLowestIdAndZeroIsClipped) {
  LanguageModelMetrics metrics(2);
  ASSERT_TRUE(metrics.add(std::vector<std::int64_t>{1}, std::vector<float>{0.5f, 0.5f}, 1).ok());
  ASSERT_TRUE(metrics.add(std::vector<std::int64_t>{1}, std::vector<float>{1.0f, 0.0f}, 1).ok());
  auto r = metrics.report(false);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->token_accuracy, 0);
  EXPECT_NEAR(r->loss, (std::log(2.0) - std::log(1e-15)) / 2, 1e-9);
}

TEST(LanguageModelMetricsTest, BadInputIsRejectedWholly) {
  LanguageModelMetrics metrics(2);
  EXPECT_THAT(metrics.add(std::vector<std::int64_t>{2}, std::vector<float>{0.5f, 0.5f}, 1)
                  .message(),
              HasSubstr("token 2 is outside the vocabulary [0, 2)"));
  EXPECT_THAT(metrics.add(std::vector<std::int64_t>{0}, std::vector<float>{-0.5f, 0.5f}, 1)
                  .message(),
              HasSubstr("not a finite number >= 0"));
  EXPECT_THAT(metrics.add(std::vector<std::int64_t>{0}, std::vector<float>{0.5f}, 1).message(),
              HasSubstr("1 probabilities for 1 tokens"));
  EXPECT_EQ(metrics.report(false).status().code(), StatusCode::kFailedPrecondition);
}

TEST(ForecastMetricsTest, ErrorsMapeAndTheBaselineOfEachSeason) {
  // One window of 3 steps x (target, covariate); horizon 2.
  const std::vector<float> inputs = {1, 9, 2, 9, 4, 9};
  ForecastMetrics last(3, 2, 2, 1, 1);
  EXPECT_THAT(last.baseline(inputs), ElementsAre(4, 4));
  ForecastMetrics seasonal(3, 2, 2, 1, 2);
  EXPECT_THAT(seasonal.baseline(inputs), ElementsAre(2, 4));
  ForecastMetrics three(3, 2, 2, 1, 3);
  EXPECT_THAT(three.baseline(inputs), ElementsAre(1, 2));

  ASSERT_TRUE(last.add(inputs, std::vector<float>{5, 6}, std::vector<float>{5.5f, 5}).ok());
  auto r = last.report();
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->mae, 0.75);
  EXPECT_DOUBLE_EQ(r->rmse, std::sqrt(0.625));
  EXPECT_NEAR(*r->mape, (0.5 / 5 + 1.0 / 6) / 2, 1e-12);
  EXPECT_EQ(r->mape_values, 2u);
  EXPECT_DOUBLE_EQ(r->baseline_mae, 1.5);
  EXPECT_DOUBLE_EQ(r->baseline_rmse, std::sqrt(2.5));
  EXPECT_DOUBLE_EQ(*r->mase, 0.5);
}

TEST(ForecastMetricsTest, TwoTargetsAreStepMajor) {
  // Window of 2 steps of (a, b); horizon 2 of both: the naive forecast repeats (3, 30).
  ForecastMetrics metrics(2, 2, 2, 2, 1);
  EXPECT_THAT(metrics.baseline(std::vector<float>{1, 10, 3, 30}), ElementsAre(3, 30, 3, 30));
}

TEST(ForecastMetricsTest, ZerosLeaveMapeAndBadLayoutsAreErrors) {
  ForecastMetrics metrics(1, 1, 1, 1, 1);
  ASSERT_TRUE(metrics.add(std::vector<float>{0}, std::vector<float>{0}, std::vector<float>{0}).ok());
  auto r = metrics.report();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->mape.has_value());
  EXPECT_EQ(r->mape_skipped, 1u);
  EXPECT_FALSE(r->mase.has_value()) << "the baseline is exact";

  ForecastMetrics too_long(2, 1, 1, 1, 3);
  EXPECT_THAT(too_long.add(std::vector<float>{1, 2}, std::vector<float>{1}, std::vector<float>{1})
                  .message(),
              HasSubstr("season 3 needs windows of at least 3 steps"));
  ForecastMetrics ok(2, 1, 1, 1, 1);
  EXPECT_THAT(ok.add(std::vector<float>{1, 2}, std::vector<float>{1, 2}, std::vector<float>{1})
                  .message(),
              HasSubstr("do not form rows"));
  EXPECT_THAT(ok.add(std::vector<float>{1, 2}, std::vector<float>{NAN}, std::vector<float>{1})
                  .message(),
              HasSubstr("row 0: true value is not finite"));
}

}  // namespace
}  // namespace aimass::core
