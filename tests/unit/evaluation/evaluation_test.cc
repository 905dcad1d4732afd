// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/evaluation.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

/// The committed output of make_fixtures.py: scikit-learn's metrics on fixed predictions.
Poco::JSON::Array::Ptr sklearnCases() {
  std::ifstream in(AIMASS_SOURCE_DIR "/tests/unit/evaluation/sklearn_fixtures.json");
  std::stringstream text;
  text << in.rdbuf();
  auto root = Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>();
  return root->getArray("cases");
}

template <typename T>
std::vector<T> numbers(const Poco::JSON::Object::Ptr& object, const std::string& key) {
  std::vector<T> out;
  auto array = object->getArray(key);
  for (std::size_t i = 0; i < array->size(); ++i) {
    out.push_back(array->getElement<T>(static_cast<unsigned>(i)));
  }
  return out;
}

TEST(EvaluationTest, ClassificationMatchesScikitLearn) {
  auto cases = sklearnCases();
  int checked = 0;
  for (std::size_t index = 0; index < cases->size(); ++index) {
    auto c = cases->getObject(static_cast<unsigned>(index));
    if (c->getValue<std::string>("task") != "classification") {
      continue;
    }
    SCOPED_TRACE(c->getValue<std::string>("name"));
    const int classes = c->getValue<int>("classes");
    std::vector<std::string> names;
    for (int k = 0; k < classes; ++k) {
      names.push_back("c" + std::to_string(k));
    }
    auto truth = numbers<std::int64_t>(c, "truth");
    auto predicted = numbers<std::int64_t>(c, "predicted");
    auto probabilities64 = numbers<double>(c, "probabilities");
    std::vector<float> probabilities(probabilities64.begin(), probabilities64.end());

    // Fed in two uneven batches, as job.evaluate does, to check the accumulation.
    ClassificationMetrics metrics(names);
    const std::size_t split = truth.size() / 3;
    ASSERT_TRUE(metrics
                    .add(std::span(truth).first(split), std::span(predicted).first(split),
                         std::span(probabilities).first(split * classes))
                    .ok());
    ASSERT_TRUE(metrics
                    .add(std::span(truth).subspan(split), std::span(predicted).subspan(split),
                         std::span(probabilities).subspan(split * classes))
                    .ok());
    auto report = metrics.report();
    ASSERT_TRUE(report.ok()) << report.status().toString();
    EXPECT_EQ(report->rows, truth.size());
    // Accuracy is a ratio of counts: it must match exactly.
    EXPECT_EQ(report->accuracy, c->getValue<double>("accuracy"));
    EXPECT_NEAR(report->macro_precision, c->getValue<double>("macro_precision"), 1e-12);
    EXPECT_NEAR(report->macro_recall, c->getValue<double>("macro_recall"), 1e-12);
    EXPECT_NEAR(report->macro_f1, c->getValue<double>("macro_f1"), 1e-12);
    auto precision = numbers<double>(c, "precision");
    auto recall = numbers<double>(c, "recall");
    auto f1 = numbers<double>(c, "f1");
    auto support = numbers<std::uint64_t>(c, "support");
    ASSERT_EQ(report->classes.size(), static_cast<std::size_t>(classes));
    for (int k = 0; k < classes; ++k) {
      EXPECT_NEAR(report->classes[k].precision, precision[k], 1e-12) << "class " << k;
      EXPECT_NEAR(report->classes[k].recall, recall[k], 1e-12) << "class " << k;
      EXPECT_NEAR(report->classes[k].f1, f1[k], 1e-12) << "class " << k;
      EXPECT_EQ(report->classes[k].support, support[k]) << "class " << k;
      auto row = c->getArray("confusion")->getArray(static_cast<unsigned>(k));
      for (int p = 0; p < classes; ++p) {
        EXPECT_EQ(report->confusion[k][p], row->getElement<std::uint64_t>(p))
            << "true " << k << " predicted " << p;
      }
    }
    ASSERT_TRUE(report->log_loss.has_value());
    EXPECT_NEAR(*report->log_loss, c->getValue<double>("log_loss"), 1e-6);
    ASSERT_TRUE(report->roc_auc.has_value());
    EXPECT_NEAR(*report->roc_auc, c->getValue<double>("roc_auc"), 1e-12);
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

TEST(EvaluationTest, RegressionMatchesScikitLearn) {
  auto cases = sklearnCases();
  int checked = 0;
  for (std::size_t index = 0; index < cases->size(); ++index) {
    auto c = cases->getObject(static_cast<unsigned>(index));
    if (c->getValue<std::string>("task") != "regression") {
      continue;
    }
    SCOPED_TRACE(c->getValue<std::string>("name"));
    auto truth64 = numbers<double>(c, "truth");
    auto predicted64 = numbers<double>(c, "predicted");
    std::vector<float> truth(truth64.begin(), truth64.end());
    std::vector<float> predicted(predicted64.begin(), predicted64.end());
    RegressionMetrics metrics(c->getValue<std::int64_t>("targets"));
    ASSERT_TRUE(metrics.add(truth, predicted).ok());
    auto report = metrics.report();
    ASSERT_TRUE(report.ok()) << report.status().toString();
    EXPECT_NEAR(report->rmse, c->getValue<double>("rmse"), 1e-9);
    EXPECT_NEAR(report->mae, c->getValue<double>("mae"), 1e-9);
    EXPECT_NEAR(report->r2, c->getValue<double>("r2"), 1e-9);
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

TEST(EvaluationTest, UndefinedAucIsAbsentAndBadInputIsRefused) {
  ClassificationMetrics metrics({"a", "b", "c"});
  // Class "c" never occurs: its one-vs-rest AUC, and so the macro AUC, is undefined.
  std::vector<std::int64_t> truth{0, 1, 0, 1};
  std::vector<std::int64_t> predicted{0, 1, 1, 1};
  std::vector<float> p{0.8f, 0.1f, 0.1f, 0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f, 0.1f, 0.8f, 0.1f};
  ASSERT_TRUE(metrics.add(truth, predicted, p).ok());
  auto report = metrics.report();
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->roc_auc.has_value());
  EXPECT_TRUE(report->log_loss.has_value());
  EXPECT_EQ(report->classes[2].support, 0u);
  EXPECT_EQ(report->classes[2].recall, 0.0);

  std::vector<std::int64_t> bad{0, 3};
  std::vector<std::int64_t> two{0, 1};
  std::vector<float> six(6, 0.5f);
  Status status = metrics.add(bad, two, six);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("row 1: true class 3 is outside [0, 3)"));
  status = metrics.add(two, two, {});
  EXPECT_THAT(status.message(), HasSubstr("probabilities missing"));
  std::vector<float> nan(6, 0.5f);
  nan[4] = std::nanf("");
  status = metrics.add(two, two, nan);
  EXPECT_THAT(status.message(), HasSubstr("row 1: probability"));
  EXPECT_EQ(metrics.report()->rows, 4u);  // nothing was added by the failed calls

  EXPECT_EQ(ClassificationMetrics({"a", "b"}).report().status().code(),
            StatusCode::kFailedPrecondition);
  RegressionMetrics regression(1);
  std::vector<float> y{1, 2}, short_prediction{1};
  EXPECT_EQ(regression.add(y, short_prediction).code(), StatusCode::kInvalidArgument);
  // Constant truth: R² is 1 for exact predictions and 0 otherwise, as scikit-learn says.
  std::vector<float> constant{2, 2};
  ASSERT_TRUE(regression.add(constant, constant).ok());
  EXPECT_EQ(regression.report()->r2, 1.0);
  std::vector<float> off{2, 3};
  ASSERT_TRUE(regression.add(constant, off).ok());
  EXPECT_EQ(regression.report()->r2, 0.0);
}

/// A report of job "eval" on dataset "test" with no metrics yet.
EvaluationReport reportOf(std::string model) {
  EvaluationReport report;
  report.job = "eval";
  report.model = std::move(model);
  report.dataset = "test";
  return report;
}

TEST(EvaluationTest, TableAndJsonShowEveryFigure) {
  ClassificationMetrics metrics({"cat", "dog"});
  std::vector<std::int64_t> truth{0, 0, 1, 1}, predicted{0, 1, 1, 1};
  std::vector<float> p{0.9f, 0.1f, 0.4f, 0.6f, 0.2f, 0.8f, 0.3f, 0.7f};
  ASSERT_TRUE(metrics.add(truth, predicted, p).ok());
  EvaluationReport report = reportOf("clf");
  report.classification = *metrics.report();
  std::string table = formatEvaluation(report);
  EXPECT_THAT(table, HasSubstr("accuracy  0.7500"));
  EXPECT_THAT(table, HasSubstr("ROC-AUC   1.0000"));
  EXPECT_THAT(table, HasSubstr("\n  cat             1.0000   0.5000   0.6667         2\n"));
  EXPECT_THAT(table, HasSubstr("confusion matrix"));
  EXPECT_THAT(table, HasSubstr("  cat           1   1\n"));

  auto object =
      Poco::JSON::Parser().parse(evaluationJson(report)).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(object->getValue<std::string>("task"), "classification");
  EXPECT_EQ(object->getObject("metrics")->getValue<double>("accuracy"), 0.75);
  EXPECT_EQ(object->getArray("confusion_matrix")->getArray(0)->getElement<int>(1), 1);
  EXPECT_EQ(object->getArray("classes")->getObject(1)->getValue<std::string>("name"), "dog");

  RegressionMetrics regression(1);
  std::vector<float> y{1, 2, 3}, yhat{1, 2, 4};
  ASSERT_TRUE(regression.add(y, yhat).ok());
  EvaluationReport r2 = reportOf("reg");
  r2.regression = *regression.report();
  auto array =
      Poco::JSON::Parser().parse(evaluationsJson({report, r2})).extract<Poco::JSON::Array::Ptr>();
  ASSERT_EQ(array->size(), 2u);
  EXPECT_NEAR(array->getObject(1)->getObject("metrics")->getValue<double>("mae"), 1.0 / 3, 1e-12);
  EXPECT_THAT(formatEvaluation(r2), HasSubstr("r2        0.5000"));
}

TEST(RankingMetricsTest, HandComputedUsers) {
  RankingMetrics metrics(3);
  // A: hits at ranks 1 and 3 of 4 relevant items. precision 2/3, recall 2/4,
  // DCG 1 + 1/log2(4) = 1.5, IDCG over min(4, 3) = 3 ranks 1 + 1/log2(3) + 1/2,
  // AP (1/1 + 2/3) / min(4, 3) = 5/9.
  std::vector<std::string> a{"a", "x", "b"};
  ASSERT_TRUE(metrics.add(a, {"a", "b", "c", "d"}, false).ok());
  // B (unknown, given the fallback): a hit at rank 2, padding after. precision 1/3, recall 1,
  // NDCG 1/log2(3), AP (1/2) / 1.
  std::vector<std::string> b{"z", "y", ""};
  ASSERT_TRUE(metrics.add(b, {"y"}, true).ok());
  // C has no relevant item: skipped.
  ASSERT_TRUE(metrics.add(a, {}, true).ok());
  // D: its one relevant item first and repeated (counted once); items beyond k are ignored.
  std::vector<std::string> d{"q", "q", "r", "q"};
  ASSERT_TRUE(metrics.add(d, {"q"}, false).ok());
  auto report = metrics.report();
  ASSERT_TRUE(report.ok()) << report.status().toString();
  const double third = 1 / std::log2(3.0);
  EXPECT_EQ(report->k, 3);
  EXPECT_EQ(report->users, 3u);
  EXPECT_EQ(report->fallback_users, 1u);
  EXPECT_NEAR(report->precision_at_k, (2.0 / 3 + 1.0 / 3 + 1.0 / 3) / 3, 1e-15);
  EXPECT_NEAR(report->recall_at_k, (0.5 + 1 + 1) / 3, 1e-15);
  EXPECT_NEAR(report->ndcg_at_k, (1.5 / (1.5 + third) + third + 1) / 3, 1e-15);
  EXPECT_NEAR(report->map_at_k, (5.0 / 9 + 0.5 + 1) / 3, 1e-15);
}

TEST(RankingMetricsTest, NoUserAndBadK) {
  EXPECT_EQ(RankingMetrics(5).report().status().code(), StatusCode::kFailedPrecondition);
  std::vector<std::string> items{"a"};
  EXPECT_THAT(RankingMetrics(0).add(items, {"a"}, false).message(),
              HasSubstr("k must be at least 1"));
}

TEST(EvaluationTest, ClusteringAndRecommendationReportsPrintTheirMetrics) {
  ClusteringReport c;
  c.rows = 12;
  c.clusters = 4;
  c.clusters_used = 3;
  c.inertia = 14.5;
  c.inertia_from_distances = true;
  c.silhouette = 0.25;
  c.silhouette_rows = 12;
  c.davies_bouldin = 0.75;
  EvaluationReport clustering = reportOf("km");
  clustering.clustering = c;
  std::string table = formatEvaluation(clustering);
  EXPECT_THAT(table, HasSubstr("clusters        3 used of 4\n"));
  EXPECT_THAT(table, HasSubstr("inertia         14.5000 (to the model's centres)\n"));
  EXPECT_THAT(table, HasSubstr("silhouette      0.2500 (12 rows)\n"));
  EXPECT_THAT(table, HasSubstr("Davies-Bouldin  0.7500\n"));
  EXPECT_THAT(table, ::testing::Not(HasSubstr("NMI")));
  auto object =
      Poco::JSON::Parser().parse(evaluationJson(clustering)).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(object->getValue<std::string>("task"), "clustering");
  auto metrics = object->getObject("metrics");
  EXPECT_EQ(metrics->getValue<double>("inertia"), 14.5);
  EXPECT_EQ(metrics->getValue<double>("silhouette"), 0.25);
  EXPECT_EQ(metrics->getValue<double>("davies_bouldin"), 0.75);
  EXPECT_TRUE(metrics->isNull("adjusted_rand"));
  EXPECT_TRUE(metrics->isNull("nmi"));
  EXPECT_EQ(metrics->getValue<std::string>("inertia_from"), "distances");

  RecommendationReport r;
  r.rows = 20;
  r.rmse = 0.5;
  r.mae = 0.25;
  r.unknown_pairs = 2;
  r.relevance_threshold = 4;
  r.ranking.k = 5;
  r.ranking.users = 6;
  r.ranking.fallback_users = 1;
  r.ranking.precision_at_k = 0.2;
  r.ranking.recall_at_k = 0.4;
  r.ranking.ndcg_at_k = 0.3;
  r.ranking.map_at_k = 0.1;
  EvaluationReport recommendation = reportOf("mf");
  recommendation.recommendation = r;
  table = formatEvaluation(recommendation);
  EXPECT_THAT(table, HasSubstr("rmse            0.5000\n"));
  EXPECT_THAT(table, HasSubstr("users           6 (1 unknown, given the fallback)\n"));
  EXPECT_THAT(table, HasSubstr("relevant        rating >= 4.00\n"));
  EXPECT_THAT(table, HasSubstr("precision@5     0.2000\n"));
  EXPECT_THAT(table, HasSubstr("MAP@5           0.1000\n"));
  object =
      Poco::JSON::Parser().parse(evaluationJson(recommendation)).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(object->getValue<std::string>("task"), "recommendation");
  EXPECT_EQ(object->getValue<int>("rows"), 20);
  metrics = object->getObject("metrics");
  EXPECT_EQ(metrics->getValue<double>("rmse"), 0.5);
  EXPECT_EQ(metrics->getValue<double>("mae"), 0.25);
  EXPECT_EQ(metrics->getValue<double>("precision_at_k"), 0.2);
  EXPECT_EQ(metrics->getValue<double>("recall_at_k"), 0.4);
  EXPECT_EQ(metrics->getValue<double>("ndcg_at_k"), 0.3);
  EXPECT_EQ(metrics->getValue<double>("map_at_k"), 0.1);
  EXPECT_EQ(metrics->getValue<int>("k"), 5);
  EXPECT_EQ(metrics->getValue<int>("users"), 6);
  EXPECT_EQ(metrics->getValue<int>("fallback_users"), 1);
  EXPECT_EQ(metrics->getValue<int>("unknown_pairs"), 2);
  EXPECT_EQ(metrics->getValue<double>("relevance_threshold"), 4.0);
}

}  // namespace
}  // namespace aimass::core
