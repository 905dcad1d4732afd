// SPDX-License-Identifier: Apache-2.0
#include "mlp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/model_conformance.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::model {
namespace {

using compute::Activation;
using ::testing::HasSubstr;

DatasetSchema classSchema(std::int64_t features, std::vector<std::string> classes) {
  DatasetSchema schema;
  schema.row_shape = {features};
  schema.label_kind = LabelKind::kClass;
  schema.class_names = std::move(classes);
  schema.num_targets = 1;
  return schema;
}

DatasetSchema valueSchema(std::int64_t features, std::int64_t targets) {
  DatasetSchema schema;
  schema.row_shape = {features};
  schema.label_kind = LabelKind::kValue;
  schema.num_targets = targets;
  return schema;
}

MlpOptions options(std::vector<std::int64_t> hidden, Activation activation, double dropout = 0,
                   int threads = 2) {
  MlpOptions o;
  o.hidden = std::move(hidden);
  o.activation = activation;
  o.dropout = dropout;
  o.threads = threads;
  return o;
}

void expectConformance(Mlp& model) {
  for (const auto& check : aimass::testing::checkModel(model)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(MlpTest, PassesTheModelConformanceSuiteWithEveryActivation) {
  for (auto a : {Activation::kRelu, Activation::kTanh, Activation::kSigmoid, Activation::kGelu}) {
    SCOPED_TRACE(std::string(compute::activationName(a)));
    Mlp model(options({8}, a));
    expectConformance(model);
  }
}

TEST(MlpTest, PassesTheModelConformanceSuiteDeepWithDropoutAndWithoutHiddenLayers) {
  Mlp deep(options({16, 8, 4}, Activation::kRelu, 0.1));
  expectConformance(deep);
  Mlp linear(options({}, Activation::kRelu));
  expectConformance(linear);
}

// XOR needs a hidden layer: a linear model cannot get past 75%.
TEST(MlpTest, LearnsXorAndPredictsEveryRow) {
  Mlp model(options({16}, Activation::kTanh));
  ASSERT_TRUE(model.prepare(classSchema(2, {"zero", "one"}), 3).ok());
  Batch batch;
  batch.features = Tensor::fromVector<float>({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  batch.labels = Tensor::fromVector<std::int64_t>({0, 1, 1, 0}, {4});
  auto parameters = model.parameters();
  ASSERT_EQ(parameters.size(), 4u);
  EXPECT_EQ(parameters[0].name, "fc1.weight");
  EXPECT_EQ(parameters[0].value.shape(), (Shape{2, 16}));
  for (int step = 0; step < 2000; ++step) {
    ASSERT_TRUE(model.forwardBackward(batch, true).ok());
    for (auto& p : parameters) {
      auto v = p.value.span<float>();
      auto g = p.grad.span<float>();
      for (std::size_t i = 0; i < v.size(); ++i) {
        v[i] -= 0.5f * g[i];
      }
    }
  }
  auto loss = model.evaluateLoss(batch);
  ASSERT_TRUE(loss.ok());
  EXPECT_LT(*loss, 0.05);
  TensorMap inputs, outputs;
  inputs.set("input", batch.features);
  ASSERT_TRUE(model.predict(inputs, outputs, {}).ok());
  const auto* label = outputs.find("label");
  ASSERT_NE(label, nullptr);
  EXPECT_THAT(std::vector<std::int64_t>(label->span<std::int64_t>().begin(),
                                        label->span<std::int64_t>().end()),
              ::testing::ElementsAre(0, 1, 1, 0));
  EXPECT_EQ(outputs.find("class")->strings()[1], "one");
}

TEST(MlpTest, RegressionHeadFitsASmoothFunctionAndOutputsPrediction) {
  Mlp model(options({32}, Activation::kGelu));
  ASSERT_TRUE(model.prepare(valueSchema(1, 2), 5).ok());
  EXPECT_EQ(model.schema().task, Task::kRegression);
  std::vector<float> x, y;
  for (int i = 0; i < 64; ++i) {
    const float v = -2.0f + 4.0f * static_cast<float>(i) / 63.0f;
    x.push_back(v);
    y.push_back(v * v);
    y.push_back(0.5f * v - 1.0f);
  }
  Batch batch;
  batch.features = Tensor::fromVector(x, {64, 1});
  batch.labels = Tensor::fromVector(y, {64, 2});
  auto before = model.evaluateLoss(batch);
  auto parameters = model.parameters();
  for (int step = 0; step < 3000; ++step) {
    ASSERT_TRUE(model.forwardBackward(batch, true).ok());
    for (auto& p : parameters) {
      auto v = p.value.span<float>();
      auto g = p.grad.span<float>();
      for (std::size_t i = 0; i < v.size(); ++i) {
        v[i] -= 0.02f * g[i];
      }
    }
  }
  auto after = model.evaluateLoss(batch);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_LT(*after, 0.05 * *before);
  EXPECT_LT(*after, 0.05);
  TensorMap inputs, outputs;
  inputs.set("input", batch.features);
  ASSERT_TRUE(model.predict(inputs, outputs, {}).ok());
  const Tensor* prediction = outputs.find("prediction");
  ASSERT_NE(prediction, nullptr);
  EXPECT_EQ(prediction->shape(), (Shape{64, 2}));
  EXPECT_NEAR(prediction->data<float>()[2 * 32 + 1], y[2 * 32 + 1], 0.2);
}

TEST(MlpTest, TheSameSeedGivesTheSameModelBitForBit) {
  Mlp a(options({8, 4}, Activation::kRelu, 0.3)), b(options({8, 4}, Activation::kRelu, 0.3));
  ASSERT_TRUE(a.prepare(classSchema(3, {"x", "y"}), 11).ok());
  ASSERT_TRUE(b.prepare(classSchema(3, {"x", "y"}), 11).ok());
  Batch batch;
  batch.features = Tensor::fromVector<float>({1, 2, 3, -1, 0.5f, 2, 0, 0, 1}, {3, 3});
  batch.labels = Tensor::fromVector<std::int64_t>({0, 1, 1}, {3});
  for (int step = 0; step < 3; ++step) {
    auto la = a.forwardBackward(batch, true);
    auto lb = b.forwardBackward(batch, true);
    ASSERT_TRUE(la.ok() && lb.ok());
    EXPECT_EQ(*la, *lb);
  }
  auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(0, std::memcmp(pa[i].grad.raw(), pb[i].grad.raw(), pa[i].grad.nbytes()));
  }
}

TEST(MlpTest, DropoutChangesTrainingLossButNotEvaluation) {
  Mlp model(options({64}, Activation::kRelu, 0.5));
  ASSERT_TRUE(model.prepare(classSchema(4, {"a", "b"}), 2).ok());
  Batch batch;
  std::vector<float> x(32 * 4);
  std::vector<std::int64_t> y(32);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = std::sin(static_cast<float>(i));
  }
  for (std::size_t i = 0; i < y.size(); ++i) {
    y[i] = static_cast<std::int64_t>(i % 2);
  }
  batch.features = Tensor::fromVector(x, {32, 4});
  batch.labels = Tensor::fromVector(y, {32});
  auto evaluation = model.evaluateLoss(batch);
  auto plain = model.forwardBackward(batch, false);
  auto dropped = model.forwardBackward(batch, true);
  ASSERT_TRUE(evaluation.ok() && plain.ok() && dropped.ok());
  EXPECT_NEAR(*plain, *evaluation, 1e-6);
  EXPECT_NE(*dropped, *plain);
}

TEST(MlpTest, RefusesUnsuitableDataBatchesAndLabels) {
  Mlp model(options({4}, Activation::kRelu));
  DatasetSchema none = classSchema(3, {});
  none.label_kind = LabelKind::kNone;
  EXPECT_EQ(model.prepare(none, 1).code(), StatusCode::kInvalidArgument);
  DatasetSchema images = classSchema(3, {"a", "b"});
  images.row_shape = {2, 2};
  EXPECT_EQ(model.prepare(images, 1).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(model.prepare(classSchema(3, {"a", "b"}), 1).ok());
  Batch wrong;
  wrong.features = Tensor::zeros(DType::kFloat32, {2, 4});
  wrong.labels = Tensor::zeros(DType::kInt64, {2});
  auto s = model.forwardBackward(wrong, true);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("[2, 4]"));
  Batch outside;
  outside.features = Tensor::zeros(DType::kFloat32, {3, 3});
  outside.labels = Tensor::fromVector<std::int64_t>({0, 1, 2}, {3});
  auto l = model.forwardBackward(outside, true);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(l.status().message(), HasSubstr("row 2"));
}

TEST(MlpTest, LoadsAPayloadOfAnotherArchitectureAndRefusesCorruptOnes) {
  Mlp small(options({3}, Activation::kSigmoid));
  ASSERT_TRUE(small.prepare(classSchema(2, {"a", "b", "c"}), 4).ok());
  std::string payload;
  ASSERT_TRUE(small.save(payload).ok());
  Mlp other(options({10, 10}, Activation::kRelu));
  ASSERT_TRUE(other.prepare(valueSchema(5, 1), 4).ok());
  ASSERT_TRUE(other.load(payload, Mlp::kFormatVersion).ok());
  EXPECT_EQ(other.schema().task, Task::kClassification);
  EXPECT_EQ(other.options().hidden, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(other.options().activation, Activation::kSigmoid);
  TensorMap inputs, a, b;
  inputs.set("input", Tensor::fromVector<float>({0.5f, -1}, {1, 2}));
  ASSERT_TRUE(small.predict(inputs, a, {}).ok());
  ASSERT_TRUE(other.predict(inputs, b, {}).ok());
  EXPECT_EQ(a.find("probabilities")->data<float>()[1], b.find("probabilities")->data<float>()[1]);
  std::string corrupt = payload;
  corrupt[payload.size() - 2] = '\xff';
  corrupt[payload.size() - 1] = '\x7f';  // the last bias becomes NaN
  EXPECT_EQ(other.load(corrupt, Mlp::kFormatVersion).code(), StatusCode::kDataLoss);
}

// job.train resumes from the saved payload: the dropout stream must continue where it was.
TEST(MlpTest, ALoadedPayloadContinuesTheDropoutStream) {
  Mlp trained(options({16}, Activation::kRelu, 0.5));
  ASSERT_TRUE(trained.prepare(classSchema(3, {"a", "b"}), 9).ok());
  Batch batch;
  batch.features = Tensor::fromVector<float>({0.5f, -1, 2, 1, 0.25f, -0.5f}, {2, 3});
  batch.labels = Tensor::fromVector<std::int64_t>({0, 1}, {2});
  ASSERT_TRUE(trained.forwardBackward(batch, true).ok());
  std::string payload;
  ASSERT_TRUE(trained.save(payload).ok());
  Mlp resumed(options({16}, Activation::kRelu, 0.5));
  ASSERT_TRUE(resumed.prepare(classSchema(3, {"a", "b"}), 9).ok());
  ASSERT_TRUE(resumed.load(payload, Mlp::kFormatVersion).ok());
  for (int step = 0; step < 3; ++step) {
    auto expected = trained.forwardBackward(batch, true);
    auto actual = resumed.forwardBackward(batch, true);
    ASSERT_TRUE(expected.ok() && actual.ok());
    EXPECT_EQ(*expected, *actual) << "step " << step << " drew other dropout masks";
  }
  // A format 1 payload (no stream position, and no precision as format 3 adds) still loads.
  std::string format1 = payload.substr(0, 16) + payload.substr(28);
  Mlp old(options({16}, Activation::kRelu, 0.5));
  EXPECT_TRUE(old.load(format1, 1).ok());
  EXPECT_EQ(old.load(payload, 4).code(), StatusCode::kInvalidArgument);
}

TEST(MlpTest, PluginRegistersModelMlpWithItsParameters) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  ASSERT_NE(descriptor, nullptr);
  EXPECT_STREQ(descriptor->name, "model.mlp");
}

}  // namespace
}  // namespace aimass::plugins::model
