// SPDX-License-Identifier: Apache-2.0
#include "softmax.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/plugin.h"
#include "aimass/testing/model_conformance.h"
#include "aimass/testing/registration.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::model {
namespace {

using ::testing::HasSubstr;

DatasetSchema classSchema(std::int64_t features, std::vector<std::string> classes) {
  DatasetSchema schema;
  schema.feature_dtype = DType::kFloat32;
  schema.row_shape = {features};
  schema.label_kind = LabelKind::kClass;
  schema.class_names = std::move(classes);
  schema.num_targets = 1;
  return schema;
}

Batch makeBatch(const std::vector<float>& x, const std::vector<std::int64_t>& y,
                std::int64_t features) {
  Batch batch;
  batch.features = Tensor::fromVector(x, {static_cast<std::int64_t>(y.size()), features});
  batch.labels = Tensor::fromVector(y, {static_cast<std::int64_t>(y.size())});
  return batch;
}

TensorMap inputOf(const Tensor& features) {
  TensorMap inputs;
  inputs.set("input", features);
  return inputs;
}

void setParameters(SoftmaxRegression& model, const std::vector<float>& w,
                   const std::vector<float>& b) {
  auto parameters = model.parameters();
  std::copy(w.begin(), w.end(), parameters[0].value.span<float>().begin());
  std::copy(b.begin(), b.end(), parameters[1].value.span<float>().begin());
}

TEST(SoftmaxRegressionTest, PassesTheModelConformanceSuite) {
  SoftmaxRegression model(SoftmaxOptions{});
  for (const auto& check : aimass::testing::checkModel(model)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(SoftmaxRegressionTest, PassesTheModelConformanceSuiteWithL2) {
  SoftmaxRegression model(SoftmaxOptions{0.1, 0.5});
  for (const auto& check : aimass::testing::checkModel(model)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(SoftmaxRegressionTest, LossAndGradientsMatchTheFormulaAtZeroWeights) {
  SoftmaxRegression model(SoftmaxOptions{0, 0});
  ASSERT_TRUE(model.prepare(classSchema(2, {"a", "b", "c"}), 1).ok());
  Batch batch = makeBatch({1, 2, -1, 0.5f}, {0, 2}, 2);
  auto loss = model.forwardBackward(batch, true);
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, std::log(3.0), 1e-9);
  auto parameters = model.parameters();
  // dL/db_c = mean over rows of (1/3 - [c == y]).
  auto gb = parameters[1].grad.span<float>();
  EXPECT_NEAR(gb[0], (1.0 / 3 - 1 + 1.0 / 3) / 2, 1e-6);
  EXPECT_NEAR(gb[1], 1.0 / 3, 1e-6);
  EXPECT_NEAR(gb[2], (1.0 / 3 + 1.0 / 3 - 1) / 2, 1e-6);
  // dL/dW_fc = mean over rows of x_f * (1/3 - [c == y]).
  auto gw = parameters[0].grad.span<float>();
  EXPECT_NEAR(gw[0 * 3 + 0], (1 * (1.0 / 3 - 1) + -1 * (1.0 / 3)) / 2, 1e-6);
  EXPECT_NEAR(gw[1 * 3 + 2], (2 * (1.0 / 3) + 0.5 * (1.0 / 3 - 1)) / 2, 1e-6);
}

TEST(SoftmaxRegressionTest, L2AddsHalfTheSquaredNormAndItsGradient) {
  SoftmaxRegression model(SoftmaxOptions{0.5, 0});
  ASSERT_TRUE(model.prepare(classSchema(1, {"a", "b"}), 1).ok());
  setParameters(model, {2.0f, -1.0f}, {0, 0});
  Batch batch = makeBatch({0}, {0}, 1);  // x = 0: the data term is log 2 with no W gradient
  auto loss = model.forwardBackward(batch, true);
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, std::log(2.0) + 0.25 * (4 + 1), 1e-6);
  auto gw = model.parameters()[0].grad.span<float>();
  EXPECT_FLOAT_EQ(gw[0], 1.0f);
  EXPECT_FLOAT_EQ(gw[1], -0.5f);
  EXPECT_NEAR(model.evaluateLoss(batch).value(), *loss, 1e-12);
}

TEST(SoftmaxRegressionTest, LargeLogitsStayFinite) {
  SoftmaxRegression model(SoftmaxOptions{});
  ASSERT_TRUE(model.prepare(classSchema(1, {"a", "b"}), 1).ok());
  setParameters(model, {1000.0f, -1000.0f}, {0, 0});
  auto loss = model.forwardBackward(makeBatch({5}, {1}, 1), true);
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, 10000.0, 1e-6);
  TensorMap outputs;
  ASSERT_TRUE(model.predict(inputOf(Tensor::fromVector<float>({5}, {1, 1})), outputs, {}).ok());
  EXPECT_FLOAT_EQ(outputs.find("probabilities")->data<float>()[0], 1.0f);
}

TEST(SoftmaxRegressionTest, LearnsASeparableProblemToFullAccuracy) {
  // Four classes in the corners of a square, with a distractor feature.
  std::vector<float> x;
  std::vector<std::int64_t> y;
  std::uint32_t state = 12345;
  auto jitter = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
  };
  for (int i = 0; i < 200; ++i) {
    const int c = i % 4;
    x.push_back((c & 1 ? 3.0f : -3.0f) + jitter());
    x.push_back((c & 2 ? 3.0f : -3.0f) + jitter());
    x.push_back(4 * jitter());
    y.push_back(c);
  }
  SoftmaxRegression model(SoftmaxOptions{1e-4, 0.01});
  ASSERT_TRUE(model.prepare(classSchema(3, {"sw", "se", "nw", "ne"}), 42).ok());
  Batch batch = makeBatch(x, y, 3);
  auto parameters = model.parameters();
  for (int step = 0; step < 300; ++step) {
    ASSERT_TRUE(model.forwardBackward(batch, true).ok());
    for (auto& p : parameters) {
      auto v = p.value.span<float>();
      auto g = p.grad.span<float>();
      for (std::size_t i = 0; i < v.size(); ++i) {
        v[i] -= 0.5f * g[i];
      }
    }
  }
  EXPECT_LT(model.evaluateLoss(batch).value(), 0.05);
  TensorMap outputs;
  ASSERT_TRUE(model.predict(inputOf(batch.features), outputs, {}).ok());
  const auto* labels = outputs.find("label")->data<std::int64_t>();
  const auto& names = outputs.find("class")->strings();
  int correct = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    correct += labels[i] == y[i];
    EXPECT_EQ(names[i], model.schema().class_names[static_cast<std::size_t>(labels[i])]);
  }
  EXPECT_EQ(correct, 200);
}

TEST(SoftmaxRegressionTest, PredictNamesExpectedAndActualInputs) {
  SoftmaxRegression model(SoftmaxOptions{});
  TensorMap outputs;
  Status early = model.predict(inputOf(Tensor::zeros(DType::kFloat32, {1, 4})), outputs, {});
  EXPECT_EQ(early.code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE(model.prepare(classSchema(4, {"x", "y"}), 1).ok());
  Status shape = model.predict(inputOf(Tensor::zeros(DType::kFloat32, {2, 3})), outputs, {});
  EXPECT_EQ(shape.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(shape.message(), HasSubstr("input 'input' must be FP32 [-1, 4], got FP32 [2, 3]"));
  Status dtype = model.predict(inputOf(Tensor::zeros(DType::kFloat64, {2, 4})), outputs, {});
  EXPECT_THAT(dtype.message(), HasSubstr("must be FP32 [-1, 4], got FP64 [2, 4]"));
  Status rank = model.predict(inputOf(Tensor::zeros(DType::kFloat32, {4})), outputs, {});
  EXPECT_THAT(rank.message(), HasSubstr("got FP32 [4]"));
  TensorMap wrong_name;
  wrong_name.set("features", Tensor::zeros(DType::kFloat32, {2, 4}));
  Status name = model.predict(wrong_name, outputs, {});
  EXPECT_EQ(name.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(name.message(), HasSubstr("unknown input 'features'"));
  Status missing = model.predict(TensorMap(), outputs, {});
  EXPECT_THAT(missing.message(), HasSubstr("missing input 'input' FP32 [-1, 4]"));

  // An empty batch is fine.
  ASSERT_TRUE(model.predict(inputOf(Tensor::zeros(DType::kFloat32, {0, 4})), outputs, {}).ok());
  EXPECT_EQ(outputs.find("probabilities")->shape(), (Shape{0, 2}));
}

TEST(SoftmaxRegressionTest, PrepareExplainsWhatDoesNotSuit) {
  SoftmaxRegression model(SoftmaxOptions{});
  DatasetSchema values = classSchema(4, {});
  values.label_kind = LabelKind::kValue;
  EXPECT_THAT(model.prepare(values, 1).message(),
              HasSubstr("needs class labels, but the data has value labels"));
  EXPECT_THAT(model.prepare(classSchema(4, {"only"}), 1).message(),
              HasSubstr("at least 2 classes, but the data has 1"));
  DatasetSchema images = classSchema(4, {"a", "b"});
  images.row_shape = {28, 28};
  EXPECT_THAT(model.prepare(images, 1).message(),
              HasSubstr("rows of shape [F], but the data has rows of [28, 28]"));
  DatasetSchema ids = classSchema(4, {"a", "b"});
  ids.feature_dtype = DType::kInt64;
  EXPECT_THAT(model.prepare(ids, 1).message(), HasSubstr("FP32 features, but the data has INT64"));
  EXPECT_FALSE(model.ready());
}

TEST(SoftmaxRegressionTest, BadBatchesAreRefusedNamingTheRow) {
  SoftmaxRegression model(SoftmaxOptions{});
  EXPECT_EQ(model.forwardBackward(makeBatch({1, 2}, {0}, 2), true).status().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(model.prepare(classSchema(2, {"a", "b"}), 1).ok());
  auto bad_label = model.forwardBackward(makeBatch({1, 2, 3, 4}, {0, 2}, 2), true);
  EXPECT_EQ(bad_label.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_label.status().message(),
              HasSubstr("row 1 of the batch has class 2, outside [0, 2)"));
  auto negative = model.evaluateLoss(makeBatch({1, 2}, {-1}, 2));
  EXPECT_THAT(negative.status().message(), HasSubstr("row 0"));
  auto wide = model.forwardBackward(makeBatch({1, 2, 3}, {0}, 3), true);
  EXPECT_THAT(wide.status().message(),
              HasSubstr("expects features FP32 [N>0, 2], got FP32 [1, 3]"));
}

TEST(SoftmaxRegressionTest, InitialisationIsSeededAndScaled) {
  auto weightsFor = [](std::uint64_t seed, double scale) {
    SoftmaxRegression model(SoftmaxOptions{0, scale});
    EXPECT_TRUE(model.prepare(classSchema(50, {"a", "b"}), seed).ok());
    auto w = model.parameters()[0].value.span<float>();
    return std::vector<float>(w.begin(), w.end());
  };
  EXPECT_EQ(weightsFor(3, 0.01), weightsFor(3, 0.01));
  EXPECT_NE(weightsFor(3, 0.01), weightsFor(4, 0.01));
  auto w = weightsFor(5, 2.0);
  double sum = 0, squares = 0;
  for (float v : w) {
    sum += v;
    squares += double(v) * v;
  }
  const double mean = sum / w.size();
  const double stddev = std::sqrt(squares / w.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.5);
  EXPECT_NEAR(stddev, 2.0, 0.4);
  EXPECT_EQ(weightsFor(5, 0.0), std::vector<float>(100, 0.0f));
}

TEST(SoftmaxRegressionTest, SaveLoadRoundTripsIntoAFreshModelAndKeepsBuffers) {
  SoftmaxRegression model(SoftmaxOptions{0.25, 1.0});
  ASSERT_TRUE(model.prepare(classSchema(3, {"cat", "dog"}), 9).ok());
  std::string payload;
  ASSERT_TRUE(model.save(payload).ok());
  EXPECT_EQ(payload.size(), 8 + 8 + (4 + 3) * 2 + 8 + (3 * 2 + 2) * 4);

  SoftmaxRegression fresh(SoftmaxOptions{});
  ASSERT_TRUE(fresh.load(payload, SoftmaxRegression::kFormatVersion).ok());
  EXPECT_TRUE(fresh.ready());
  EXPECT_EQ(fresh.options().l2, 0.25);
  EXPECT_EQ(fresh.schema().class_names, (std::vector<std::string>{"cat", "dog"}));
  Tensor x = Tensor::fromVector<float>({0.5f, -1, 2}, {1, 3});
  TensorMap a, b;
  ASSERT_TRUE(model.predict(inputOf(x), a, {}).ok());
  ASSERT_TRUE(fresh.predict(inputOf(x), b, {}).ok());
  EXPECT_EQ(0, std::memcmp(a.find("probabilities")->raw(), b.find("probabilities")->raw(), 8));

  const void* buffer = fresh.parameters()[0].value.raw();
  ASSERT_TRUE(fresh.load(payload, SoftmaxRegression::kFormatVersion).ok());
  EXPECT_EQ(fresh.parameters()[0].value.raw(), buffer) << "same shapes keep the buffers";
}

TEST(SoftmaxRegressionTest, CorruptPayloadsAreRefusedAndChangeNothing) {
  SoftmaxRegression model(SoftmaxOptions{});
  ASSERT_TRUE(model.prepare(classSchema(2, {"a", "b"}), 1).ok());
  std::string payload;
  ASSERT_TRUE(model.save(payload).ok());
  std::string before = payload;

  SoftmaxRegression target(SoftmaxOptions{});
  ASSERT_TRUE(target.prepare(classSchema(5, {"x", "y", "z"}), 2).ok());
  std::string target_before;
  ASSERT_TRUE(target.save(target_before).ok());

  auto refused = [&](std::string_view bad, StatusCode code) {
    Status s = target.load(bad, SoftmaxRegression::kFormatVersion);
    EXPECT_EQ(s.code(), code) << s.toString();
    std::string after;
    EXPECT_TRUE(target.save(after).ok());
    EXPECT_EQ(after, target_before) << "the model changed";
  };
  refused(payload.substr(0, payload.size() - 1), StatusCode::kDataLoss);
  refused(payload + "x", StatusCode::kDataLoss);
  refused("", StatusCode::kDataLoss);
  std::string huge = payload;
  huge[7] = '\x7f';  // features = enormous
  refused(huge, StatusCode::kDataLoss);
  std::string one_class = payload;
  one_class[8] = 1;
  refused(one_class, StatusCode::kDataLoss);
  std::string nan_weight = payload;
  const float nan = std::nanf("");
  std::memcpy(nan_weight.data() + nan_weight.size() - 4, &nan, 4);
  refused(nan_weight, StatusCode::kDataLoss);
  Status version = target.load(payload, 2);
  EXPECT_EQ(version.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(version.message(), HasSubstr("format 2 is unknown"));
  EXPECT_EQ(payload, before);
}

TEST(SoftmaxRegressionTest, RegistersModelSoftmaxWithDefaults) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "model.softmax");
  aimass::core::HostServices host(".", 3);  // a graph with `threads: 3`
  NodeConfig config("clf", type.type, &host);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty());
    EXPECT_EQ(spec.min, 0.0) << spec.name;
    config.setValue(spec.name, spec.default_value);
  }
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok());
  auto& model = static_cast<SoftmaxRegression&>(**node);
  EXPECT_EQ(model.options().init_scale, 0.01);
  EXPECT_EQ(model.options().l2, 0.0);
  EXPECT_EQ(model.options().threads, 3) << "training threads come from the graph's threads:";
  EXPECT_NE(model.gradientTraining(), nullptr);
}

}  // namespace
}  // namespace aimass::plugins::model
