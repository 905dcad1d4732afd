// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aimass/model.h"

namespace aimass {
namespace {

using ::testing::HasSubstr;

TEST(FeatureInput, ReturnsTheInputTensorWhenItFollowsTheConvention) {
  TensorMap inputs;
  inputs.set("input", Tensor::zeros(DType::kFloat32, {3, 4}));
  auto got = featureInput("model.x", inputs, 4);
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(*got, inputs.find("input"));
}

TEST(FeatureInput, NamesWhatIsWrong) {
  TensorMap unknown;
  unknown.set("pixels", Tensor::zeros(DType::kFloat32, {1, 4}));
  EXPECT_THAT(featureInput("model.x", unknown, 4).status().message(),
              HasSubstr("unknown input 'pixels': model.x takes one input 'input' FP32 [-1, 4]"));

  EXPECT_THAT(featureInput("model.x", TensorMap(), 4).status().message(),
              HasSubstr("missing input 'input' FP32 [-1, 4]"));

  TensorMap wide;
  wide.set("input", Tensor::zeros(DType::kFloat32, {2, 5}));
  EXPECT_THAT(featureInput("model.x", wide, 4).status().message(),
              HasSubstr("input 'input' must be FP32 [-1, 4], got FP32 [2, 5]"));

  TensorMap doubles;
  doubles.set("input", Tensor::zeros(DType::kFloat64, {2, 4}));
  auto status = featureInput("model.x", doubles, 4).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("got FP64 [2, 4]"));
}

}  // namespace
}  // namespace aimass
