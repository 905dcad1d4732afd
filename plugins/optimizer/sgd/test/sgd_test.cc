// SPDX-License-Identifier: Apache-2.0
#include "sgd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/optimizer_conformance.h"
#include "aimass/testing/registration.h"
#include "allocation_counter.h"
#include "optimizer_state_bytes.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::optimizer {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<SgdOptimizer> make(SgdOptions options) {
  auto optimizer = SgdOptimizer::create(options);
  EXPECT_TRUE(optimizer.ok()) << optimizer.status().toString();
  return optimizer.ok() ? std::move(optimizer).value() : nullptr;
}

struct OneParameter {
  explicit OneParameter(std::vector<float> values) {
    p.name = "w";
    const auto n = static_cast<std::int64_t>(values.size());
    p.value = Tensor::fromVector(values, {n});
    p.grad = Tensor::zeros(DType::kFloat32, {n});
  }
  std::span<Parameter> span() { return {&p, 1}; }
  float value(std::size_t i = 0) { return p.value.data<float>()[i]; }
  void setGrad(float g) {
    for (float& x : p.grad.span<float>()) x = g;
  }
  Parameter p;
};

void expectConformance(GradientOptimizer& optimizer) {
  for (const auto& check : aimass::testing::checkGradientOptimizer(optimizer)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(SgdOptimizerTest, PlainSgdPassesTheConformanceSuite) {
  auto optimizer = make({});
  ASSERT_NE(optimizer, nullptr);
  expectConformance(*optimizer);
  EXPECT_EQ(optimizer->learningRate(), 0.01) << "the suite restores the rate";
}

TEST(SgdOptimizerTest, MomentumPassesTheConformanceSuite) {
  auto optimizer = make({0.01, 0.9, false, 0});
  ASSERT_NE(optimizer, nullptr);
  expectConformance(*optimizer);
}

TEST(SgdOptimizerTest, NesterovWithWeightDecayPassesTheConformanceSuite) {
  auto optimizer = make({0.01, 0.9, true, 1e-4});
  ASSERT_NE(optimizer, nullptr);
  expectConformance(*optimizer);
}

TEST(SgdOptimizerTest, PlainStepIsLearningRateTimesGradient) {
  auto optimizer = make({0.1, 0, false, 0});
  OneParameter w({1.0f, -2.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.p.grad.data<float>()[0] = 3;
  w.p.grad.data<float>()[1] = -1;
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  EXPECT_FLOAT_EQ(w.value(0), 0.7f);
  EXPECT_FLOAT_EQ(w.value(1), -1.9f);
  EXPECT_EQ(optimizer->steps(), 1u);
}

TEST(SgdOptimizerTest, MomentumAccumulatesVelocity) {
  // Constant gradient 1, lr 0.1, momentum 0.5: v = 1, 1.5, 1.75; w = 0.9, 0.75, 0.575.
  auto optimizer = make({0.1, 0.5, false, 0});
  OneParameter w({1.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(1);
  const float expected[] = {0.9f, 0.75f, 0.575f};
  for (float e : expected) {
    ASSERT_TRUE(optimizer->step(w.span()).ok());
    EXPECT_NEAR(w.value(), e, 1e-6);
  }
}

TEST(SgdOptimizerTest, NesterovLooksAhead) {
  // update = g + momentum * v: v1 = 1, update 1.5 -> 0.85; v2 = 1.5, update 1.75 -> 0.675.
  auto optimizer = make({0.1, 0.5, true, 0});
  OneParameter w({1.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(1);
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  EXPECT_NEAR(w.value(), 0.85f, 1e-6);
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  EXPECT_NEAR(w.value(), 0.675f, 1e-6);
}

TEST(SgdOptimizerTest, WeightDecayShrinksWeightsWithoutGradient) {
  auto optimizer = make({0.5, 0, false, 0.1});
  OneParameter w({2.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  EXPECT_FLOAT_EQ(w.value(), 1.9f);  // 2 - 0.5 * (0 + 0.1 * 2)
}

TEST(SgdOptimizerTest, VelocitiesOfZeroGradientsEndAtZeroNotInDenormals) {
  // After one gradient of 1 the velocity decays by the momentum a step: 0.9^900 is about 6e-42,
  // a denormal, where each operation costs a microcode assist (aimass/util/denormals.h).
  auto optimizer = make({0.01, 0.9, false, 0});
  OneParameter w(std::vector<float>(64, 1.0f));
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(1);
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  w.setGrad(0);
  for (int step = 0; step < 900; ++step) {
    ASSERT_TRUE(optimizer->step(w.span()).ok());
  }
  std::string state;
  ASSERT_TRUE(optimizer->saveState(state).ok());
  // "SGD1"; after each parameter's size its "has a velocity" flag, then the velocities.
  EXPECT_EQ(aimass::testing::denormalsInState(state, 4, 0, 1, 1), 0);
}

TEST(SgdOptimizerTest, StepAllocatesNothing) {
  auto optimizer = make({0.01, 0.9, true, 0.01});
  OneParameter w(std::vector<float>(1000, 1.0f));
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(0.5f);
  const long before = aimass::testing::heapAllocations();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(optimizer->step(w.span()).ok());
  }
  EXPECT_EQ(aimass::testing::heapAllocations(), before);
}

TEST(SgdOptimizerTest, RefusesStepsOnOtherParameters) {
  auto optimizer = make({});
  OneParameter w({1, 2, 3});
  EXPECT_EQ(optimizer->step(w.span()).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  OneParameter other({1, 2});
  Status s = optimizer->step(other.span());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'w' changed size"));
  EXPECT_EQ(optimizer->step({}).code(), StatusCode::kInvalidArgument);

  Parameter ints;
  ints.name = "ids";
  ints.value = Tensor::zeros(DType::kInt64, {2});
  ints.grad = Tensor::zeros(DType::kInt64, {2});
  Status typed = optimizer->begin(std::span<Parameter>(&ints, 1));
  EXPECT_THAT(typed.message(), HasSubstr("parameter 'ids' needs FP32"));
}

TEST(SgdOptimizerTest, StateRestoresRateStepsAndVelocities) {
  auto optimizer = make({0.1, 0.5, false, 0});
  OneParameter w({1.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(1);
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  std::string state;
  ASSERT_TRUE(optimizer->saveState(state).ok());

  auto restored = make({0.3, 0.5, false, 0});
  OneParameter w2({0.9f});
  ASSERT_TRUE(restored->begin(w2.span()).ok());
  ASSERT_TRUE(restored->loadState(state).ok());
  EXPECT_EQ(restored->learningRate(), 0.1);
  EXPECT_EQ(restored->steps(), 1u);
  w2.setGrad(1);
  ASSERT_TRUE(restored->step(w2.span()).ok());
  EXPECT_NEAR(w2.value(), 0.75f, 1e-6) << "velocity 1 carried over";

  auto plain = make({0.1, 0, false, 0});
  ASSERT_TRUE(plain->begin(w2.span()).ok());
  Status mismatch = plain->loadState(state);
  EXPECT_EQ(mismatch.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.message(), HasSubstr("saved with momentum"));
  EXPECT_EQ(plain->loadState("nonsense").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(plain->learningRate(), 0.1);
}

TEST(SgdOptimizerTest, CreateRefusesBadSettings) {
  auto nesterov = SgdOptimizer::create({0.01, 0, true, 0});
  EXPECT_EQ(nesterov.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(nesterov.status().message(), HasSubstr("nesterov needs momentum > 0"));
  EXPECT_FALSE(SgdOptimizer::create({0, 0, false, 0}).ok());
  EXPECT_FALSE(SgdOptimizer::create({0.1, 1.0, false, 0}).ok());
  EXPECT_FALSE(SgdOptimizer::create({0.1, 0, false, -1}).ok());
}

TEST(SgdOptimizerTest, RegisteredFactoryReportsNesterovWithoutMomentum) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "optimizer.sgd");
  NodeConfig config("sgd", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty());
    config.setValue(spec.name, spec.default_value);
  }
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(static_cast<GradientOptimizer&>(**node).learningRate(), 0.01);
  config.setValue("nesterov", true);
  auto bad = type.factory(config);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  config.setValue("momentum", 0.9);
  EXPECT_TRUE(type.factory(config).ok());
}

// The bytes saveState() wrote before the optimizers shared one state format: checkpoints made
// then must load, so the format may not change.
TEST(SgdOptimizerTest, StateBytesAreTheFormatEarlierCheckpointsHold) {
  constexpr const char* kWithAll =
      "534744319a9999999999b93f020000000000000002000000000000000300000000000000013333f3"
      "3e333373bf3333f33f020000000000000001333373c03333733e";
  constexpr const char* kPlain =
      "534744317b14ae47e17a843f02000000000000000200000000000000030000000000000000020000"
      "000000000000";
  auto with_all = make({0.1, 0.9, false, 0});
  EXPECT_EQ(aimass::testing::stateHexAfterTwoSteps(*with_all), kWithAll);
  auto plain = make({});
  EXPECT_EQ(aimass::testing::stateHexAfterTwoSteps(*plain), kPlain);
}

}  // namespace
}  // namespace aimass::plugins::optimizer
