// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/model_conformance.h"
#include "aimass/testing/registration.h"
#include "minimal.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::model {
namespace {

using aimass::testing::model_conformance_detail::CountingObserver;
using aimass::testing::model_conformance_detail::SyntheticDataset;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TensorMap inputOf(Tensor features) {
  TensorMap inputs;
  inputs.set("input", std::move(features));
  return inputs;
}

TEST(BaselineModelTest, PassesTheModelConformanceSuite) {
  BaselineModel model;
  for (const auto& check : aimass::testing::checkModel(model)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(BaselineModelTest, PredictsTheMostFrequentClassWithTheClassFrequencies) {
  SyntheticDataset data(LabelKind::kClass, {20, 50, 30}, 3);
  BaselineModel model;
  CountingObserver observer;
  ASSERT_TRUE(model.fit(data, 0, observer).ok());
  EXPECT_EQ(observer.iterations, 1u);
  EXPECT_NEAR(observer.last, -(0.2 * std::log(0.2) + 0.5 * std::log(0.5) + 0.3 * std::log(0.3)),
              1e-12);
  ModelSchema schema = model.schema();
  EXPECT_EQ(schema.task, Task::kClassification);
  EXPECT_EQ(schema.inputs[0].shape, (Shape{-1, 4}));
  EXPECT_THAT(schema.class_names, ElementsAre("north", "east", "south"));

  TensorMap outputs;
  ASSERT_TRUE(model.predict(inputOf(data.batch({0, 99}).features), outputs, {}).ok());
  auto p = outputs.find("probabilities")->span<float>();
  EXPECT_THAT(std::vector<float>(p.begin(), p.end()),
              ElementsAre(0.2f, 0.5f, 0.3f, 0.2f, 0.5f, 0.3f));
  EXPECT_EQ(outputs.find("label")->data<std::int64_t>()[1], 1);
  EXPECT_THAT(outputs.find("class")->strings(), ElementsAre("east", "east"));
}

TEST(BaselineModelTest, PredictsTheMeanTarget) {
  SyntheticDataset data(LabelKind::kValue, {10, 10, 10}, 4);
  Batch all = data.all();
  double sum = 0, squares = 0;
  for (float v : all.labels.span<float>()) {
    sum += v;
    squares += double(v) * v;
  }
  const double mean = sum / 30;
  BaselineModel model;
  CountingObserver observer;
  ASSERT_TRUE(model.fit(data, 0, observer).ok());
  EXPECT_NEAR(observer.last, squares / 30 - mean * mean, 1e-9) << "the variance is the MSE";
  EXPECT_EQ(model.schema().task, Task::kRegression);
  EXPECT_EQ(model.schema().outputs[0].name, "prediction");
  TensorMap outputs;
  ASSERT_TRUE(model.predict(inputOf(data.batch({5, 6, 7}).features), outputs, {}).ok());
  const Tensor& prediction = *outputs.find("prediction");
  EXPECT_EQ(prediction.shape(), (Shape{3, 1}));
  for (float v : prediction.span<float>()) {
    EXPECT_FLOAT_EQ(v, static_cast<float>(mean));
  }

  std::string payload;
  ASSERT_TRUE(model.save(payload).ok());
  BaselineModel loaded;
  ASSERT_TRUE(loaded.load(payload, BaselineModel::kFormatVersion).ok());
  TensorMap again;
  ASSERT_TRUE(loaded.predict(inputOf(data.batch({1}).features), again, {}).ok());
  EXPECT_FLOAT_EQ(again.find("prediction")->data<float>()[0], static_cast<float>(mean));
}

class Unlabelled final : public Dataset {
 public:
  Unlabelled() {
    schema_.row_shape = {2};
    schema_.label_kind = LabelKind::kNone;
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return 3; }
  Status read(std::span<const std::uint64_t>, Batch&) const override { return okStatus(); }

 private:
  DatasetSchema schema_;
};

TEST(BaselineModelTest, RefusesUnlabelledDataAndKeepsWhatItHad) {
  BaselineModel model;
  CountingObserver observer;
  ASSERT_TRUE(model.fit(SyntheticDataset(LabelKind::kClass, {1, 2, 3}, 1), 0, observer).ok());
  Status refused = model.fit(Unlabelled(), 0, observer);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("needs class or value labels"));
  EXPECT_TRUE(model.ready());
  EXPECT_EQ(model.schema().class_names.size(), 3u);
}

TEST(BaselineModelTest, PredictChecksItsInput) {
  BaselineModel model;
  TensorMap outputs;
  EXPECT_EQ(model.predict(inputOf(Tensor::zeros(DType::kFloat32, {1, 4})), outputs, {}).code(),
            StatusCode::kFailedPrecondition);
  CountingObserver observer;
  ASSERT_TRUE(model.fit(SyntheticDataset(LabelKind::kClass, {1, 2, 3}, 1), 0, observer).ok());
  Status shape = model.predict(inputOf(Tensor::zeros(DType::kFloat32, {1, 5})), outputs, {});
  EXPECT_EQ(shape.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(shape.message(), HasSubstr("must be FP32 [-1, 4], got FP32 [1, 5]"));
  TensorMap other;
  other.set("x", Tensor::zeros(DType::kFloat32, {1, 4}));
  EXPECT_THAT(model.predict(other, outputs, {}).message(), HasSubstr("unknown input 'x'"));
}

TEST(BaselineModelTest, CorruptPayloadsAreRefused) {
  BaselineModel model;
  CountingObserver observer;
  ASSERT_TRUE(model.fit(SyntheticDataset(LabelKind::kClass, {1, 2, 3}, 1), 0, observer).ok());
  std::string payload;
  ASSERT_TRUE(model.save(payload).ok());
  BaselineModel target;
  for (std::string bad :
       {payload.substr(0, payload.size() - 3), payload + "!", std::string("\x03"), std::string()}) {
    Status s = target.load(bad, BaselineModel::kFormatVersion);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.toString();
    EXPECT_FALSE(target.ready());
  }
  std::string huge = payload;
  huge[9 + 7] = '\x40';  // class count
  EXPECT_THAT(target.load(huge, 1).message(), HasSubstr("entries"));
  EXPECT_EQ(target.load(payload, 7).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(target.load(payload, 1).ok());
  EXPECT_TRUE(target.ready());
}

TEST(BaselineModelTest, RegistersModelBaseline) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  EXPECT_EQ(registrar.types[0].type, "model.baseline");
  EXPECT_TRUE(registrar.types[0].params.empty());
  auto node = registrar.types[0].factory(NodeConfig("base", "model.baseline", nullptr));
  ASSERT_TRUE(node.ok());
  EXPECT_NE(static_cast<Model&>(**node).selfTraining(), nullptr);
}

}  // namespace
}  // namespace aimass::plugins::model
