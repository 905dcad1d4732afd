// SPDX-License-Identifier: Apache-2.0
#include "rmsprop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
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

std::unique_ptr<RmsPropOptimizer> make(RmsPropOptions options) {
  auto optimizer = RmsPropOptimizer::create(options);
  EXPECT_TRUE(optimizer.ok()) << optimizer.status().toString();
  return optimizer.ok() ? std::move(optimizer).value() : nullptr;
}

RmsPropOptions rmsprop(double lr, double momentum = 0, bool centered = false,
                       double weight_decay = 0) {
  RmsPropOptions o;
  o.learning_rate = lr;
  o.momentum = momentum;
  o.centered = centered;
  o.weight_decay = weight_decay;
  return o;
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

/// RMSProp on one scalar in double, as torch.optim.RMSprop documents its algorithm.
std::vector<double> referenceTrajectory(const RmsPropOptions& o, double w,
                                        const std::vector<double>& gradients) {
  double s = 0, a = 0, b = 0;
  std::vector<double> out;
  for (double g : gradients) {
    g += o.weight_decay * w;
    s = o.alpha * s + (1 - o.alpha) * g * g;
    double denominator;
    if (o.centered) {
      a = o.alpha * a + (1 - o.alpha) * g;
      denominator = std::sqrt(s - a * a) + o.epsilon;
    } else {
      denominator = std::sqrt(s) + o.epsilon;
    }
    if (o.momentum > 0) {
      b = o.momentum * b + g / denominator;
      w -= o.learning_rate * b;
    } else {
      w -= o.learning_rate * g / denominator;
    }
    out.push_back(w);
  }
  return out;
}

void expectConformance(GradientOptimizer& optimizer) {
  for (const auto& check : aimass::testing::checkGradientOptimizer(optimizer)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(RmsPropOptimizerTest, DefaultPassesTheConformanceSuite) {
  auto optimizer = make({});
  ASSERT_NE(optimizer, nullptr);
  expectConformance(*optimizer);
  EXPECT_EQ(optimizer->learningRate(), 0.01) << "the suite restores the rate";
}

TEST(RmsPropOptimizerTest, CenteredWithMomentumPassesTheConformanceSuite) {
  auto optimizer = make(rmsprop(0.001, 0.9, true, 1e-4));
  ASSERT_NE(optimizer, nullptr);
  expectConformance(*optimizer);
}

TEST(RmsPropOptimizerTest, FirstStepIsGradientOverItsScaledMagnitude) {
  // s = 0.01 g^2, so the first update is lr * g / (0.1 |g| + eps) = 10 lr sign(g).
  auto optimizer = make(rmsprop(0.01));
  OneParameter w({1.0f, -2.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.p.grad.data<float>()[0] = 4;
  w.p.grad.data<float>()[1] = -0.5f;
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  EXPECT_NEAR(w.value(0), 0.9f, 1e-6);
  EXPECT_NEAR(w.value(1), -1.9f, 1e-6);
  EXPECT_EQ(optimizer->steps(), 1u);
}

TEST(RmsPropOptimizerTest, FollowsThePyTorchFormulaOverChangingGradients) {
  const std::vector<double> gradients = {1.0, -0.5, 3.0, 0.0, 0.25, -2.0, 0.1};
  for (const RmsPropOptions& o : {rmsprop(0.01), rmsprop(0.01, 0.9), rmsprop(0.01, 0, true),
                                  rmsprop(0.01, 0.5, true, 0.1), rmsprop(0.01, 0, false, 0.2)}) {
    auto optimizer = make(o);
    OneParameter w({0.5f});
    ASSERT_TRUE(optimizer->begin(w.span()).ok());
    const auto expected = referenceTrajectory(o, 0.5, gradients);
    for (std::size_t t = 0; t < gradients.size(); ++t) {
      w.setGrad(static_cast<float>(gradients[t]));
      ASSERT_TRUE(optimizer->step(w.span()).ok());
      EXPECT_NEAR(w.value(), expected[t], 1e-5)
          << "step " << t + 1 << " momentum " << o.momentum << " centered " << o.centered
          << " weight_decay " << o.weight_decay;
    }
  }
}

TEST(RmsPropOptimizerTest, StepAllocatesNothing) {
  auto optimizer = make(rmsprop(0.01, 0.9, true, 0.01));
  OneParameter w(std::vector<float>(1000, 1.0f));
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(0.5f);
  const long before = aimass::testing::heapAllocations();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(optimizer->step(w.span()).ok());
  }
  EXPECT_EQ(aimass::testing::heapAllocations(), before);
}

TEST(RmsPropOptimizerTest, RefusesStepsOnOtherParameters) {
  auto optimizer = make({});
  OneParameter w({1, 2, 3});
  EXPECT_EQ(optimizer->step(w.span()).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  OneParameter other({1, 2});
  Status s = optimizer->step(other.span());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'w' changed size"));
}

TEST(RmsPropOptimizerTest, StateRestoresRateStepsAndAverages) {
  const auto options = rmsprop(0.01, 0.9, true);
  auto optimizer = make(options);
  OneParameter w({0.5f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(1);
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  std::string state;
  ASSERT_TRUE(optimizer->saveState(state).ok());

  auto restored = make(rmsprop(0.5, 0.9, true));
  OneParameter w2({w.value()});
  ASSERT_TRUE(restored->begin(w2.span()).ok());
  ASSERT_TRUE(restored->loadState(state).ok());
  EXPECT_EQ(restored->learningRate(), 0.01);
  EXPECT_EQ(restored->steps(), 1u);
  w2.setGrad(-0.5f);
  ASSERT_TRUE(restored->step(w2.span()).ok());
  EXPECT_NEAR(w2.value(), referenceTrajectory(options, 0.5, {1, -0.5})[1], 1e-5);

  auto plain = make({});
  ASSERT_TRUE(plain->begin(w2.span()).ok());
  Status mismatch = plain->loadState(state);
  EXPECT_EQ(mismatch.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.message(), HasSubstr("saved centered with momentum"));
  EXPECT_EQ(plain->loadState("nonsense").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(plain->learningRate(), 0.01);
}

TEST(RmsPropOptimizerTest, CreateRefusesBadSettings) {
  auto bad_alpha = RmsPropOptimizer::create(RmsPropOptions{0.01, 1.0});
  EXPECT_EQ(bad_alpha.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_alpha.status().message(), HasSubstr("alpha must lie in [0, 1)"));
  EXPECT_FALSE(RmsPropOptimizer::create(rmsprop(0)).ok());
  EXPECT_FALSE(RmsPropOptimizer::create(rmsprop(0.01, 1.0)).ok());
  EXPECT_FALSE(RmsPropOptimizer::create(rmsprop(0.01, 0, false, -1)).ok());
  RmsPropOptions no_eps;
  no_eps.epsilon = 0;
  EXPECT_FALSE(RmsPropOptimizer::create(no_eps).ok());
}

TEST(RmsPropOptimizerTest, RegistersWithPyTorchDefaults) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "optimizer.rmsprop");
  NodeConfig config("opt", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty());
    config.setValue(spec.name, spec.default_value);
  }
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& optimizer = static_cast<RmsPropOptimizer&>(**node);
  EXPECT_EQ(optimizer.learningRate(), 1e-2);
  EXPECT_EQ(optimizer.options().alpha, 0.99);
  EXPECT_EQ(optimizer.options().epsilon, 1e-8);
  EXPECT_EQ(optimizer.options().momentum, 0.0);
  EXPECT_FALSE(optimizer.options().centered);
  config.setValue("momentum", 1.0);
  EXPECT_EQ(type.factory(config).status().code(), StatusCode::kInvalidArgument);
}

// The bytes saveState() wrote before the optimizers shared one state format: checkpoints made
// then must load, so the format may not change.
TEST(RmsPropOptimizerTest, StateBytesAreTheFormatEarlierCheckpointsHold) {
  constexpr const char* kWithAll =
      "524d5350317b14ae47e17a843f020000000000000001010200000000000000030000000000000053"
      "05a33a5305a33b5305a33c5305a33b530523bc5305a33c39f842413bf842c13cf842410200000000"
      "0000005305a33d5305a339530523bd5305233b3cf842c134f84241";
  constexpr const char* kPlain =
      "524d5350317b14ae47e17a843f020000000000000000000200000000000000030000000000000053"
      "05a33a5305a33b5305a33c02000000000000005305a33d5305a339";
  auto with_all = make({.learning_rate = 0.01, .momentum = 0.5, .centered = true});
  EXPECT_EQ(aimass::testing::stateHexAfterTwoSteps(*with_all), kWithAll);
  auto plain = make({});
  EXPECT_EQ(aimass::testing::stateHexAfterTwoSteps(*plain), kPlain);
}

}  // namespace
}  // namespace aimass::plugins::optimizer
