// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/evaluation.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

TEST(EvaluationTest, TableAndJsonShowEveryFigure) {
  ClassificationMetrics metrics({"cat", "dog"});
  std::vector<std::int64_t> truth{0, 0, 1, 1}, predicted{0, 1, 1, 1};
  std::vector<float> p{0.9f, 0.1f, 0.4f, 0.6f, 0.2f, 0.8f, 0.3f, 0.7f};
  ASSERT_TRUE(metrics.add(truth, predicted, p).ok());
  EvaluationReport report{"eval", "clf", "test", *metrics.report(), std::nullopt, std::nullopt,
                          std::nullopt};
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
  EvaluationReport r2{"eval", "reg", "test", std::nullopt, *regression.report(), std::nullopt,
                      std::nullopt};
  auto array =
      Poco::JSON::Parser().parse(evaluationsJson({report, r2})).extract<Poco::JSON::Array::Ptr>();
  ASSERT_EQ(array->size(), 2u);
  EXPECT_NEAR(array->getObject(1)->getObject("metrics")->getValue<double>("mae"), 1.0 / 3, 1e-12);
  EXPECT_THAT(formatEvaluation(r2), HasSubstr("r2        0.5000"));
}

}  // namespace
}  // namespace aimass::core
