// SPDX-License-Identifier: Apache-2.0
// Input validation against a training-data profile: each problem kind, named with its row and
// feature; and the serving runtime's policies (off, warn, reject) with their counts in
// /metrics, and models without a profile served as before.
#include "input_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "aimass/core/serving.h"
#include "serving_test_support.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

/// Training data: x in [0, 10] without gaps, y in [100, 200] with gaps, color in {red, blue}
/// without gaps.
std::shared_ptr<const DataProfile> trainingProfile() {
  DatasetSchema schema;
  schema.feature_names = {"x", "y"};
  schema.row_shape = {2};
  schema.string_feature_names = {"color"};
  auto builder = DataProfileBuilder::forSchema(schema);
  Batch batch;
  batch.features = Tensor::fromVector(std::vector<float>{0, 100, 10, NAN, 5, 200}, {3, 2});
  batch.strings = Tensor::fromStrings({"red", "blue", "red"}).reshaped({3, 1});
  EXPECT_TRUE(builder->add(batch).ok());
  return std::make_shared<const DataProfile>(builder->finish());
}

ModelSchema takesInputAndColor() {
  ModelSchema s;
  s.task = Task::kRegression;
  s.inputs = {TensorSpec("input", DType::kFloat32, {-1, 2}),
              TensorSpec("color", DType::kBytes, {-1})};
  s.outputs = {TensorSpec("y", DType::kFloat32, {-1})};
  return s;
}

TensorMap request(std::vector<float> numbers, std::vector<std::string> colors) {
  TensorMap inputs;
  const auto rows = static_cast<std::int64_t>(colors.size());
  inputs.set("input", Tensor::fromVector(numbers, {rows, 2}));
  inputs.set("color", Tensor::fromStrings(std::move(colors)));
  return inputs;
}

std::unique_ptr<InputCheck> makeCheck(double margin = 0.1) {
  std::string why;
  auto check = InputCheck::make(trainingProfile(), takesInputAndColor(),
                                {InputPolicy::kReject, margin}, why);
  EXPECT_NE(check, nullptr) << why;
  return check;
}

TEST(InputCheckTest, RowsLikeTheTrainingDataPass) {
  auto check = makeCheck();
  // Within [min - 10% range, max + 10% range]; y may be missing since training had gaps.
  EXPECT_FALSE(check->check(request({-1, 90, 11, NAN, 3, 150}, {"red", "blue", "red"})));
}

TEST(InputCheckTest, EachProblemIsNamedWithItsRowAndFeature) {
  auto check = makeCheck();
  auto expect = [&](const TensorMap& inputs, InputProblemKind kind, std::int64_t row,
                    const std::string& feature, const std::string& detail) {
    auto problem = check->check(inputs);
    ASSERT_TRUE(problem.has_value()) << feature;
    EXPECT_EQ(problem->kind, kind) << problem->message();
    EXPECT_EQ(problem->row, row) << problem->message();
    EXPECT_EQ(problem->feature, feature) << problem->message();
    EXPECT_THAT(problem->message(), HasSubstr(detail));
    EXPECT_THAT(problem->message(), HasSubstr(std::string(inputProblemName(kind))));
  };
  const float inf = std::numeric_limits<float>::infinity();
  expect(request({1, 150, 1, inf}, {"red", "red"}), InputProblemKind::kInfinite, 1, "y", "inf");
  expect(request({1, 150, NAN, 150}, {"red", "red"}), InputProblemKind::kMissing, 1, "x",
         "training rows had none missing");
  expect(request({1, 150, 1, 211}, {"red", "red"}), InputProblemKind::kOutOfRange, 1, "y",
         "211 is outside [90, 210]");
  expect(request({-1.5f, 150}, {"red"}), InputProblemKind::kOutOfRange, 0, "x", "[-1, 11]");
  expect(request({1, 150, 1, 150}, {"red", "green"}), InputProblemKind::kUnseenCategory, 1, "color",
         "'green' was never seen");
  expect(request({1, 150}, {""}), InputProblemKind::kMissing, 0, "color", "empty");
  TensorMap wide;
  wide.set("input", Tensor::fromVector(std::vector<float>{1, 2, 3}, {1, 3}));
  expect(wide, InputProblemKind::kWrongWidth, 0, "input", "expected 2 numbers a row (x ... y)");
  TensorMap typed;
  typed.set("input", Tensor::fromVector(std::vector<float>{1, 150}, {1, 2}));
  typed.set("color", Tensor::fromVector(std::vector<float>{1}, {1}));
  expect(typed, InputProblemKind::kWrongType, 0, "color", "must be BYTES");
  TensorMap doubles;
  doubles.set("input", Tensor::fromVector(std::vector<double>{1, 150}, {1, 2}));
  expect(doubles, InputProblemKind::kWrongType, 0, "input", "must be FP32");
}

TEST(InputCheckTest, TheMarginWidensTheTrainingRange) {
  EXPECT_TRUE(makeCheck(0.0)->check(request({10.5f, 150}, {"red"})));
  EXPECT_FALSE(makeCheck(0.1)->check(request({10.5f, 150}, {"red"})));
  EXPECT_FALSE(makeCheck(1.0)->check(request({19.5f, 150}, {"red"})));
}

TEST(InputCheckTest, BoundsThatAreNotFloatsAreExactForEveryFloat) {
  // Margin 0.07 makes x's bounds about -0.7 and 10.7, neither a float: the first pass over a
  // row compares floats rounded inwards, which must decide as the double bounds do.
  auto check = makeCheck(0.07);
  const float high = 10.7f;  // just under 10.7
  EXPECT_FALSE(check->check(request({high, 150}, {"red"})));
  EXPECT_TRUE(check->check(request({std::nextafter(high, 20.0f), 150}, {"red"})));
  const float low = -0.7f;  // just above -0.7
  EXPECT_FALSE(check->check(request({low, 150}, {"red"})));
  EXPECT_TRUE(check->check(request({std::nextafter(low, -20.0f), 150}, {"red"})));
  // The second row is the one named when the first passes.
  auto problem = check->check(request({1, 150, 11, 150}, {"red", "red"}));
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->row, 1);
}

TEST(InputCheckTest, AWideRowIsCheckedInEveryColumnOfItsBlocksAndTail) {
  // 37 number features: the first pass over a row goes 16 values at a time, then the last 5.
  constexpr int kWidth = 37;
  DatasetSchema schema;
  for (int c = 0; c < kWidth; ++c) schema.feature_names.push_back("f" + std::to_string(c));
  schema.row_shape = {kWidth};
  auto builder = DataProfileBuilder::forSchema(schema);
  Batch batch;
  std::vector<float> training(2 * kWidth, 0.0f);
  std::fill(training.begin() + kWidth, training.end(), 1.0f);
  batch.features = Tensor::fromVector(training, {2, kWidth});
  ASSERT_TRUE(builder->add(batch).ok());
  ModelSchema model;
  model.task = Task::kRegression;
  model.inputs = {TensorSpec("input", DType::kFloat32, {-1, kWidth})};
  model.outputs = {TensorSpec("y", DType::kFloat32, {-1})};
  std::string why;
  auto check = InputCheck::make(std::make_shared<const DataProfile>(builder->finish()), model,
                                {InputPolicy::kReject, 0.1}, why);
  ASSERT_NE(check, nullptr) << why;
  auto rows = [&](int column, float value) {
    std::vector<float> values(3 * kWidth, 0.5f);
    if (column >= 0) values[2 * kWidth + column] = value;
    TensorMap inputs;
    inputs.set("input", Tensor::fromVector(values, {3, kWidth}));
    return inputs;
  };
  EXPECT_FALSE(check->check(rows(-1, 0)));
  const float inf = std::numeric_limits<float>::infinity();
  for (int c = 0; c < kWidth; ++c) {
    for (float bad : {1.2f, -0.2f, NAN, inf}) {
      auto problem = check->check(rows(c, bad));
      ASSERT_TRUE(problem) << "column " << c << ": " << bad;
      EXPECT_EQ(problem->row, 2);
      EXPECT_EQ(problem->feature, "f" + std::to_string(c)) << problem->message();
    }
  }
}

TEST(InputCheckTest, AProfileThatDoesNotDescribeTheModelIsNotApplied) {
  ModelSchema other;
  other.inputs = {TensorSpec("input", DType::kFloat32, {-1, 5})};
  std::string why;
  EXPECT_EQ(InputCheck::make(trainingProfile(), other, {}, why), nullptr);
  EXPECT_THAT(why, HasSubstr("of 2 columns"));
  ModelSchema no_color = takesInputAndColor();
  no_color.inputs.pop_back();
  EXPECT_EQ(InputCheck::make(trainingProfile(), no_color, {}, why), nullptr);
  EXPECT_THAT(why, HasSubstr("'color'"));
}

/// Sums each row's numbers; takes the color and ignores it.
class RowSum final : public UnsavedModel {
 public:
  ModelSchema schema() const override { return takesInputAndColor(); }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("input");
    std::vector<float> sums(static_cast<std::size_t>(x->dim(0)));
    for (std::size_t r = 0; r < sums.size(); ++r) {
      sums[r] = x->data<float>()[2 * r] + x->data<float>()[2 * r + 1];
    }
    outputs.set("y", Tensor::fromVector(sums, {x->dim(0)}));
    return okStatus();
  }
};

Status infer(ServingRuntime& runtime, const std::string& model, const TensorMap& inputs) {
  auto pinned = runtime.pin(model, "");
  if (!pinned.ok()) return pinned.status();
  TensorMap outputs;
  return (*pinned)->infer(inputs, PredictOptions(), outputs, nullptr);
}

TEST(InputValidationServingTest, RejectRefusesWarnAnswersAndOffDoesNothing) {
  ServingRuntime runtime;
  Logged log;
  runtime.setLog(log.sink());
  runtime.add("checked", "1", std::make_shared<RowSum>(), "", trainingProfile());
  const TensorMap bad = request({1, 150, 50, 150}, {"red", "red"});
  const TensorMap good = request({1, 150}, {"red"});

  EXPECT_TRUE(infer(runtime, "checked", bad).ok()) << "off by default: nothing is checked";
  EXPECT_THAT(runtime.prometheusMetrics(), Not(HasSubstr("aimass_input_validation")));

  runtime.setInputValidation("checked", {InputPolicy::kReject, 0.1});
  EXPECT_TRUE(infer(runtime, "checked", good).ok());
  Status refused = infer(runtime, "checked", bad);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("row 1, feature 'x': out_of_range: 50 is outside"));
  EXPECT_THAT(runtime.prometheusMetrics(),
              HasSubstr("aimass_input_validation_flagged_total{model=\"checked\",version=\"1\","
                        "problem=\"out_of_range\",action=\"rejected\"} 1"));

  runtime.setInputValidation("checked", {InputPolicy::kWarn, 0.1});
  EXPECT_TRUE(infer(runtime, "checked", bad).ok());
  EXPECT_TRUE(infer(runtime, "checked", bad).ok());
  const std::string metrics = runtime.prometheusMetrics();
  EXPECT_THAT(metrics, HasSubstr("problem=\"out_of_range\",action=\"warned\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("problem=\"out_of_range\",action=\"rejected\"} 1"))
      << "the counts outlive a settings change";
  EXPECT_THAT(log.all(), HasSubstr("answered: policy warn; 1 such requests"));
  EXPECT_THAT(log.all(), HasSubstr("answered: policy warn; 2 such requests"));
}

TEST(InputValidationServingTest, AModelWithoutAProfileIsServedAsBeforeAndSaysSo) {
  ServingRuntime runtime;
  Logged log;
  runtime.setLog(log.sink());
  runtime.add("older", "1", std::make_shared<RowSum>());
  runtime.setInputValidation("", {InputPolicy::kReject, 0.1});
  EXPECT_TRUE(infer(runtime, "older", request({1, 150, 50, 150}, {"red", "red"})).ok());
  EXPECT_THAT(log.all(), HasSubstr("model 'older' version '1' has no training-data profile"));
  EXPECT_THAT(log.all(), HasSubstr("input_validation reject does not apply"));
}

}  // namespace
}  // namespace aimass::core
