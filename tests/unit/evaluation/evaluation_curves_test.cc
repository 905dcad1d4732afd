// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/evaluation_curves.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "aimass/core/evaluation.h"

namespace aimass::core {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

/// Six rows with ties at 0.8 (one of each class) and at 0.3 (one of each class):
///   score    0.9  0.8  0.8  0.5  0.3  0.3
///   class      1    0    1    0    1    0
/// Worked by hand, one point per distinct score after the start:
///   threshold  tp fp   fpr  tpr  precision
///   0.9         1  0   0    1/3  1
///   0.8         2  1   1/3  2/3  2/3
///   0.5         2  2   2/3  2/3  1/2
///   0.3         3  3   1    1    1/2
/// AUC = 1/6 + 2/9 + 5/18 = 2/3 (also the Mann-Whitney count 6 of 9 pairs);
/// AP = 1/3 * 1 + 1/3 * 2/3 + 0 * 1/2 + 1/3 * 1/2 = 13/18.
const std::vector<float> kScores = {0.9F, 0.8F, 0.8F, 0.5F, 0.3F, 0.3F};
const std::vector<bool> kPositive = {true, false, true, false, true, false};

TEST(BinaryCurvesTest, TiedScoresAreOneThresholdAsWorkedByHand) {
  auto curves = binaryCurves(kScores, kPositive);
  ASSERT_TRUE(curves.has_value());
  EXPECT_EQ(curves->distinct_thresholds, 5U);
  const std::vector<RocPoint> roc = {{0, 0, kInfinity},
                                     {0, 1.0 / 3, 0.9F},
                                     {1.0 / 3, 2.0 / 3, 0.8F},
                                     {2.0 / 3, 2.0 / 3, 0.5F},
                                     {1, 1, 0.3F}};
  ASSERT_EQ(curves->roc.size(), roc.size());
  for (std::size_t i = 0; i < roc.size(); ++i) {
    SCOPED_TRACE("ROC point " + std::to_string(i));
    EXPECT_DOUBLE_EQ(curves->roc[i].fpr, roc[i].fpr);
    EXPECT_DOUBLE_EQ(curves->roc[i].tpr, roc[i].tpr);
    EXPECT_EQ(curves->roc[i].threshold, roc[i].threshold);
  }
  const std::vector<PrPoint> pr = {{0, 1, kInfinity},
                                   {1.0 / 3, 1, 0.9F},
                                   {2.0 / 3, 2.0 / 3, 0.8F},
                                   {2.0 / 3, 0.5, 0.5F},
                                   {1, 0.5, 0.3F}};
  ASSERT_EQ(curves->pr.size(), pr.size());
  for (std::size_t i = 0; i < pr.size(); ++i) {
    SCOPED_TRACE("PR point " + std::to_string(i));
    EXPECT_DOUBLE_EQ(curves->pr[i].recall, pr[i].recall);
    EXPECT_DOUBLE_EQ(curves->pr[i].precision, pr[i].precision);
    EXPECT_EQ(curves->pr[i].threshold, pr[i].threshold);
  }
  EXPECT_DOUBLE_EQ(curves->roc_auc, 2.0 / 3);
  EXPECT_DOUBLE_EQ(curves->average_precision, 13.0 / 18);
}

TEST(BinaryCurvesTest, UndefinedWithoutRowsOfBothClasses) {
  EXPECT_FALSE(binaryCurves(kScores, std::vector<bool>(6, true)).has_value());
  EXPECT_FALSE(binaryCurves(kScores, std::vector<bool>(6, false)).has_value());
  EXPECT_FALSE(binaryCurves({}, {}).has_value());
}

TEST(BinaryCurvesTest, ManyThresholdsAreDownsampledKeepingEndsAndMonotone) {
  // 20,000 rows with distinct scores: positives score higher on average.
  std::vector<float> scores;
  std::vector<bool> positive;
  std::uint32_t state = 12345;
  for (int i = 0; i < 20000; ++i) {
    state = state * 1664525U + 1013904223U;
    const bool is_positive = (state >> 16) % 3 == 0;
    scores.push_back(static_cast<float>(i) / 20000.0F + (is_positive ? 0.3F : 0.0F));
    positive.push_back(is_positive);
  }
  auto curves = binaryCurves(scores, positive);
  ASSERT_TRUE(curves.has_value());
  EXPECT_GT(curves->distinct_thresholds, 10000U);
  ASSERT_EQ(curves->roc.size(), kMaxCurvePoints);
  ASSERT_EQ(curves->pr.size(), kMaxCurvePoints);
  EXPECT_EQ(curves->roc.front().fpr, 0);
  EXPECT_EQ(curves->roc.front().tpr, 0);
  EXPECT_EQ(curves->roc.front().threshold, kInfinity);
  EXPECT_EQ(curves->roc.back().fpr, 1);
  EXPECT_EQ(curves->roc.back().tpr, 1);
  EXPECT_EQ(curves->pr.front().recall, 0);
  EXPECT_EQ(curves->pr.back().recall, 1);
  for (std::size_t i = 1; i < curves->roc.size(); ++i) {
    EXPECT_GE(curves->roc[i].fpr, curves->roc[i - 1].fpr) << i;
    EXPECT_GE(curves->roc[i].tpr, curves->roc[i - 1].tpr) << i;
    EXPECT_LT(curves->roc[i].threshold, curves->roc[i - 1].threshold) << i;
    EXPECT_GE(curves->pr[i].recall, curves->pr[i - 1].recall) << i;
    EXPECT_LT(curves->pr[i].threshold, curves->pr[i - 1].threshold) << i;
  }
  // The AUC is of every point; the kept points' trapezoids come close to it.
  double kept_auc = 0;
  for (std::size_t i = 1; i < curves->roc.size(); ++i) {
    kept_auc += (curves->roc[i].fpr - curves->roc[i - 1].fpr) *
                (curves->roc[i].tpr + curves->roc[i - 1].tpr) / 2;
  }
  EXPECT_NEAR(kept_auc, curves->roc_auc, 0.01);
}

TEST(DownsampleCurveTest, KeepsEverythingWhenSmallAndTheCornerOfAStep) {
  std::vector<double> x = {0, 0.5, 1};
  std::vector<double> y = {0, 1, 1};
  auto all = downsampleCurve(x, y, 256);
  EXPECT_EQ(all, (std::vector<std::size_t>{0, 1, 2}));

  // A step: y jumps from 0 to 1 between x = 0.5 and the next point.
  x.clear();
  y.clear();
  for (int i = 0; i <= 1000; ++i) {
    x.push_back(i / 1000.0);
    y.push_back(i <= 500 ? 0 : 1);
  }
  auto kept = downsampleCurve(x, y, 10);
  ASSERT_EQ(kept.size(), 10U);
  EXPECT_EQ(kept.front(), 0U);
  EXPECT_EQ(kept.back(), 1000U);
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  EXPECT_EQ(std::adjacent_find(kept.begin(), kept.end()), kept.end()) << "an index twice";
  bool last_low = false;
  bool first_high = false;
  for (std::size_t k : kept) {
    last_low = last_low || k == 500;
    first_high = first_high || k == 501;
  }
  EXPECT_TRUE(last_low || first_high) << "the step's corner was dropped";
}

TEST(ResidualReportTest, HistogramCountsSumToTheValuesAndTheMaximumIsInTheLastBin) {
  const std::vector<float> predicted = {1, 2, 3, 4, 5};
  const std::vector<float> actual = {1, 2, 3, 4, 9};  // residuals 0, 0, 0, 0, 4
  auto r = residualReport(predicted, actual);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->values, 5U);
  EXPECT_EQ(r->stride, 1U);
  EXPECT_EQ(r->predicted, (std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_EQ(r->actual, (std::vector<double>{1, 2, 3, 4, 9}));
  ASSERT_EQ(r->counts.size(), kResidualHistogramBins);
  ASSERT_EQ(r->edges.size(), kResidualHistogramBins + 1);
  EXPECT_EQ(r->edges.front(), 0);
  EXPECT_EQ(r->edges.back(), 4);
  EXPECT_DOUBLE_EQ(r->edges[1], 0.1);
  EXPECT_EQ(r->counts.front(), 4U);
  EXPECT_EQ(r->counts.back(), 1U);
  EXPECT_EQ(std::accumulate(r->counts.begin(), r->counts.end(), std::uint64_t{0}), 5U);
}

TEST(ResidualReportTest, ManyRowsAreSampledByStrideAndAllCounted) {
  std::vector<float> predicted;
  std::vector<float> actual;
  for (int i = 0; i < 4500; ++i) {
    predicted.push_back(static_cast<float>(i));
    actual.push_back(static_cast<float>(i) + static_cast<float>(i % 7) - 3);
  }
  auto r = residualReport(predicted, actual);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->values, 4500U);
  EXPECT_EQ(r->stride, 3U);  // ceil(4500 / 2000)
  ASSERT_EQ(r->predicted.size(), 1500U);
  EXPECT_EQ(r->predicted[1], 3);
  EXPECT_EQ(r->actual[1], 3);  // 3 + 3 % 7 - 3
  EXPECT_EQ(r->edges.front(), -3);
  EXPECT_EQ(r->edges.back(), 3);
  EXPECT_EQ(std::accumulate(r->counts.begin(), r->counts.end(), std::uint64_t{0}), 4500U);
}

TEST(ResidualReportTest, EqualResidualsMakeOneBinAndNoValuesNone) {
  const std::vector<float> predicted = {1, 2, 3};
  const std::vector<float> actual = {2, 3, 4};
  auto r = residualReport(predicted, actual);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->edges, (std::vector<double>{1, 1}));
  EXPECT_EQ(r->counts, (std::vector<std::uint64_t>{3}));
  EXPECT_FALSE(residualReport({}, {}).has_value());
}

TEST(EvaluationCurvesJsonTest, BinaryReportsCarryCurvesAndRegressionResiduals) {
  ClassificationMetrics metrics({"no", "yes"});
  std::vector<std::int64_t> truth;
  std::vector<std::int64_t> predicted;
  std::vector<float> probabilities;
  for (std::size_t i = 0; i < kScores.size(); ++i) {
    truth.push_back(kPositive[i] ? 1 : 0);
    predicted.push_back(kScores[i] >= 0.5F ? 1 : 0);
    probabilities.push_back(1 - kScores[i]);
    probabilities.push_back(kScores[i]);
  }
  ASSERT_TRUE(metrics.add(truth, predicted, probabilities).ok());
  EvaluationReport report;
  report.job = "eval";
  auto classification = metrics.report();
  ASSERT_TRUE(classification.ok());
  ASSERT_TRUE(classification->curves.has_value());
  EXPECT_DOUBLE_EQ(*classification->roc_auc, 2.0 / 3);
  report.classification = *classification;
  EXPECT_NE(formatEvaluation(report).find("avg prec  0.7222"), std::string::npos);
  auto json = Poco::JSON::Parser().parse(evaluationJson(report)).extract<Poco::JSON::Object::Ptr>();
  EXPECT_NEAR(json->getObject("metrics")->getValue<double>("average_precision"), 13.0 / 18, 1e-12);
  auto roc = json->getObject("roc");
  EXPECT_EQ(roc->getValue<std::string>("positive_class"), "yes");
  EXPECT_EQ(roc->getArray("fpr")->size(), 5U);
  EXPECT_EQ(roc->getArray("tpr")->size(), 5U);
  EXPECT_TRUE(roc->getArray("thresholds")->isNull(0));
  EXPECT_NEAR(roc->getArray("thresholds")->getElement<double>(4), 0.3, 1e-6);
  EXPECT_EQ(roc->getValue<int>("distinct_thresholds"), 5);
  auto pr = json->getObject("pr");
  EXPECT_EQ(pr->getArray("recall")->size(), 5U);
  EXPECT_EQ(pr->getArray("precision")->getElement<double>(0), 1);
  EXPECT_NEAR(pr->getValue<double>("average_precision"), 13.0 / 18, 1e-12);

  RegressionMetrics values(1);
  const std::vector<float> actual = {1, 2, 3, 4, 9};
  const std::vector<float> guesses = {1, 2, 3, 4, 5};
  ASSERT_TRUE(values.add(actual, guesses).ok());
  EvaluationReport regression;
  auto result = values.report();
  ASSERT_TRUE(result.ok());
  regression.regression = *result;
  json = Poco::JSON::Parser().parse(evaluationJson(regression)).extract<Poco::JSON::Object::Ptr>();
  auto residuals = json->getObject("residuals");
  EXPECT_EQ(residuals->getArray("predicted")->getElement<double>(4), 5);
  EXPECT_EQ(residuals->getArray("actual")->getElement<double>(4), 9);
  EXPECT_EQ(residuals->getValue<int>("stride"), 1);
  EXPECT_EQ(residuals->getValue<int>("values"), 5);
  auto histogram = json->getObject("residual_histogram");
  EXPECT_EQ(histogram->getArray("edges")->size(), kResidualHistogramBins + 1);
  EXPECT_EQ(histogram->getArray("counts")->size(), kResidualHistogramBins);
  EXPECT_FALSE(json->has("roc"));

  RegressionMetrics without(1, /*residuals=*/false);  // a recommender's rating errors
  ASSERT_TRUE(without.add(actual, guesses).ok());
  auto plain = without.report();
  ASSERT_TRUE(plain.ok());
  EXPECT_DOUBLE_EQ(plain->rmse, result->rmse);
  EXPECT_FALSE(plain->residuals.has_value());
}

}  // namespace
}  // namespace aimass::core
