// SPDX-License-Identifier: Apache-2.0
// model.rnn in bf16 (precision: bf16): gradients against FP32's on the same weights, training
// to the same answers, the artifact's record of the training precision, serving in either
// precision, and the fallback on a CPU without AVX512-BF16.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "rnn.h"
#include "rnn_test_support.h"

namespace aimass::plugins::model {
namespace {

using compute::Precision;
using test::classSchema;
using test::lmSchema;
using ::testing::HasSubstr;

#define SKIP_WITHOUT_BF16()                                                                     \
  if (!compute::bfloat16Supported()) {                                                          \
    GTEST_SKIP() << "this CPU has no AVX512-BF16 (oneDNN ISA " << compute::cpuIsaName() << ")"; \
  }

RnnOptions options(Cell cell, Precision precision, std::int64_t layers = 2) {
  RnnOptions o;
  o.cell = cell;
  o.hidden = 16;
  o.layers = layers;
  o.embedding = 8;
  o.stateful = false;
  o.precision = precision;
  return o;
}

PredictOptions withPrecision(const std::string& precision) {
  PredictOptions o;
  o.parameters.emplace_back("precision", precision);
  return o;
}

/// The relative gap between two gradients: the largest entry-wise difference over the
/// largest FP32 magnitude.
double relativeGap(std::span<const float> bf16, std::span<const float> fp32) {
  double largest = 0, gap = 0;
  for (std::size_t j = 0; j < fp32.size(); ++j) {
    largest = std::max(largest, std::fabs(static_cast<double>(fp32[j])));
    gap = std::max(gap, std::fabs(static_cast<double>(bf16[j]) - fp32[j]));
  }
  return largest > 0 ? gap / largest : gap;
}

class RnnBf16GradientTest : public ::testing::TestWithParam<Cell> {};

// bf16 rounds each product's inputs to 8 significant bits (relative error up to 2^-9), so a
// gradient through two layers and eight steps differs from FP32's by a fraction of a percent
// of its largest entry (0.3-0.4% here); the documented bound (docs/training.md) is 3%, and 1%
// for the loss.
TEST_P(RnnBf16GradientTest, GradientsMatchFp32OnTheSameWeights) {
  SKIP_WITHOUT_BF16();
  for (const bool classification : {false, true}) {
    Rnn fp32(options(GetParam(), Precision::kFloat32));
    Rnn bf16(options(GetParam(), Precision::kBFloat16));
    const DatasetSchema schema = classification ? classSchema(4, {"without", "with"})
                                                : lmSchema(6, 8);
    ASSERT_TRUE(fp32.prepare(schema, 7).ok());
    ASSERT_TRUE(bf16.prepare(schema, 7).ok());
    const Batch batch = classification
                            ? test::holdsTokenBatch()
                            : test::lmBatch({0, 1, 2, 3, 4, 5, 2, 2, 1}, 4, 8, 0);
    auto loss32 = fp32.forwardBackward(batch, true);
    auto loss16 = bf16.forwardBackward(batch, true);
    ASSERT_TRUE(loss32.ok() && loss16.ok()) << loss16.status().toString();
    EXPECT_NEAR(*loss16, *loss32, 0.01 * std::fabs(*loss32));
    auto p32 = fp32.parameters();
    auto p16 = bf16.parameters();
    ASSERT_EQ(p32.size(), p16.size());
    double widest = 0;
    for (std::size_t i = 0; i < p32.size(); ++i) {
      const double gap = relativeGap(p16[i].grad.span<float>(), p32[i].grad.span<float>());
      widest = std::max(widest, gap);
      EXPECT_LT(gap, 0.03) << p32[i].name
                          << (classification ? " (classification)" : " (language model)");
    }
    EXPECT_GT(widest, 0.0) << "the bf16 model computed exactly FP32's gradients: not in bf16";
    std::printf("largest relative gradient gap, %s: %.4f\n",
                classification ? "classification" : "language model", widest);
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, RnnBf16GradientTest, ::testing::Values(Cell::kGru, Cell::kLstm),
                         [](const auto& info) {
                           return std::string(info.param == Cell::kGru ? "Gru" : "Lstm");
                         });

TEST(RnnBf16Test, TrainsInBf16ToTheAnswersOfFp32AndServesInEither) {
  SKIP_WITHOUT_BF16();
  RnnOptions o = options(Cell::kGru, Precision::kBFloat16, 1);
  o.bidirectional = true;
  Rnn model(o);
  ASSERT_TRUE(model.prepare(classSchema(4, {"without", "with"}), 5).ok());
  test::train(model, {test::holdsTokenBatch()}, 0.05, 300);
  EXPECT_EQ(model.trainedPrecision(), Precision::kBFloat16);
  TensorMap in;
  in.set("text", Tensor::fromStrings({"abcab", "abda", "dcc", "cc"}));
  const std::vector<std::string> expected{"without", "with", "with", "without"};
  for (const char* precision : {"fp32", "bf16", "auto"}) {
    TensorMap out;
    ASSERT_TRUE(model.predict(in, out, withPrecision(precision)).ok()) << precision;
    EXPECT_EQ(out.find("class")->strings(), expected) << "served in " << precision;
  }
  TensorMap out;
  Status refused = model.predict(in, out, withPrecision("fp16"));
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("parameter 'precision'"));
}

TEST(RnnBf16Test, TheArtifactRecordsTheTrainingPrecisionAndFormat1StillLoads) {
  SKIP_WITHOUT_BF16();
  Rnn trained(options(Cell::kLstm, Precision::kBFloat16, 1));
  ASSERT_TRUE(trained.prepare(lmSchema(6, 8), 3).ok());
  ASSERT_TRUE(trained.forwardBackward(test::lmBatch({0, 1, 2, 3}, 2, 8, 0), true).ok());
  std::string payload;
  ASSERT_TRUE(trained.save(payload).ok());
  Rnn loaded(options(Cell::kLstm, Precision::kFloat32, 1));
  ASSERT_TRUE(loaded.load(payload, Rnn::kFormatVersion).ok());
  EXPECT_EQ(loaded.trainedPrecision(), Precision::kBFloat16);
  EXPECT_EQ(loaded.options().precision, Precision::kFloat32) << "the node's setting trains on";
  // Format 1 is format 2 without the trailing precision: read as trained in FP32.
  Rnn older(options(Cell::kLstm, Precision::kBFloat16, 1));
  ASSERT_TRUE(older.load(payload.substr(0, payload.size() - 4), 1).ok());
  EXPECT_EQ(older.trainedPrecision(), Precision::kFloat32);
  std::string bad = payload;
  bad.back() = 7;  // neither fp32 nor bf16
  Status refused = loaded.load(bad, Rnn::kFormatVersion);
  EXPECT_EQ(refused.code(), StatusCode::kDataLoss);
  EXPECT_THAT(refused.message(), HasSubstr("training precision"));
}

// Run as model_rnn_bf16_without_avx512_bf16, with ONEDNN_MAX_CPU_ISA=AVX2 in its environment
// (plugins/model/rnn/test/CMakeLists.txt); elsewhere it skips.
TEST(RnnWithoutBf16Test, AutoFallsBackToFp32AndBf16IsAConfigError) {
  const char* isa = std::getenv("ONEDNN_MAX_CPU_ISA");
  if (isa == nullptr || std::string(isa) != "AVX2") {
    GTEST_SKIP() << "runs under ONEDNN_MAX_CPU_ISA=AVX2 (ctest model_rnn_bf16_without_avx512_bf16)";
  }
  EXPECT_FALSE(compute::bfloat16Supported());
  auto automatic = compute::trainingPrecision("auto");
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ(*automatic, Precision::kFloat32);
  auto forced = compute::trainingPrecision("bf16");
  ASSERT_FALSE(forced.ok());
  EXPECT_EQ(forced.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(forced.status().message(), HasSubstr("precision: bf16 needs a CPU with AVX512-BF16"));
  EXPECT_THAT(forced.status().message(), HasSubstr("avx2"));
  // Serving: auto predicts in FP32, bf16 is refused naming the parameter.
  Rnn model(options(Cell::kGru, Precision::kFloat32, 1));
  ASSERT_TRUE(model.prepare(classSchema(4, {"without", "with"}), 5).ok());
  TensorMap in, out;
  in.set("text", Tensor::fromStrings({"abcab"}));
  EXPECT_TRUE(model.predict(in, out, withPrecision("auto")).ok());
  Status refused = model.predict(in, out, withPrecision("bf16"));
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("AVX512-BF16"));
}

}  // namespace
}  // namespace aimass::plugins::model
