// SPDX-License-Identifier: Apache-2.0
// Outlier scores at serving (ServingRuntime::setOutlierScores): the outlier_score output with
// the profile's scorer, listed in the served schema, a planted outlier flagged and counted in
// /metrics, the batched path, and versions without a scorer served as before.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "aimass/core/serving.h"
#include "serving_test_support.h"
#include "data_profile.h"
#include "monitoring/outlier.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

/// Training data: `rows` rows of three standard normal features, the second correlated with
/// the first.
std::shared_ptr<const DataProfile> gaussianProfile(std::size_t rows) {
  DatasetSchema schema;
  schema.feature_names = {"a", "b", "c"};
  schema.row_shape = {3};
  auto builder = DataProfileBuilder::forSchema(schema);
  EXPECT_TRUE(builder.ok());
  std::mt19937 gen(11);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> values;
  for (std::size_t r = 0; r < rows; ++r) {
    const float a = normal(gen);
    values.insert(values.end(), {a, 0.8f * a + 0.6f * normal(gen), normal(gen)});
  }
  Batch batch;
  batch.features = Tensor::fromVector(values, {static_cast<std::int64_t>(rows), 3});
  EXPECT_TRUE(builder->add(batch).ok());
  return std::make_shared<const DataProfile>(builder->finish());
}

/// Sums each row of "input" into "y".
class RowSum final : public UnsavedModel {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRegression;
    s.inputs = {TensorSpec("input", DType::kFloat32, {-1, 3})};
    s.outputs = {TensorSpec("y", DType::kFloat32, {-1})};
    return s;
  }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("input");
    std::vector<float> sums(static_cast<std::size_t>(x->dim(0)));
    for (std::size_t r = 0; r < sums.size(); ++r) {
      const float* row = x->data<float>() + 3 * r;
      sums[r] = row[0] + row[1] + row[2];
    }
    outputs.set("y", Tensor::fromVector(sums, {x->dim(0)}));
    return okStatus();
  }
};

Expected<TensorMap> infer(ServingRuntime& runtime, const std::string& model,
                          const std::vector<float>& rows) {
  auto pinned = runtime.pin(model, "");
  if (!pinned.ok()) return pinned.status();
  TensorMap inputs;
  inputs.set("input",
             Tensor::fromVector(rows, {static_cast<std::int64_t>(rows.size() / 3), 3}));
  TensorMap outputs;
  Status status = (*pinned)->infer(inputs, PredictOptions(), outputs, nullptr);
  if (!status.ok()) return status;
  return outputs;
}

bool schemaLists(ServingRuntime& runtime, const std::string& model, const std::string& output) {
  auto served = runtime.find(model, "");
  EXPECT_TRUE(served.ok());
  for (const auto& spec : served->model->schema().outputs) {
    if (spec.name == output) return true;
  }
  return false;
}

/// A typical row, a planted outlier (every value in range, the correlation of a and b broken)
/// and a row with a gap.
const std::vector<float> kRows = {0.1f, 0.2f, -0.3f, 2.0f, -2.0f, 0.0f, NAN, 0.5f, 0.2f};

void expectScored(ServingRuntime& runtime, const std::string& model,
                  const OutlierScorer& scorer) {
  auto outputs = infer(runtime, model, kRows);
  ASSERT_TRUE(outputs.ok()) << outputs.status().message();
  ASSERT_NE(outputs->find("y"), nullptr) << "the model's own output is still there";
  const Tensor* scores = outputs->find("outlier_score");
  ASSERT_NE(scores, nullptr);
  ASSERT_EQ(scores->dtype(), DType::kFloat32);
  ASSERT_EQ(scores->shape(), (Shape{3}));
  for (std::size_t r = 0; r < 3; ++r) {
    const double expected = scorer.score(std::span<const float>(kRows.data() + 3 * r, 3));
    EXPECT_FLOAT_EQ(scores->data<float>()[r], static_cast<float>(expected)) << "row " << r;
  }
  EXPECT_LT(scores->data<float>()[0], scorer.threshold());
  EXPECT_GT(scores->data<float>()[1], scorer.threshold()) << "the planted outlier";
  EXPECT_LT(scores->data<float>()[2], scorer.threshold()) << "a gap counts as the mean";
}

TEST(OutlierServingTest, OnAddsTheScoreListsItInTheSchemaAndCountsOutliers) {
  ServingRuntime runtime;
  Logged log;
  runtime.setLog(log.sink());
  auto profile = gaussianProfile(2000);
  auto scorer = OutlierScorer::make(*profile);
  ASSERT_TRUE(scorer.ok()) << scorer.status().message();
  runtime.add("pumps", "1", std::make_shared<RowSum>(), "", profile);

  auto plain = infer(runtime, "pumps", kRows);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->find("outlier_score"), nullptr) << "off by default";
  EXPECT_FALSE(schemaLists(runtime, "pumps", "outlier_score"));
  EXPECT_THAT(runtime.prometheusMetrics(), Not(HasSubstr("aimass_outlier")));

  runtime.setOutlierScores("pumps", true);
  EXPECT_TRUE(schemaLists(runtime, "pumps", "outlier_score"));
  EXPECT_TRUE(schemaLists(runtime, "pumps", "y"));
  expectScored(runtime, "pumps", *scorer);
  expectScored(runtime, "pumps", *scorer);
  const std::string metrics = runtime.prometheusMetrics();
  EXPECT_THAT(metrics,
              HasSubstr("aimass_outlier_scored_rows_total{model=\"pumps\",version=\"1\"} 6"));
  EXPECT_THAT(metrics, HasSubstr("aimass_outliers_total{model=\"pumps\",version=\"1\"} 2"));
  EXPECT_THAT(log.all(), HasSubstr("model 'pumps' version '1' scores the rows of its 'input'"));

  runtime.setOutlierScores("pumps", false);
  EXPECT_FALSE(schemaLists(runtime, "pumps", "outlier_score"));
  auto again = infer(runtime, "pumps", kRows);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->find("outlier_score"), nullptr);
}

TEST(OutlierServingTest, BatchedRequestsAreScoredEachOnItsOwnRows) {
  ServingRuntime runtime;
  auto profile = gaussianProfile(2000);
  auto scorer = OutlierScorer::make(*profile);
  ASSERT_TRUE(scorer.ok());
  runtime.add("pumps", "1", std::make_shared<RowSum>(), "", profile);
  BatchingOptions batching;
  batching.max_batch_size = 16;
  batching.max_queue_delay_us = 100;
  runtime.setBatching("pumps", batching);
  runtime.setOutlierScores("", true);  // every model's setting
  expectScored(runtime, "pumps", *scorer);
  EXPECT_THAT(runtime.prometheusMetrics(),
              HasSubstr("aimass_outliers_total{model=\"pumps\",version=\"1\"} 1"));
}

TEST(OutlierServingTest, AVersionWithoutAScorerIsServedAsBeforeAndSaysWhy) {
  ServingRuntime runtime;
  Logged log;
  runtime.setLog(log.sink());
  runtime.add("older", "1", std::make_shared<RowSum>());
  runtime.add("small", "1", std::make_shared<RowSum>(), "", gaussianProfile(20));
  runtime.setOutlierScores("", true);
  for (const char* model : {"older", "small"}) {
    auto outputs = infer(runtime, model, kRows);
    ASSERT_TRUE(outputs.ok()) << model;
    EXPECT_EQ(outputs->find("outlier_score"), nullptr) << model;
    EXPECT_NE(outputs->find("y"), nullptr) << model;
    EXPECT_FALSE(schemaLists(runtime, model, "outlier_score")) << model;
  }
  EXPECT_THAT(log.all(), HasSubstr("model 'older' version '1': outlier_scores on does not apply "
                                   "(it has no training-data profile"));
  EXPECT_THAT(log.all(), HasSubstr("model 'small' version '1': outlier_scores on does not apply"));
  EXPECT_THAT(runtime.prometheusMetrics(), Not(HasSubstr("aimass_outlier")));
}

}  // namespace
}  // namespace aimass::core
