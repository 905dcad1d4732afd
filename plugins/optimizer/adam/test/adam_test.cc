// SPDX-License-Identifier: Apache-2.0
#include "adam.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "aimass/host.h"
#include "aimass/plugin.h"
#include "aimass/testing/optimizer_conformance.h"
#include "aimass/testing/registration.h"
#include "allocation_counter.h"
#include "optimizer_state_bytes.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::optimizer {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<AdamOptimizer> make(AdamOptions options) {
  auto optimizer = AdamOptimizer::create(options);
  EXPECT_TRUE(optimizer.ok()) << optimizer.status().toString();
  return optimizer.ok() ? std::move(optimizer).value() : nullptr;
}

AdamOptions adam(double lr, double weight_decay = 0, bool amsgrad = false, bool decoupled = false) {
  AdamOptions o;
  o.learning_rate = lr;
  o.weight_decay = weight_decay;
  o.amsgrad = amsgrad;
  o.decoupled = decoupled;
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

/// Adam/AdamW on one scalar in double, written from the papers' textbook form
/// (m_hat / (sqrt(v_hat) + eps)) rather than from the implementation's rearrangement.
std::vector<double> referenceTrajectory(const AdamOptions& o, double w,
                                        const std::vector<double>& gradients) {
  double m = 0, v = 0, v_max = 0;
  std::vector<double> out;
  for (std::size_t t = 1; t <= gradients.size(); ++t) {
    double g = gradients[t - 1];
    if (o.decoupled) {
      w *= 1 - o.learning_rate * o.weight_decay;
    } else {
      g += o.weight_decay * w;
    }
    m = o.beta1 * m + (1 - o.beta1) * g;
    v = o.beta2 * v + (1 - o.beta2) * g * g;
    v_max = std::max(v_max, v);
    const double m_hat = m / (1 - std::pow(o.beta1, double(t)));
    const double v_hat = (o.amsgrad ? v_max : v) / (1 - std::pow(o.beta2, double(t)));
    w -= o.learning_rate * m_hat / (std::sqrt(v_hat) + o.epsilon);
    out.push_back(w);
  }
  return out;
}

/// Parameters of the W1 network's sizes (784-256-128-10) with gradients that differ per
/// element and per step, so a skipped, repeated or misplaced element changes the result.
struct NetworkParameters {
  NetworkParameters() {
    const std::vector<std::vector<std::int64_t>> shapes = {{784, 256}, {256},     {256, 128},
                                                           {128},      {128, 10}, {10}};
    std::mt19937 random(3);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      Parameter p;
      p.name = "p" + std::to_string(i);
      p.value = Tensor(DType::kFloat32, shapes[i]);
      p.grad = Tensor(DType::kFloat32, shapes[i]);
      for (float& x : p.value.span<float>()) {
        x = normal(random);
      }
      all.push_back(std::move(p));
    }
  }
  void setGradients(int step) {
    std::mt19937 random(100 + step);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (Parameter& p : all) {
      for (float& g : p.grad.span<float>()) {
        g = normal(random);
      }
    }
  }
  std::vector<float> values() const {
    std::vector<float> out;
    for (const Parameter& p : all) {
      out.insert(out.end(), p.value.span<float>().begin(), p.value.span<float>().end());
    }
    return out;
  }
  std::vector<Parameter> all;
};

void expectConformance(GradientOptimizer& optimizer) {
  for (const auto& check : aimass::testing::checkGradientOptimizer(optimizer)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(AdamOptimizerTest, DefaultAdamPassesTheConformanceSuite) {
  auto optimizer = make(adam(0.01));
  ASSERT_NE(optimizer, nullptr);
  expectConformance(*optimizer);
  EXPECT_EQ(optimizer->learningRate(), 0.01) << "the suite restores the rate";
}

TEST(AdamOptimizerTest, AmsgradWithWeightDecayPassesTheConformanceSuite) {
  auto optimizer = make(adam(0.01, 1e-4, true));
  ASSERT_NE(optimizer, nullptr);
  expectConformance(*optimizer);
}

TEST(AdamOptimizerTest, AdamWPassesTheConformanceSuite) {
  auto optimizer = make(adam(0.01, 1e-2, false, true));
  ASSERT_NE(optimizer, nullptr);
  expectConformance(*optimizer);
}

TEST(AdamOptimizerTest, FirstStepMovesEachWeightByTheLearningRate) {
  // m_hat = g and v_hat = g^2 after one step, so the update is lr * g / (|g| + eps).
  auto optimizer = make(adam(0.1));
  OneParameter w({1.0f, -2.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.p.grad.data<float>()[0] = 2;
  w.p.grad.data<float>()[1] = -0.25f;
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  EXPECT_FLOAT_EQ(w.value(0), 0.9f);
  EXPECT_FLOAT_EQ(w.value(1), -1.9f);
  EXPECT_EQ(optimizer->steps(), 1u);
}

TEST(AdamOptimizerTest, FollowsThePyTorchFormulaOverChangingGradients) {
  const std::vector<double> gradients = {1.0, -0.5, 3.0, 0.0, 0.25, -2.0, 0.1};
  for (const AdamOptions& o :
       {adam(0.05), adam(0.05, 0.1), adam(0.05, 0, true), adam(0.05, 0.1, true, true)}) {
    auto optimizer = make(o);
    OneParameter w({0.5f});
    ASSERT_TRUE(optimizer->begin(w.span()).ok());
    const auto expected = referenceTrajectory(o, 0.5, gradients);
    for (std::size_t t = 0; t < gradients.size(); ++t) {
      w.setGrad(static_cast<float>(gradients[t]));
      ASSERT_TRUE(optimizer->step(w.span()).ok());
      EXPECT_NEAR(w.value(), expected[t], 1e-6)
          << "step " << t + 1 << " weight_decay " << o.weight_decay << " amsgrad " << o.amsgrad
          << " decoupled " << o.decoupled;
    }
  }
}

TEST(AdamOptimizerTest, AmsgradKeepsTheLargestSecondMoment) {
  // A large gradient then none: v decays, v_max does not, so AMSGrad moves less on step 2.
  auto plain = make(adam(0.1));
  auto ams = make(adam(0.1, 0, true));
  OneParameter a({0.0f}), b({0.0f});
  ASSERT_TRUE(plain->begin(a.span()).ok());
  ASSERT_TRUE(ams->begin(b.span()).ok());
  for (float g : {10.0f, 0.0f}) {
    a.setGrad(g);
    b.setGrad(g);
    ASSERT_TRUE(plain->step(a.span()).ok());
    ASSERT_TRUE(ams->step(b.span()).ok());
  }
  EXPECT_LT(std::abs(b.value() + 0.1f), std::abs(a.value() + 0.1f));
  EXPECT_NEAR(b.value(), referenceTrajectory(adam(0.1, 0, true), 0, {10, 0})[1], 1e-6);
}

TEST(AdamOptimizerTest, CoupledDecayIsAGradientButDecoupledDecayShrinksTheWeight) {
  // No gradient, weight 1, weight_decay 0.5, lr 0.1. Adam sees g = 0.5 and moves by lr;
  // AdamW shrinks by lr * weight_decay = 5 % and has no gradient to follow.
  auto coupled = make(adam(0.1, 0.5));
  auto decoupled = make(adam(0.1, 0.5, false, true));
  OneParameter a({1.0f}), b({1.0f});
  ASSERT_TRUE(coupled->begin(a.span()).ok());
  ASSERT_TRUE(decoupled->begin(b.span()).ok());
  ASSERT_TRUE(coupled->step(a.span()).ok());
  ASSERT_TRUE(decoupled->step(b.span()).ok());
  EXPECT_FLOAT_EQ(a.value(), 0.9f);
  EXPECT_FLOAT_EQ(b.value(), 0.95f);
}

TEST(AdamOptimizerTest, SetLearningRateAppliesToTheNextStep) {
  auto optimizer = make(adam(0.1));
  OneParameter w({1.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(1);
  optimizer->setLearningRate(0.01);
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  EXPECT_FLOAT_EQ(w.value(), 0.99f);
}

TEST(AdamOptimizerTest, StepAllocatesNothing) {
  auto optimizer = make(adam(0.01, 0.01, true));
  OneParameter w(std::vector<float>(1000, 1.0f));
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(0.5f);
  const long before = aimass::testing::heapAllocations();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(optimizer->step(w.span()).ok());
  }
  EXPECT_EQ(aimass::testing::heapAllocations(), before);
}

TEST(AdamOptimizerTest, ThreadsGiveBitIdenticalResultsToOneThread) {
  for (bool amsgrad : {false, true}) {
    std::vector<std::vector<float>> results;
    std::vector<std::string> states;
    for (int threads : {1, 2, 3}) {
      AdamOptions o = adam(0.01, 0.001, amsgrad);
      o.threads = threads;
      auto optimizer = make(o);
      NetworkParameters net;
      ASSERT_TRUE(optimizer->begin(net.all).ok());
      for (int step = 0; step < 5; ++step) {
        net.setGradients(step);
        ASSERT_TRUE(optimizer->step(net.all).ok());
      }
      results.push_back(net.values());
      states.emplace_back();
      ASSERT_TRUE(optimizer->saveState(states.back()).ok());
    }
    // Every weight moved (the gradients are never zero), and identically for any thread count.
    NetworkParameters start;
    const std::vector<float> initial = start.values();
    for (std::size_t j = 0; j < initial.size(); ++j) {
      ASSERT_NE(results[0][j], initial[j]) << "element " << j << " was not updated";
    }
    EXPECT_TRUE(results[1] == results[0]) << "2 threads differ from 1, amsgrad " << amsgrad;
    EXPECT_TRUE(results[2] == results[0]) << "3 threads differ from 1, amsgrad " << amsgrad;
    EXPECT_EQ(states[1], states[0]);
    EXPECT_EQ(states[2], states[0]);
  }
}

TEST(AdamOptimizerTest, StepOnManyThreadsAllocatesNothing) {
  AdamOptions o = adam(0.01);
  o.threads = 2;
  auto optimizer = make(o);
  NetworkParameters net;
  ASSERT_TRUE(optimizer->begin(net.all).ok());
  net.setGradients(0);
  ASSERT_TRUE(optimizer->step(net.all).ok());  // the first parallel region starts the team
  const long before = aimass::testing::heapAllocations();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(optimizer->step(net.all).ok());
  }
  EXPECT_EQ(aimass::testing::heapAllocations(), before);
}

TEST(AdamOptimizerTest, RefusesStepsOnOtherParameters) {
  auto optimizer = make(adam(0.01));
  OneParameter w({1, 2, 3});
  EXPECT_EQ(optimizer->step(w.span()).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  OneParameter other({1, 2});
  Status s = optimizer->step(other.span());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'w' changed size"));
  Parameter ints;
  ints.name = "ids";
  ints.value = Tensor::zeros(DType::kInt64, {2});
  ints.grad = Tensor::zeros(DType::kInt64, {2});
  EXPECT_THAT(optimizer->begin(std::span<Parameter>(&ints, 1)).message(),
              HasSubstr("optimizer.adam: parameter 'ids' needs FP32"));
}

TEST(AdamOptimizerTest, StateRestoresRateStepsAndMoments) {
  auto optimizer = make(adam(0.1, 0, true));
  OneParameter w({0.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(10);
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  std::string state;
  ASSERT_TRUE(optimizer->saveState(state).ok());

  auto restored = make(adam(0.3, 0, true));
  OneParameter w2({w.value()});
  ASSERT_TRUE(restored->begin(w2.span()).ok());
  ASSERT_TRUE(restored->loadState(state).ok());
  EXPECT_EQ(restored->learningRate(), 0.1);
  EXPECT_EQ(restored->steps(), 1u);
  w2.setGrad(0);
  ASSERT_TRUE(restored->step(w2.span()).ok());
  EXPECT_NEAR(w2.value(), referenceTrajectory(adam(0.1, 0, true), 0, {10, 0})[1], 1e-6);

  auto plain = make(adam(0.1));
  ASSERT_TRUE(plain->begin(w2.span()).ok());
  Status mismatch = plain->loadState(state);
  EXPECT_EQ(mismatch.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.message(), HasSubstr("saved with amsgrad"));
  EXPECT_EQ(plain->loadState("nonsense").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(plain->loadState(state + "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(plain->learningRate(), 0.1);
}

TEST(AdamOptimizerTest, MomentsOfZeroGradientsEndAtZeroNotInDenormals) {
  // After one gradient of 1, m decays by beta1 a step: 0.1 * 0.9^900 is about 7e-43, a
  // denormal, where each operation costs a microcode assist (aimass/util/denormals.h). The
  // update flushes those to zero, on every thread it runs on, and leaves the caller's mode be.
  auto optimizer = make(adam(0.001));
  NetworkParameters network;  // big enough for the threaded path
  OneParameter single({0.5f});
  for (std::span<Parameter> parameters : {std::span<Parameter>(network.all), single.span()}) {
    ASSERT_TRUE(optimizer->begin(parameters).ok());
    for (Parameter& p : parameters) {
      for (float& g : p.grad.span<float>()) g = 1;
    }
    ASSERT_TRUE(optimizer->step(parameters).ok());
    for (Parameter& p : parameters) {
      for (float& g : p.grad.span<float>()) g = 0;
    }
#if defined(__x86_64__)
    const unsigned mode = _mm_getcsr();
#endif
    for (int step = 0; step < 900; ++step) {
      ASSERT_TRUE(optimizer->step(parameters).ok());
    }
#if defined(__x86_64__)
    EXPECT_EQ(_mm_getcsr(), mode);
#endif
    std::string state;
    ASSERT_TRUE(optimizer->saveState(state).ok());
    EXPECT_EQ(aimass::testing::denormalsInState(state, 5, 1, 0, 2), 0);  // "ADAM1", amsgrad; m, v
  }
}

TEST(AdamOptimizerTest, CreateRefusesBadSettings) {
  AdamOptions o;
  o.beta1 = 1.0;
  auto bad_beta = AdamOptimizer::create(o);
  EXPECT_EQ(bad_beta.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_beta.status().message(), HasSubstr("optimizer.adam: beta1 must lie in [0, 1)"));
  o = AdamOptions{};
  o.beta2 = -0.1;
  EXPECT_FALSE(AdamOptimizer::create(o).ok());
  o = AdamOptions{};
  o.epsilon = 0;
  EXPECT_FALSE(AdamOptimizer::create(o).ok());
  EXPECT_FALSE(AdamOptimizer::create(adam(0)).ok());
  auto bad_decay = AdamOptimizer::create(adam(0.1, -1, false, true));
  EXPECT_THAT(bad_decay.status().message(), HasSubstr("optimizer.adamw: weight_decay"));
  o = AdamOptions{};
  o.threads = 0;
  EXPECT_THAT(AdamOptimizer::create(o).status().message(),
              HasSubstr("optimizer.adam: threads must be at least 1, got 0"));
}

TEST(AdamOptimizerTest, RegistersAdamAndAdamWWithPyTorchDefaults) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 2u);
  aimass::testing::FactoryHost host(3);
  for (const NodeType& type : registrar.types) {
    NodeConfig config("opt", type.type, &host);
    for (const auto& spec : type.params) {
      EXPECT_FALSE(spec.doc.empty());
      config.setValue(spec.name, spec.default_value);
    }
    auto node = type.factory(config);
    ASSERT_TRUE(node.ok()) << node.status().toString();
    auto& optimizer = static_cast<AdamOptimizer&>(**node);
    EXPECT_EQ(optimizer.learningRate(), 1e-3);
    EXPECT_EQ(optimizer.options().beta1, 0.9);
    EXPECT_EQ(optimizer.options().beta2, 0.999);
    EXPECT_EQ(optimizer.options().epsilon, 1e-8);
    EXPECT_FALSE(optimizer.options().amsgrad);
    EXPECT_EQ(optimizer.options().threads, 3) << "the graph's threads: setting";
    const bool is_adamw = type.type == "optimizer.adamw";
    EXPECT_EQ(optimizer.options().decoupled, is_adamw);
    EXPECT_EQ(optimizer.options().weight_decay, is_adamw ? 1e-2 : 0.0) << type.type;
    config.setValue("epsilon", 0.0);
    EXPECT_EQ(type.factory(config).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(registrar.types[0].type, "optimizer.adam");
  EXPECT_EQ(registrar.types[1].type, "optimizer.adamw");
}

// The bytes saveState() wrote before the optimizers shared one state format: checkpoints made
// then must load, so the format may not change.
TEST(AdamOptimizerTest, StateBytesAreTheFormatEarlierCheckpointsHold) {
  constexpr const char* kWithAll =
      "4144414d317b14ae47e17a843f020000000000000001020000000000000003000000000000005c8f"
      "423d5c8fc2bd5c8f423ea8010339a801033aa801033ba8010339a801033aa801033b020000000000"
      "00005c8fc2be5c8fc23ca801033ca8010338a801033ca8010338";
  constexpr const char* kPlain =
      "4144414d317b14ae47e17a843f020000000000000000020000000000000003000000000000005c8f"
      "423d5c8fc2bd5c8f423ea8010339a801033aa801033b02000000000000005c8fc2be5c8fc23ca801"
      "033ca8010338";
  auto with_all = make({.learning_rate = 0.01, .amsgrad = true});
  EXPECT_EQ(aimass::testing::stateHexAfterTwoSteps(*with_all), kWithAll);
  auto plain = make({.learning_rate = 0.01});
  EXPECT_EQ(aimass::testing::stateHexAfterTwoSteps(*plain), kPlain);
}

}  // namespace
}  // namespace aimass::plugins::optimizer
