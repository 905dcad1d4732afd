// SPDX-License-Identifier: Apache-2.0
#include "evaluate_job.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/core/type_registry.h"
#include "evaluate_test_support.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

/// Rows x = 0, 1, ..., n-1 (one feature) with labels from `label_of`.
class TableDataset final : public Dataset {
 public:
  TableDataset(std::uint64_t n, LabelKind kind, std::vector<std::string> classes = {}) : n_(n) {
    schema_.row_shape = {1};
    schema_.label_kind = kind;
    schema_.class_names = std::move(classes);
    schema_.num_targets = kind == LabelKind::kNone ? 0 : 1;
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return n_; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kFloat32, {n, 1});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      out.features.data<float>()[i] = static_cast<float>(rows[i]);
    }
    if (schema_.label_kind == LabelKind::kClass) {
      out.labels.resize(DType::kInt64, {n});
      for (std::size_t i = 0; i < rows.size(); ++i) {
        out.labels.data<std::int64_t>()[i] = static_cast<std::int64_t>(rows[i] % 2);
      }
    } else if (schema_.label_kind == LabelKind::kValue) {
      out.labels.resize(DType::kFloat32, {n, 1});
      for (std::size_t i = 0; i < rows.size(); ++i) {
        out.labels.data<float>()[i] = 2.0f * static_cast<float>(rows[i]);
      }
    }
    return Status();
  }

 private:
  std::uint64_t n_;
  DatasetSchema schema_;
};

/// Regression: prediction = 2x + offset. Classification: label = (x % 2) except every third
/// row, which is predicted as class 0; no probabilities.
class FakeModel final : public testing::UnsavedModel {
 public:
  FakeModel(Task task, bool ready, float offset = 0, std::vector<std::string> classes = {})
      : task_(task), ready_(ready), offset_(offset), classes_(std::move(classes)) {}
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = task_;
    s.inputs = {{"x", DType::kFloat32, {-1, 1}, false}};
    s.class_names = classes_;
    return s;
  }
  bool ready() const override { return ready_; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("x");
    if (x == nullptr) {
      return invalidArgument("no input x");
    }
    const std::int64_t n = x->dim(0);
    if (task_ == Task::kRegression) {
      Tensor y(DType::kFloat32, {n, 1});
      for (std::int64_t i = 0; i < n; ++i) {
        y.data<float>()[i] = 2 * x->data<float>()[i] + offset_;
      }
      outputs.set("prediction", y);
    } else {
      Tensor label(DType::kInt64, {n});
      for (std::int64_t i = 0; i < n; ++i) {
        auto row = static_cast<std::int64_t>(x->data<float>()[i]);
        label.data<std::int64_t>()[i] = row % 3 == 0 ? 0 : row % 2;
      }
      outputs.set("label", label);
    }
    return Status();
  }

 private:
  Task task_;
  bool ready_;
  float offset_;
  std::vector<std::string> classes_;
};

class EvaluateJobTest : public testing::TemporaryFolderTest {
 protected:
  Status run(std::shared_ptr<const Model> model, std::shared_ptr<const Dataset> data,
             fs::path output = {}, std::uint64_t batch_size = 7) {
    EvaluateTargets targets;
    targets.model = std::move(model);
    targets.model_name = "m";
    targets.dataset = std::move(data);
    targets.dataset_name = "d";
    targets.batch_size = batch_size;
    targets.output = std::move(output);
    job_ = std::make_unique<EvaluateJob>("eval", std::move(targets));
    return job_->run(host_, progress_);
  }

  HostServices host_{fs::temp_directory_path(), 1};
  testing::RecordingProgress progress_;
  std::unique_ptr<EvaluateJob> job_;
};

TEST_F(EvaluateJobTest, ClassifierIsScoredAcrossBatchesWithoutProbabilities) {
  auto data = std::make_shared<TableDataset>(30, LabelKind::kClass,
                                             std::vector<std::string>{"even", "odd"});
  ASSERT_TRUE(run(std::make_shared<FakeModel>(Task::kClassification, true), data).ok());
  const auto& report = job_->report();
  ASSERT_TRUE(report && report->classification);
  const ClassificationReport& c = *report->classification;
  EXPECT_EQ(c.rows, 30u);
  // Rows 3, 9, 15, 21, 27 are odd but predicted even: 25 of 30 right.
  EXPECT_DOUBLE_EQ(c.accuracy, 25.0 / 30);
  EXPECT_EQ(c.confusion[1][0], 5u);
  EXPECT_EQ(c.confusion[0][0], 15u);
  EXPECT_FALSE(c.log_loss.has_value());
  EXPECT_FALSE(c.roc_auc.has_value());
  EXPECT_EQ(progress_.last, "accuracy=0.8333 macro_f1=0.8286");
}

TEST_F(EvaluateJobTest, RegressionReportIsWrittenWholeToTheOutputFile) {
  auto data = std::make_shared<TableDataset>(10, LabelKind::kValue);
  const fs::path output = dir_ / "report.json";
  ASSERT_TRUE(run(std::make_shared<FakeModel>(Task::kRegression, true, 0.5f), data, output).ok());
  const RegressionReport& r = *job_->report()->regression;
  EXPECT_EQ(r.rows, 10u);
  EXPECT_DOUBLE_EQ(r.rmse, 0.5);
  EXPECT_DOUBLE_EQ(r.mae, 0.5);
  // SS_tot of 0, 2, ..., 18 is 330; SS_res is 10 * 0.25.
  EXPECT_NEAR(r.r2, 1 - 2.5 / 330, 1e-12);
  std::ifstream in(output);
  std::stringstream text;
  text << in.rdbuf();
  auto json = Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(json->getValue<std::string>("task"), "regression");
  EXPECT_EQ(json->getValue<std::string>("model"), "m");
  EXPECT_DOUBLE_EQ(json->getObject("metrics")->getValue<double>("mae"), 0.5);
  EXPECT_FALSE(fs::exists(dir_ / "report.json.tmp"));
}

TEST_F(EvaluateJobTest, MismatchesAreExplainedAndNothingIsWritten) {
  const fs::path output = dir_ / "report.json";
  auto classes =
      std::make_shared<TableDataset>(4, LabelKind::kClass, std::vector<std::string>{"even", "odd"});
  Status s = run(std::make_shared<FakeModel>(Task::kClassification, false), classes, output);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("model 'm' is neither trained nor loaded"));

  s = run(std::make_shared<FakeModel>(Task::kClassification, true, 0,
                                      std::vector<std::string>{"cat", "dog"}),
          classes, output);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("knows the classes [cat, dog] but dataset 'd' has [even, odd]"));

  s = run(std::make_shared<FakeModel>(Task::kRegression, true), classes, output);
  EXPECT_THAT(s.message(), HasSubstr("has class labels but model 'm' is a regression model"));

  s = run(std::make_shared<FakeModel>(Task::kRegression, true),
          std::make_shared<TableDataset>(4, LabelKind::kNone), output);
  EXPECT_THAT(s.message(), HasSubstr("dataset 'd' has no labels"));

  s = run(std::make_shared<FakeModel>(Task::kRegression, true),
          std::make_shared<TableDataset>(0, LabelKind::kValue), output);
  EXPECT_THAT(s.message(), HasSubstr("has no rows to evaluate on"));
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(job_->report().has_value());
}

TEST_F(EvaluateJobTest, StopRequestCancels) {
  host_.requestStop();
  Status s = run(std::make_shared<FakeModel>(Task::kRegression, true),
                 std::make_shared<TableDataset>(4, LabelKind::kValue));
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
}

TEST(EvaluateJobType, IsBuiltInAndItsFactoryMakesAJob) {
  TypeRegistry registry;
  registerBuiltinTypes(registry);
  const RegisteredType* type = registry.find("job.evaluate");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(type->type.kind, NodeKind::kJob);
  EXPECT_EQ(type->plugin->name, "builtin");
  HostServices host(fs::temp_directory_path(), 1);
  NodeConfig config("score", "job.evaluate", &host);
  config.setValue("batch_size", std::int64_t{3});
  config.setValue("k", std::int64_t{10});  // the host fills in the defaults
  config.setValue("silhouette_sample", std::int64_t{5000});
  config.setValue("seed", std::int64_t{0});
  config.setValue("season", std::int64_t{1});
  config.setValue("forecast_targets", std::int64_t{1});
  config.setValue("precision", std::string("fp32"));
  config.setValue("experiment", std::string("evaluation"));
  config.setRefs("model", {"m"}, {"model.fake"},
                 {std::make_shared<FakeModel>(Task::kRegression, true)});
  config.setRefs("dataset", {"d"}, {"dataset.fake"},
                 {std::make_shared<TableDataset>(5, LabelKind::kValue)});
  auto node = type->type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_EQ((*node)->kind(), NodeKind::kJob);
  testing::RecordingProgress progress;
  auto& job = static_cast<EvaluateJob&>(**node);
  ASSERT_TRUE(job.run(host, progress).ok());
  EXPECT_EQ(job.report()->regression->rows, 5u);
  EXPECT_EQ(job.report()->job, "score");
}

}  // namespace
}  // namespace aimass::core
