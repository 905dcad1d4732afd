// SPDX-License-Identifier: Apache-2.0
#include "monitoring/gate.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

/// A classification report of `rows` rows with the given accuracy and per-class recalls.
EvaluationReport classification(double accuracy, std::vector<double> recalls,
                                std::uint64_t rows = 1000) {
  EvaluationReport report;
  ClassificationReport c;
  c.rows = rows;
  c.accuracy = accuracy;
  const char* names[] = {"ok", "leak", "clog", "wear"};
  for (std::size_t i = 0; i < recalls.size(); ++i) {
    c.classes.push_back(ClassScores{names[i], 0.5, recalls[i], 0.5, rows / recalls.size()});
  }
  c.confusion.assign(recalls.size(), std::vector<std::uint64_t>(recalls.size(), 0));
  c.log_loss = 1 - accuracy;
  report.classification = c;
  return report;
}

EvaluationReport regression(double rmse, std::uint64_t rows = 500) {
  EvaluationReport report;
  RegressionReport r;
  r.rows = rows;
  r.targets = 1;
  r.rmse = rmse;
  r.mae = rmse / 2;
  report.regression = r;
  return report;
}

TEST(Gate, AChallengerBetterByTheMarginPasses) {
  GateSpec spec;
  spec.metric = "accuracy";
  spec.margin = 0.01;
  auto report = judgeGate(classification(0.88, {0.9, 0.8}), classification(0.90, {0.9, 0.85}), spec);
  ASSERT_TRUE(report.ok()) << report.status().toString();
  EXPECT_TRUE(report->passed) << report->reason;
  EXPECT_NEAR(report->improvement, 0.02, 1e-12);
  EXPECT_FALSE(report->lower_is_better);
  EXPECT_EQ(report->rows, 1000u);
  EXPECT_THAT(report->reason, HasSubstr(">= margin 0.01"));
}

TEST(Gate, AChallengerBetterByLessThanTheMarginOrWorseFails) {
  GateSpec spec;
  spec.margin = 0.01;
  auto close = judgeGate(classification(0.88, {0.9, 0.8}), classification(0.885, {0.9, 0.8}), spec);
  ASSERT_TRUE(close.ok());
  EXPECT_FALSE(close->passed);
  EXPECT_THAT(close->reason, HasSubstr("< margin 0.01"));
  auto worse = judgeGate(classification(0.88, {0.9, 0.8}), classification(0.70, {0.9, 0.5}), spec);
  ASSERT_TRUE(worse.ok());
  EXPECT_FALSE(worse->passed);
  EXPECT_LT(worse->improvement, 0);
}

TEST(Gate, LowerIsBetterForLossesAndErrors) {
  GateSpec spec;
  spec.metric = "rmse";
  spec.margin = 0.05;
  auto better = judgeGate(regression(1.0), regression(0.9), spec);
  ASSERT_TRUE(better.ok()) << better.status().toString();
  EXPECT_TRUE(better->lower_is_better);
  EXPECT_TRUE(better->passed) << better->reason;
  auto worse = judgeGate(regression(1.0), regression(1.2), spec);
  ASSERT_TRUE(worse.ok());
  EXPECT_FALSE(worse->passed);
  EXPECT_TRUE(gateLowerIsBetter("log_loss"));
  EXPECT_TRUE(gateLowerIsBetter("baseline_mae"));
  EXPECT_FALSE(gateLowerIsBetter("macro_f1"));
}

TEST(Gate, AClassWhoseRecallFallsBeyondTheBoundFailsAnOtherwiseBetterChallenger) {
  GateSpec spec;
  spec.margin = 0.0;
  spec.max_class_regression = 0.05;
  auto report = judgeGate(classification(0.80, {0.9, 0.7, 0.8}),
                          classification(0.85, {0.99, 0.6, 0.95}), spec);
  ASSERT_TRUE(report.ok()) << report.status().toString();
  EXPECT_FALSE(report->passed);
  EXPECT_THAT(report->reason, HasSubstr("class 'leak' recall falls by 0.1"));
  ASSERT_EQ(report->classes.size(), 3u);
  EXPECT_EQ(report->classes[1].name, "leak");
  spec.max_class_regression = 0.2;
  auto lenient = judgeGate(classification(0.80, {0.9, 0.7, 0.8}),
                           classification(0.85, {0.99, 0.6, 0.95}), spec);
  ASSERT_TRUE(lenient.ok());
  EXPECT_TRUE(lenient->passed) << lenient->reason;
}

TEST(Gate, MismatchedReportsAndUnknownMetricsAreRefusedNamingThem) {
  GateSpec spec;
  auto rows = judgeGate(classification(0.8, {0.8, 0.8}, 1000), classification(0.9, {0.9, 0.9}, 999),
                        spec);
  EXPECT_EQ(rows.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(), HasSubstr("1000 rows (champion)"));
  auto task = judgeGate(classification(0.8, {0.8}), regression(1.0, 1000), spec);
  EXPECT_EQ(task.status().code(), StatusCode::kInvalidArgument);
  spec.metric = "rmse";
  auto metric = judgeGate(classification(0.8, {0.8}), classification(0.9, {0.9}), spec);
  EXPECT_EQ(metric.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(metric.status().message(), HasSubstr("'rmse'"));
  EXPECT_THAT(metric.status().message(), HasSubstr("accuracy"));
  spec.metric = "rmse";
  spec.max_class_regression = 0.1;
  auto classes = judgeGate(regression(1.0), regression(0.5), spec);
  EXPECT_THAT(classes.status().message(), HasSubstr("classification"));
}

TEST(Gate, SpecsAreCheckedNamingTheField) {
  GateSpec spec;
  spec.margin = -0.1;
  EXPECT_THAT(validateGateSpec(spec, "policy.gate").message(), HasSubstr("policy.gate: margin"));
  spec.margin = 0;
  spec.max_class_regression = 1.5;
  EXPECT_THAT(validateGateSpec(spec, "g").message(), HasSubstr("max_class_regression"));
  spec.max_class_regression.reset();
  spec.metric.clear();
  EXPECT_THAT(validateGateSpec(spec, "g").message(), HasSubstr("metric"));
}

TEST(Gate, TheReportIsOneJsonObjectWithEveryField) {
  GateSpec spec;
  spec.max_class_regression = 0.5;
  auto report = judgeGate(classification(0.8, {0.8, 0.7}), classification(0.9, {0.9, 0.8}), spec);
  ASSERT_TRUE(report.ok());
  auto json = Poco::JSON::Parser().parse(report->json()).extract<Poco::JSON::Object::Ptr>();
  EXPECT_TRUE(json->getValue<bool>("passed"));
  EXPECT_EQ(json->getValue<std::string>("metric"), "accuracy");
  EXPECT_NEAR(json->getValue<double>("improvement"), 0.1, 1e-12);
  EXPECT_EQ(json->getArray("classes")->size(), 2u);
  EXPECT_EQ(json->getValue<std::string>("reason"), report->reason);
}

}  // namespace
}  // namespace aimass::core
