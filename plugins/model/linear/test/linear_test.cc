// SPDX-License-Identifier: Apache-2.0
#include "linear.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/model_conformance.h"
#include "aimass/testing/registration.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::model {
namespace {

using ::testing::HasSubstr;

/// A fixed in-memory regression dataset.
class TableDataset final : public Dataset {
 public:
  TableDataset(std::vector<float> x, std::vector<float> y, std::int64_t features,
               std::int64_t targets)
      : x_(std::move(x)), y_(std::move(y)) {
    schema_.feature_dtype = DType::kFloat32;
    schema_.row_shape = {features};
    schema_.label_kind = LabelKind::kValue;
    schema_.num_targets = targets;
    for (std::int64_t f = 0; f < features; ++f) {
      schema_.feature_names.push_back("x" + std::to_string(f));
    }
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override {
    return y_.size() / static_cast<std::size_t>(schema_.num_targets);
  }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const std::int64_t f = schema_.row_shape[0];
    const std::int64_t t = schema_.num_targets;
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kFloat32, {n, f});
    out.labels.resize(DType::kFloat32, {n, t});
    for (std::int64_t i = 0; i < n; ++i) {
      if (rows[i] >= size()) {
        return outOfRange("row " + std::to_string(rows[i]));
      }
      std::memcpy(out.features.data<float>() + i * f, x_.data() + rows[i] * f, 4 * f);
      std::memcpy(out.labels.data<float>() + i * t, y_.data() + rows[i] * t, 4 * t);
    }
    return okStatus();
  }
  Batch all() const {
    std::vector<std::uint64_t> rows(size());
    for (std::uint64_t i = 0; i < size(); ++i) {
      rows[i] = i;
    }
    Batch b;
    EXPECT_TRUE(read(rows, b).ok());
    return b;
  }

 private:
  DatasetSchema schema_;
  std::vector<float> x_, y_;
};

class NullObserver final : public FitObserver {
 public:
  bool onIteration(std::uint64_t, double objective) override {
    ++calls;
    last = objective;
    return false;
  }
  int calls = 0;
  double last = -1;
};

TensorMap inputOf(const Tensor& features) {
  TensorMap inputs;
  inputs.set("input", features);
  return inputs;
}

LinearOptions closedForm(double l2 = 0, bool intercept = true) {
  return LinearOptions{l2, intercept, LinearSolver::kClosedForm};
}

// 4 rows, 2 features: x = (1,0), (0,1), (1,1), (2,1); y = 1, 2, 2, 4. With an intercept the
// design is [x1 x2 1]: X'X = [[6,3,4],[3,3,3],[4,3,4]], X'y = [11,8,9]. Row 1 - row 3 gives
// 2 w1 = 2, so w1 = 1; row 3 - row 2 gives w1 + b = 1, so b = 0; row 2 gives w2 = 5/3.
TableDataset smallSystem() { return TableDataset({1, 0, 0, 1, 1, 1, 2, 1}, {1, 2, 2, 4}, 2, 1); }

TEST(LinearRegressionTest, PassesTheModelConformanceSuiteInClosedForm) {
  LinearRegression model(closedForm());
  EXPECT_EQ(model.gradientTraining(), nullptr);
  EXPECT_NE(model.selfTraining(), nullptr);
  for (const auto& check : aimass::testing::checkModel(model)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(LinearRegressionTest, PassesTheModelConformanceSuiteByGradients) {
  LinearRegression model(LinearOptions{0.01, true, LinearSolver::kGradient});
  EXPECT_NE(model.gradientTraining(), nullptr);
  EXPECT_EQ(model.selfTraining(), nullptr);
  for (const auto& check : aimass::testing::checkModel(model)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(LinearRegressionTest, ClosedFormMatchesTheHandSolvedNormalEquations) {
  TableDataset data = smallSystem();
  LinearRegression model(closedForm());
  NullObserver observer;
  ASSERT_TRUE(model.fit(data, 1, observer).ok());
  EXPECT_EQ(observer.calls, 1);
  const auto schema = model.schema();
  EXPECT_EQ(schema.task, Task::kRegression);
  EXPECT_EQ(schema.outputs[0].shape, (Shape{-1, 1}));
  TensorMap outputs;
  Batch all = data.all();
  ASSERT_TRUE(model.predict(inputOf(all.features), outputs, {}).ok());
  const float* p = outputs.find("prediction")->data<float>();
  const double expected[4] = {1.0, 5.0 / 3, 8.0 / 3, 11.0 / 3};  // x w + b with (1, 5/3, 0)
  for (int n = 0; n < 4; ++n) {
    EXPECT_NEAR(p[n], expected[n], 1e-6) << "row " << n;
  }
  // Half the mean squared residual: residuals (0, -1/3, 2/3, -1/3) -> (6/9) / (2 * 4).
  EXPECT_NEAR(observer.last, (6.0 / 9) / 8, 1e-9);
}

TEST(LinearRegressionTest, ClosedFormRecoversAnExactLinearFunction) {
  // y0 = 2 x0 - 3 x1 + 0.5, y1 = -x0 + 4 with no noise: the solution is exact.
  std::vector<float> xs, ys;
  for (int i = 0; i < 7; ++i) {
    const float x0 = static_cast<float>(i) - 3, x1 = static_cast<float>(i * i % 5);
    xs.insert(xs.end(), {x0, x1});
    ys.insert(ys.end(), {2 * x0 - 3 * x1 + 0.5f, -x0 + 4});
  }
  TableDataset data(xs, ys, 2, 2);
  LinearRegression model(closedForm());
  NullObserver observer;
  ASSERT_TRUE(model.fit(data, 1, observer).ok());
  EXPECT_NEAR(observer.last, 0.0, 1e-9);
  std::string payload;
  ASSERT_TRUE(model.save(payload).ok());
  // Layout: u64 F, u64 T, u8 intercept, f64 l2, W [2, 2] row-major, b [2].
  ASSERT_EQ(payload.size(), 8u + 8 + 1 + 8 + 4 * 4 + 2 * 4);
  float w[4], b[2];
  std::memcpy(w, payload.data() + 25, 16);
  std::memcpy(b, payload.data() + 41, 8);
  EXPECT_NEAR(w[0], 2, 1e-5);   // x0 -> y0
  EXPECT_NEAR(w[1], -1, 1e-5);  // x0 -> y1
  EXPECT_NEAR(w[2], -3, 1e-5);  // x1 -> y0
  EXPECT_NEAR(w[3], 0, 1e-5);   // x1 -> y1
  EXPECT_NEAR(b[0], 0.5, 1e-5);
  EXPECT_NEAR(b[1], 4, 1e-5);
}

TEST(LinearRegressionTest, KnownOneFeatureSolutionWithAndWithoutL2) {
  // x = 1, 2, 3; y = 2, 4, 6, no intercept. Averaged normal equation: (14/3 + l2) w = 28/3.
  TableDataset data({1, 2, 3}, {2, 4, 6}, 1, 1);
  auto weightFor = [&](double l2) {
    LinearRegression model(closedForm(l2, false));
    NullObserver observer;
    EXPECT_TRUE(model.fit(data, 1, observer).ok());
    TensorMap outputs;
    EXPECT_TRUE(model.predict(inputOf(Tensor::fromVector<float>({1}, {1, 1})), outputs, {}).ok());
    return outputs.find("prediction")->data<float>()[0];
  };
  EXPECT_NEAR(weightFor(0), 2.0, 1e-6);
  EXPECT_NEAR(weightFor(1), (28.0 / 3) / (14.0 / 3 + 1), 1e-6);
  EXPECT_LT(weightFor(10), weightFor(1)) << "more l2 shrinks the weight";
}

TEST(LinearRegressionTest, GradientsMatchTheDocumentedObjective) {
  LinearRegression model(LinearOptions{0.5, true, LinearSolver::kGradient});
  TableDataset data({1, 2, 3}, {2, 4, 7}, 1, 1);
  ASSERT_TRUE(model.prepare(data.schema(), 1).ok());
  auto parameters = model.parameters();
  ASSERT_EQ(parameters.size(), 2u);
  parameters[0].value.data<float>()[0] = 1;  // w = 1
  parameters[1].value.data<float>()[0] = 1;  // b = 1
  Batch batch = data.all();
  // residuals r = (2-2, 3-4, 4-7) = (0, -1, -3); L = (0+1+9)/(2*3) + 0.5/2 * 1.
  auto loss = model.forwardBackward(batch, true);
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, 10.0 / 6 + 0.25, 1e-6);
  // dL/dw = mean(x r) + l2 w = (0 - 2 - 9)/3 + 0.5; dL/db = mean(r) = -4/3.
  EXPECT_NEAR(parameters[0].grad.data<float>()[0], -11.0 / 3 + 0.5, 1e-5);
  EXPECT_NEAR(parameters[1].grad.data<float>()[0], -4.0 / 3, 1e-5);
  EXPECT_NEAR(model.evaluateLoss(batch).value(), *loss, 1e-12);

  LinearRegression origin(LinearOptions{0, false, LinearSolver::kGradient});
  ASSERT_TRUE(origin.prepare(data.schema(), 1).ok());
  EXPECT_EQ(origin.parameters().size(), 1u) << "no bias parameter without an intercept";
}

TEST(LinearRegressionTest, SingularSystemWithoutL2IsRefusedSuggestingL2) {
  // The second feature is twice the first: X'X is singular.
  TableDataset data({1, 2, 2, 4, 3, 6}, {1, 2, 3}, 2, 1);
  LinearRegression model(closedForm());
  NullObserver observer;
  Status s = model.fit(data, 1, observer);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("singular"));
  EXPECT_THAT(s.message(), HasSubstr("feature 1 ('x1')"));
  EXPECT_THAT(s.message(), HasSubstr("set l2 > 0"));
  EXPECT_FALSE(model.ready()) << "a failed fit leaves the model untrained";
  EXPECT_EQ(observer.calls, 0);

  LinearRegression ridge(closedForm(1e-3));
  ASSERT_TRUE(ridge.fit(data, 1, observer).ok());
  EXPECT_TRUE(ridge.ready());
}

TEST(LinearRegressionTest, RefusesClassDataAndWrongInputs) {
  LinearRegression model(closedForm());
  DatasetSchema classes;
  classes.row_shape = {2};
  classes.label_kind = LabelKind::kClass;
  classes.class_names = {"a", "b"};
  classes.num_targets = 1;
  EXPECT_THAT(model.prepare(classes, 1).message(),
              HasSubstr("needs value labels (label_type: value)"));
  TensorMap outputs;
  EXPECT_EQ(model.predict(inputOf(Tensor::zeros(DType::kFloat32, {1, 2})), outputs, {}).code(),
            StatusCode::kFailedPrecondition);

  NullObserver observer;
  ASSERT_TRUE(model.fit(smallSystem(), 1, observer).ok());
  Status shape = model.predict(inputOf(Tensor::zeros(DType::kFloat32, {2, 3})), outputs, {});
  EXPECT_EQ(shape.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(shape.message(), HasSubstr("input 'input' must be FP32 [-1, 2], got FP32 [2, 3]"));
  Status dtype = model.predict(inputOf(Tensor::zeros(DType::kFloat64, {2, 2})), outputs, {});
  EXPECT_THAT(dtype.message(), HasSubstr("got FP64 [2, 2]"));
  TensorMap wrong;
  wrong.set("x", Tensor::zeros(DType::kFloat32, {1, 2}));
  EXPECT_THAT(model.predict(wrong, outputs, {}).message(), HasSubstr("unknown input 'x'"));
  EXPECT_THAT(model.predict(TensorMap(), outputs, {}).message(),
              HasSubstr("missing input 'input' FP32 [-1, 2]"));
}

TEST(LinearRegressionTest, CorruptPayloadsAreRefusedAndChangeNothing) {
  LinearRegression model(closedForm());
  NullObserver observer;
  ASSERT_TRUE(model.fit(smallSystem(), 1, observer).ok());
  std::string payload;
  ASSERT_TRUE(model.save(payload).ok());

  LinearRegression target(closedForm(0.5));
  TableDataset other({1, 2, 3, 5, 8, 13}, {1, 0, 1}, 2, 1);
  ASSERT_TRUE(target.fit(other, 1, observer).ok());
  std::string before;
  ASSERT_TRUE(target.save(before).ok());
  auto refused = [&](std::string_view bad, StatusCode code) {
    Status s = target.load(bad, LinearRegression::kFormatVersion);
    EXPECT_EQ(s.code(), code) << s.toString();
    std::string after;
    EXPECT_TRUE(target.save(after).ok());
    EXPECT_EQ(after, before) << "the model changed";
  };
  refused(payload.substr(0, payload.size() - 1), StatusCode::kDataLoss);
  refused(payload + "x", StatusCode::kDataLoss);
  refused("", StatusCode::kDataLoss);
  std::string huge = payload;
  huge[6] = '\x7f';  // features = enormous: refused before allocating
  refused(huge, StatusCode::kDataLoss);
  std::string flag = payload;
  flag[16] = 7;
  refused(flag, StatusCode::kDataLoss);
  std::string nan = payload;
  const float bad = std::nanf("");
  std::memcpy(nan.data() + nan.size() - 4, &bad, 4);
  refused(nan, StatusCode::kDataLoss);
  EXPECT_EQ(target.load(payload, 2).code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(target.load(payload, LinearRegression::kFormatVersion).ok());
  std::string reloaded;
  ASSERT_TRUE(target.save(reloaded).ok());
  EXPECT_EQ(reloaded, payload);
  EXPECT_EQ(target.options().l2, 0.0);
}

TEST(LinearRegressionTest, RegistersModelLinearWithDefaults) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "model.linear");
  NodeConfig config("reg", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty());
    config.setValue(spec.name, spec.default_value);
  }
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok());
  auto& model = static_cast<LinearRegression&>(**node);
  EXPECT_EQ(model.options().l2, 0.0);
  EXPECT_TRUE(model.options().fit_intercept);
  EXPECT_NE(model.selfTraining(), nullptr);
  EXPECT_EQ(model.gradientTraining(), nullptr);

  config.setValue("solver", std::string("gradient"));
  auto gradient = type.factory(config);
  ASSERT_TRUE(gradient.ok());
  EXPECT_NE(static_cast<LinearRegression&>(**gradient).gradientTraining(), nullptr);
}

}  // namespace
}  // namespace aimass::plugins::model
