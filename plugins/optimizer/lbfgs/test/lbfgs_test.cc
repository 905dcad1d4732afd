// SPDX-License-Identifier: Apache-2.0
#include "lbfgs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <new>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/optimizer_conformance.h"
#include "aimass/testing/registration.h"
#include "allocation_counter.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::optimizer {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<LbfgsOptimizer> make(double lr = 1, std::uint64_t memory = 100) {
  auto optimizer = LbfgsOptimizer::create({lr, memory});
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

/// Gradient of f(x) = 1/2 sum c_i x_i^2.
std::vector<double> quadraticGradient(const std::vector<double>& c, const std::vector<double>& x) {
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) g[i] = c[i] * x[i];
  return g;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

/// L-BFGS without line search in double, written the way torch.optim.LBFGS's loop reads.
std::vector<std::vector<double>> referenceTrajectory(const std::vector<double>& c,
                                                     std::vector<double> x, double lr,
                                                     std::size_t memory, int steps) {
  std::deque<std::vector<double>> old_s, old_y;
  std::vector<double> prev_g, prev_step;
  double gamma = 1;
  std::vector<std::vector<double>> out;
  for (int k = 0; k < steps; ++k) {
    const auto g = quadraticGradient(c, x);
    std::vector<double> d(x.size());
    if (k > 0) {
      std::vector<double> y(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) y[i] = g[i] - prev_g[i];
      const double ys = dot(y, prev_step);
      if (ys > 1e-10) {
        if (old_s.size() == memory) {
          old_s.pop_front();
          old_y.pop_front();
        }
        old_s.push_back(prev_step);
        old_y.push_back(y);
        gamma = ys / dot(y, y);
      }
    }
    for (std::size_t i = 0; i < x.size(); ++i) d[i] = -g[i];
    std::vector<double> al(old_s.size());
    for (std::size_t j = old_s.size(); j-- > 0;) {
      al[j] = dot(old_s[j], d) / dot(old_y[j], old_s[j]);
      for (std::size_t i = 0; i < x.size(); ++i) d[i] -= al[j] * old_y[j][i];
    }
    for (auto& v : d) v *= gamma;
    for (std::size_t j = 0; j < old_s.size(); ++j) {
      const double be = dot(old_y[j], d) / dot(old_y[j], old_s[j]);
      for (std::size_t i = 0; i < x.size(); ++i) d[i] += old_s[j][i] * (al[j] - be);
    }
    double l1 = 0;
    for (double v : g) l1 += std::abs(v);
    const double t = k == 0 ? std::min(1.0, 1 / l1) * lr : lr;
    prev_step.assign(x.size(), 0);
    for (std::size_t i = 0; i < x.size(); ++i) {
      prev_step[i] = t * d[i];
      x[i] += prev_step[i];
    }
    prev_g = g;
    out.push_back(x);
  }
  return out;
}

void expectConformance(GradientOptimizer& optimizer) {
  for (const auto& check : aimass::testing::checkGradientOptimizer(optimizer)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(LbfgsOptimizerTest, DefaultPassesTheConformanceSuite) {
  auto optimizer = make();
  ASSERT_NE(optimizer, nullptr);
  expectConformance(*optimizer);
  EXPECT_EQ(optimizer->learningRate(), 1.0) << "the suite restores the rate";
}

TEST(LbfgsOptimizerTest, ShortMemoryPassesTheConformanceSuite) {
  auto optimizer = make(1, 3);
  ASSERT_NE(optimizer, nullptr);
  expectConformance(*optimizer);
}

TEST(LbfgsOptimizerTest, SecondStepSolvesASphereExactly) {
  // f = x^2 + y^2 from (1, -2): g = (2, -4), |g|_1 = 6, so step 1 is -g / 6 -> (2/3, -4/3).
  // Step 2 has y = 2 s, so H = 1/2 exactly and the quasi-Newton step lands on the minimum.
  auto optimizer = make();
  OneParameter w({1.0f, -2.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  for (int step = 0; step < 2; ++step) {
    w.p.grad.data<float>()[0] = 2 * w.value(0);
    w.p.grad.data<float>()[1] = 2 * w.value(1);
    ASSERT_TRUE(optimizer->step(w.span()).ok());
    if (step == 0) {
      EXPECT_FLOAT_EQ(w.value(0), 2.0f / 3);
      EXPECT_FLOAT_EQ(w.value(1), -4.0f / 3);
    }
  }
  EXPECT_NEAR(w.value(0), 0, 1e-6);
  EXPECT_NEAR(w.value(1), 0, 1e-6);
  EXPECT_EQ(optimizer->pairs(), 1u);
}

TEST(LbfgsOptimizerTest, FollowsTheTwoLoopRecursionOnAnIllConditionedQuadratic) {
  const std::vector<double> c = {1, 4, 10, 25};
  const std::vector<double> start = {1, -1, 0.5, 0.2};
  for (std::size_t memory : {1u, 2u, 10u}) {
    const auto expected = referenceTrajectory(c, start, 0.5, memory, 8);
    auto optimizer = make(0.5, memory);
    OneParameter w({1.0f, -1.0f, 0.5f, 0.2f});
    ASSERT_TRUE(optimizer->begin(w.span()).ok());
    for (std::size_t step = 0; step < expected.size(); ++step) {
      for (std::size_t i = 0; i < c.size(); ++i) {
        w.p.grad.data<float>()[i] = static_cast<float>(c[i] * w.value(i));
      }
      ASSERT_TRUE(optimizer->step(w.span()).ok());
      for (std::size_t i = 0; i < c.size(); ++i) {
        EXPECT_NEAR(w.value(i), expected[step][i], 1e-4)
            << "memory " << memory << " step " << step + 1 << " coordinate " << i;
      }
    }
    EXPECT_LE(optimizer->pairs(), memory);
  }
}

TEST(LbfgsOptimizerTest, SpansSeveralParametersAsOneVector) {
  // Same sphere as above, split over two parameters: the same two steps solve it.
  auto optimizer = make();
  Parameter a{"a", Tensor::fromVector<float>({1.0f}, {1}), Tensor::zeros(DType::kFloat32, {1})};
  Parameter b{"b", Tensor::fromVector<float>({-2.0f}, {1}), Tensor::zeros(DType::kFloat32, {1})};
  std::vector<Parameter> params{a, b};
  ASSERT_TRUE(optimizer->begin(params).ok());
  for (int step = 0; step < 2; ++step) {
    for (auto& p : params) {
      p.grad.data<float>()[0] = 2 * p.value.data<float>()[0];
    }
    ASSERT_TRUE(optimizer->step(params).ok());
  }
  EXPECT_NEAR(params[0].value.data<float>()[0], 0, 1e-6);
  EXPECT_NEAR(params[1].value.data<float>()[0], 0, 1e-6);
}

TEST(LbfgsOptimizerTest, SkipsPairsWithoutPositiveCurvature) {
  // Moving along -g made the gradient grow (y·s < 0): no pair is kept, and the step is -lr g.
  auto optimizer = make();
  OneParameter w({0.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(1);
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  EXPECT_FLOAT_EQ(w.value(), -1.0f);
  w.setGrad(2);
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  EXPECT_EQ(optimizer->pairs(), 0u);
  EXPECT_FLOAT_EQ(w.value(), -3.0f);
}

TEST(LbfgsOptimizerTest, StepAllocatesNothing) {
  auto optimizer = make(0.1, 5);
  OneParameter w(std::vector<float>(1000, 1.0f));
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  const long before = aimass::testing::heapAllocations();
  for (int i = 0; i < 50; ++i) {
    for (std::size_t j = 0; j < 1000; ++j) {
      w.p.grad.data<float>()[j] = static_cast<float>(1 + j % 7) * w.value(j);
    }
    ASSERT_TRUE(optimizer->step(w.span()).ok());
  }
  EXPECT_EQ(aimass::testing::heapAllocations(), before);
  EXPECT_EQ(optimizer->pairs(), 5u);
}

TEST(LbfgsOptimizerTest, RefusesStepsOnOtherParameters) {
  auto optimizer = make();
  OneParameter w({1, 2, 3});
  EXPECT_EQ(optimizer->step(w.span()).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  OneParameter other({1, 2});
  Status s = optimizer->step(other.span());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'w' changed size"));
}

TEST(LbfgsOptimizerTest, StateRefusesAnotherMemory) {
  auto optimizer = make(1, 4);
  OneParameter w({1.0f});
  ASSERT_TRUE(optimizer->begin(w.span()).ok());
  w.setGrad(1);
  ASSERT_TRUE(optimizer->step(w.span()).ok());
  std::string state;
  ASSERT_TRUE(optimizer->saveState(state).ok());
  auto other = make(1, 5);
  ASSERT_TRUE(other->begin(w.span()).ok());
  Status s = other->loadState(state);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("saved with memory 4"));
  auto same = make(0.3, 4);
  ASSERT_TRUE(same->begin(w.span()).ok());
  ASSERT_TRUE(same->loadState(state).ok());
  EXPECT_EQ(same->learningRate(), 1.0);
  EXPECT_EQ(same->steps(), 1u);
}

TEST(LbfgsOptimizerTest, CreateRefusesBadSettings) {
  EXPECT_EQ(LbfgsOptimizer::create({0, 10}).status().code(), StatusCode::kInvalidArgument);
  auto no_memory = LbfgsOptimizer::create({1, 0});
  EXPECT_THAT(no_memory.status().message(), HasSubstr("memory must be at least 1"));
}

TEST(LbfgsOptimizerTest, RegistersWithDefaults) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "optimizer.lbfgs");
  NodeConfig config("opt", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty());
    config.setValue(spec.name, spec.default_value);
  }
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& optimizer = static_cast<LbfgsOptimizer&>(**node);
  EXPECT_EQ(optimizer.learningRate(), 1.0);
  EXPECT_EQ(optimizer.options().memory, 100u);
}

}  // namespace
}  // namespace aimass::plugins::optimizer
