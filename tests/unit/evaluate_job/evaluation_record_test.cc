// SPDX-License-Identifier: Apache-2.0
// job.evaluate with a storage: the tracked run, its report and the model-version index.
#include "evaluation_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "aimass/core/dataset_registry.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/registry.h"
#include "aimass/core/tracking.h"
#include "evaluate_test_support.h"
#include "map_storage.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

/// Rows x = 0..n-1 with the class x % 2, fingerprinted "rows-n".
class ParityDataset final : public Dataset {
 public:
  explicit ParityDataset(std::uint64_t n) : n_(n) {
    schema_.row_shape = {1};
    schema_.label_kind = LabelKind::kClass;
    schema_.class_names = {"even", "odd"};
    schema_.num_targets = 1;
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return n_; }
  std::string fingerprint() const override { return "rows-" + std::to_string(n_); }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kFloat32, {n, 1});
    out.labels.resize(DType::kInt64, {n});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      out.features.data<float>()[i] = static_cast<float>(rows[i]);
      out.labels.data<std::int64_t>()[i] = static_cast<std::int64_t>(rows[i] % 2);
    }
    return Status();
  }

 private:
  std::uint64_t n_;
  DatasetSchema schema_;
};

/// Predicts the parity of x, with probability `confidence` for it; its saved state is its
/// confidence, so two confidences are two different sets of weights.
class ParityModel final : public Model {
 public:
  explicit ParityModel(float confidence) : confidence_(confidence) {}
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kClassification;
    s.inputs = {{"x", DType::kFloat32, {-1, 1}, false}};
    s.class_names = {"even", "odd"};
    return s;
  }
  bool ready() const override { return true; }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& out) const override {
    out = std::to_string(confidence_);
    return Status();
  }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("x");
    const std::int64_t n = x->dim(0);
    Tensor label(DType::kInt64, {n});
    Tensor probabilities(DType::kFloat32, {n, 2});
    for (std::int64_t i = 0; i < n; ++i) {
      const auto row = static_cast<std::int64_t>(x->data<float>()[i]);
      // Every fifth row is wrong, so the curves are not trivial.
      const std::int64_t guess = row % 5 == 0 ? 1 - row % 2 : row % 2;
      label.data<std::int64_t>()[i] = guess;
      const float p = guess == 1 ? confidence_ : 1 - confidence_;
      probabilities.data<float>()[2 * i] = 1 - p + 0.001F * static_cast<float>(row % 3);
      probabilities.data<float>()[2 * i + 1] = p - 0.001F * static_cast<float>(row % 3);
    }
    outputs.set("label", label);
    outputs.set("probabilities", probabilities);
    return Status();
  }

 private:
  float confidence_;
};

/// A MapStorage whose puts under `failing` fail, standing for a full disk.
class FailingStorage final : public Storage {
 public:
  std::string describe() const override { return "failing:test"; }
  Status put(std::string_view key, std::string_view value) override {
    if (!failing.empty() && key.starts_with(failing)) {
      return Status(StatusCode::kResourceExhausted, "disk full");
    }
    return map.put(key, value);
  }
  Expected<std::string> get(std::string_view key) const override { return map.get(key); }
  Expected<std::vector<std::string>> list(std::string_view prefix) const override {
    return map.list(prefix);
  }
  Status remove(std::string_view key) override { return map.remove(key); }
  Expected<bool> compareAndSet(std::string_view key, std::optional<std::string_view> expected,
                               std::string_view desired) override {
    return map.compareAndSet(key, expected, desired);
  }
  aimass::testing::MapStorage map;
  std::string failing;
};

class EvaluationRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    // Version 1 of "clf" holds the weights of confidence 0.9, version 2 those of 0.8.
    ModelRegistry registry(*storage_);
    for (float confidence : {0.9F, 0.8F}) {
      const std::string key = "models/clf/" + std::to_string(confidence) + ".aimass";
      ASSERT_TRUE(saveModel(ParityModel(confidence), "model.parity", *storage_, key).ok());
      NewModelVersion info;
      info.artifact_key = key;
      info.node = "clf";
      info.node_type = "model.parity";
      ASSERT_TRUE(registry.registerVersion("clf", info).ok());
    }
    NewDatasetVersion data;
    data.type = "dataset.parity";
    data.sha256 = std::string(64, 'b');
    data.rows = 40;
    data.fingerprint = "rows-40";
    ASSERT_TRUE(DatasetRegistry(*storage_).registerVersion("holdout", data).ok());
  }

  Status run(float confidence, std::uint64_t rows = 40, const std::string& job = "score") {
    EvaluateTargets targets;
    targets.model = std::make_shared<ParityModel>(confidence);
    targets.model_name = "clf";
    targets.dataset = std::make_shared<ParityDataset>(rows);
    targets.dataset_name = "holdout";
    targets.batch_size = 16;
    targets.storage = storage_;
    job_ = std::make_unique<EvaluateJob>(job, std::move(targets));
    return job_->run(host_, progress_);
  }

  std::shared_ptr<FailingStorage> storage_ = std::make_shared<FailingStorage>();
  HostServices host_{std::filesystem::temp_directory_path(), 1};
  testing::RecordingProgress progress_;
  std::unique_ptr<EvaluateJob> job_;
};

TEST_F(EvaluationRecordTest, ARegisteredVersionIsRecordedAsAFinishedRunWithItsReport) {
  ASSERT_TRUE(run(0.8F).ok());
  Tracking tracking(*storage_);
  auto runs = tracking.listRuns({});
  ASSERT_TRUE(runs.ok()) << runs.status().toString();
  ASSERT_EQ(runs->runs.size(), 1U);
  const RunRecord& record = runs->runs.front();
  EXPECT_EQ(record.experiment, "evaluation");
  EXPECT_EQ(record.node, "score");
  EXPECT_EQ(record.node_type, "job.evaluate");
  EXPECT_EQ(record.status, RunStatus::kFinished);
  EXPECT_EQ(record.params.at("model"), "clf");
  EXPECT_EQ(record.params.at("model_version"), "clf/2");  // the weights of 0.8
  EXPECT_EQ(record.params.at("dataset"), "holdout");
  EXPECT_EQ(record.params.at("dataset_version"), "1");  // fingerprint and rows match
  EXPECT_EQ(record.params.at("task"), "classification");
  const ClassificationReport& c = *job_->report()->classification;
  EXPECT_DOUBLE_EQ(record.metrics.at("accuracy"), c.accuracy);
  EXPECT_DOUBLE_EQ(record.metrics.at("macro_f1"), c.macro_f1);
  EXPECT_DOUBLE_EQ(record.metrics.at("roc_auc"), *c.roc_auc);
  EXPECT_DOUBLE_EQ(record.metrics.at("average_precision"), c.curves->average_precision);
  EXPECT_EQ(record.artifacts.at("evaluation"), evaluationKey(record.id));

  auto stored = storedEvaluation(*storage_, record.id);
  ASSERT_TRUE(stored.ok()) << stored.status().toString();
  EXPECT_EQ(*stored, evaluationJson(*job_->report()));

  auto listed = versionEvaluations(*storage_, "clf", 2);
  ASSERT_TRUE(listed.ok()) << listed.status().toString();
  ASSERT_EQ(listed->size(), 1U);
  EXPECT_EQ(listed->front().run_id, record.id);
  EXPECT_EQ(listed->front().dataset, "holdout");
  EXPECT_EQ(listed->front().dataset_version, 1);
  EXPECT_EQ(listed->front().unix_ms, record.end_unix_ms);
  EXPECT_DOUBLE_EQ(listed->front().metrics.at("accuracy"), c.accuracy);
  auto other = versionEvaluations(*storage_, "clf", 1);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_F(EvaluationRecordTest, EvaluationsOfAVersionAreListedNewestFirst) {
  ASSERT_TRUE(run(0.9F, 40, "first").ok());
  ASSERT_TRUE(run(0.9F, 30, "second").ok());  // other data: no registered version of it
  auto listed = versionEvaluations(*storage_, "clf", 1);
  ASSERT_TRUE(listed.ok()) << listed.status().toString();
  ASSERT_EQ(listed->size(), 2U);
  EXPECT_GT(listed->at(0).run_id, listed->at(1).run_id);
  EXPECT_EQ(listed->at(0).dataset_version, 0);
  EXPECT_EQ(listed->at(1).dataset_version, 1);
}

TEST_F(EvaluationRecordTest, WeightsNoVersionHoldAreRecordedWithoutAVersion) {
  ASSERT_TRUE(run(0.7F).ok());
  auto record = Tracking(*storage_).getRun(1);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->params.count("model_version"), 0U);
  EXPECT_TRUE(storedEvaluation(*storage_, 1).ok());
  EXPECT_TRUE(storage_->map.list("tracking/model-evaluations/").value().empty());
}

TEST_F(EvaluationRecordTest, MissingRunsAndVersionsAreNotFoundSayingWhich) {
  auto none = storedEvaluation(*storage_, 7);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("no run 7"));
  // A run of job.train has no evaluation.
  NewRun train;
  train.experiment = "demo";
  train.node = "train";
  auto logger = Tracking(*storage_).startRun(train);
  ASSERT_TRUE(logger.ok());
  ASSERT_TRUE((*logger)->finish(RunStatus::kFinished).ok());
  auto missing = storedEvaluation(*storage_, (*logger)->id());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("has no evaluation"));
  EXPECT_EQ(versionEvaluations(*storage_, "clf", 9).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(versionEvaluations(*storage_, "nope", 1).status().code(), StatusCode::kNotFound);
}

TEST_F(EvaluationRecordTest, AReportThatCannotBeStoredFailsTheJobAndTheRun) {
  storage_->failing = "tracking/evaluations/";
  Status status = run(0.8F);
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("could not record it in failing:test"));
  EXPECT_THAT(status.message(), HasSubstr("tracking/evaluations/0000000001"));
  auto record = Tracking(*storage_).getRun(1);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->status, RunStatus::kFailed);
  EXPECT_THAT(record->error, HasSubstr("disk full"));
  EXPECT_TRUE(versionEvaluations(*storage_, "clf", 2).value().empty());
}

TEST(HeadlineMetricsTest, RegressionAndAbsentMetrics) {
  EvaluationReport report;
  report.regression = RegressionReport{};
  report.regression->rmse = 2;
  report.regression->mae = 1;
  report.regression->r2 = 0.5;
  EXPECT_EQ(headlineMetrics(report),
            (std::map<std::string, double>{{"mae", 1}, {"r2", 0.5}, {"rmse", 2}}));
  EvaluationReport classification;
  classification.classification = ClassificationReport{};
  auto metrics = headlineMetrics(classification);
  EXPECT_EQ(metrics.count("roc_auc"), 0U);
  EXPECT_EQ(metrics.count("accuracy"), 1U);
}

}  // namespace
}  // namespace aimass::core
