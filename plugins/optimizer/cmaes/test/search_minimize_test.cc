// SPDX-License-Identifier: Apache-2.0
// searchMinimize() (aimass/util/search_minimize.h) training small tanh networks' weights with
// optimizer.cmaes and optimizer.genetic, no gradients (like ensmallen's CNE test).

#include "aimass/util/search_minimize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "aimass/util/search_support.h"
#include "cmaes.h"
#include "genetic.h"

namespace aimass::plugins::optimizer {
namespace {

/// A one-hidden-layer tanh network with `inputs`, `hidden` and `outputs` units; weights laid out
/// as W1 (hidden x inputs), b1, W2 (outputs x hidden), b2.
struct Mlp {
  std::size_t inputs, hidden, outputs;

  std::size_t size() const { return hidden * inputs + hidden + outputs * hidden + outputs; }

  std::vector<double> forward(std::span<const float> w, const std::vector<double>& x) const {
    std::vector<double> h(hidden), y(outputs);
    const float* b1 = w.data() + hidden * inputs;
    const float* w2 = b1 + hidden;
    const float* b2 = w2 + outputs * hidden;
    for (std::size_t j = 0; j < hidden; ++j) {
      double s = b1[j];
      for (std::size_t i = 0; i < inputs; ++i) {
        s += w[j * inputs + i] * x[i];
      }
      h[j] = std::tanh(s);
    }
    for (std::size_t k = 0; k < outputs; ++k) {
      double s = b2[k];
      for (std::size_t j = 0; j < hidden; ++j) {
        s += w2[k * hidden + j] * h[j];
      }
      y[k] = s;
    }
    return y;
  }
};

struct Dataset {
  std::vector<std::vector<double>> x;
  std::vector<std::size_t> label;
};

Dataset xorData() { return {{{0, 0}, {0, 1}, {1, 0}, {1, 1}}, {0, 1, 1, 0}}; }

/// Three Gaussian blobs in 4-D (centres at distance 2 from the origin along different
/// directions, spread 0.7 per coordinate), 40 points each: they overlap a little.
Dataset blobs() {
  Dataset d;
  SearchRandom random(11);
  const double centres[3][4] = {{2, 0, 0, 0}, {-1, 1.732, 0, 0}, {-1, -1, 1, 1}};
  for (std::size_t c = 0; c < 3; ++c) {
    for (int k = 0; k < 40; ++k) {
      std::vector<double> x(4);
      for (std::size_t i = 0; i < 4; ++i) {
        x[i] = centres[c][i] + 0.7 * random.normal();
      }
      d.x.push_back(std::move(x));
      d.label.push_back(c);
    }
  }
  return d;
}

/// Mean softmax cross-entropy of `net` on `data` (one output per class; XOR uses two).
double crossEntropy(const Mlp& net, const Dataset& data, std::span<const float> w) {
  double total = 0;
  for (std::size_t n = 0; n < data.x.size(); ++n) {
    const auto y = net.forward(w, data.x[n]);
    double top = y[0];
    for (double v : y) {
      top = std::max(top, v);
    }
    double sum = 0;
    for (double v : y) {
      sum += std::exp(v - top);
    }
    total += std::log(sum) + top - y[data.label[n]];
  }
  return total / static_cast<double>(data.x.size());
}

double accuracy(const Mlp& net, const Dataset& data, std::span<const float> w) {
  std::size_t right = 0;
  for (std::size_t n = 0; n < data.x.size(); ++n) {
    const auto y = net.forward(w, data.x[n]);
    const auto predicted =
        static_cast<std::size_t>(std::max_element(y.begin(), y.end()) - y.begin());
    right += predicted == data.label[n] ? 1 : 0;
  }
  return static_cast<double>(right) / static_cast<double>(data.x.size());
}

/// Small random starting weights.
std::vector<float> startWeights(const Mlp& net, std::uint64_t seed) {
  SearchRandom random(seed);
  std::vector<float> w(net.size());
  for (float& v : w) {
    v = static_cast<float>(0.5 * random.normal());
  }
  return w;
}

Expected<SearchMinimizeResult> train(SearchOptimizer& optimizer, const Mlp& net,
                                     const Dataset& data, std::vector<float>& w,
                                     SearchMinimizeOptions options) {
  return searchMinimize(
      optimizer, [&](std::span<const float> weights) { return crossEntropy(net, data, weights); },
      w, options);
}

SearchMinimizeOptions trainingOptions(std::uint64_t evaluations, std::size_t batch) {
  SearchMinimizeOptions options;
  options.fixed_bounds = true;
  options.low = -6;
  options.high = 6;
  options.evaluations = evaluations;
  options.batch = batch;
  options.seed = 1;
  options.target_loss = 0.02;
  return options;
}

TEST(SearchMinimizeTest, CmaesLearnsXor) {
  const Mlp net{2, 4, 2};
  const Dataset data = xorData();
  std::vector<float> w = startWeights(net, 3);
  Cmaes cmaes(CmaesOptions{});
  auto result = train(cmaes, net, data, w, trainingOptions(4000, 12));
  ASSERT_TRUE(result.ok()) << result.status().toString();
  EXPECT_LT(result->loss, 0.1);
  EXPECT_DOUBLE_EQ(crossEntropy(net, data, w), result->loss) << "the best weights are written back";
  EXPECT_EQ(accuracy(net, data, w), 1.0);
}

TEST(SearchMinimizeTest, GeneticLearnsXor) {
  const Mlp net{2, 4, 2};
  const Dataset data = xorData();
  std::vector<float> w = startWeights(net, 3);
  GeneticOptions options;
  options.population = 40;
  Genetic genetic(options);
  auto result = train(genetic, net, data, w, trainingOptions(8000, 40));
  ASSERT_TRUE(result.ok()) << result.status().toString();
  EXPECT_LT(result->loss, 0.2);
  EXPECT_EQ(accuracy(net, data, w), 1.0);
}

TEST(SearchMinimizeTest, CmaesAndGeneticClassifyThreeBlobsWithA483Network) {
  const Mlp net{4, 8, 3};
  const Dataset data = blobs();
  for (int which = 0; which < 2; ++which) {
    std::vector<float> w = startWeights(net, 5);
    const double before = accuracy(net, data, w);
    Cmaes cmaes(CmaesOptions{});
    GeneticOptions genetic_options;
    genetic_options.population = 40;
    Genetic genetic(genetic_options);
    SearchOptimizer& optimizer = which == 0 ? static_cast<SearchOptimizer&>(cmaes) : genetic;
    auto result = train(optimizer, net, data, w, trainingOptions(6000, which == 0 ? 12 : 40));
    ASSERT_TRUE(result.ok()) << result.status().toString();
    const double after = accuracy(net, data, w);
    std::printf("%s: blobs accuracy %.3f -> %.3f, loss %.4f after %llu evaluations\n",
                which == 0 ? "cmaes" : "genetic", before, after, result->loss,
                static_cast<unsigned long long>(result->evaluations));
    EXPECT_GE(after, 0.95) << (which == 0 ? "cmaes" : "genetic");
  }
}

TEST(SearchMinimizeTest, StopsAtTheTargetAndRefusesBadOptions) {
  Cmaes cmaes(CmaesOptions{});
  std::vector<float> w = {3, -2};
  auto sphere = [](std::span<const float> x) { return double(x[0]) * x[0] + double(x[1]) * x[1]; };
  SearchMinimizeOptions options;
  options.radius = 4;
  options.evaluations = 5000;
  options.batch = 6;
  options.target_loss = 1e-4;
  auto result = searchMinimize(cmaes, sphere, w, options);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->reached_target);
  EXPECT_LT(result->evaluations, 5000u);
  EXPECT_LE(sphere(w), 1e-4);
  options.batch = 0;
  EXPECT_EQ(searchMinimize(cmaes, sphere, w, options).status().code(),
            StatusCode::kInvalidArgument);
  options.batch = 1;
  options.fixed_bounds = true;
  options.low = 1;
  options.high = 1;
  EXPECT_EQ(searchMinimize(cmaes, sphere, w, options).status().code(),
            StatusCode::kInvalidArgument);
  // A loss that is never finite: told as failures, the start stays.
  std::vector<float> start = {1, 2};
  options.fixed_bounds = false;
  options.evaluations = 20;
  auto nan_loss = [](std::span<const float>) { return std::nan(""); };
  result = searchMinimize(cmaes, nan_loss, start, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(start, (std::vector<float>{1, 2}));
  EXPECT_TRUE(std::isinf(result->loss));
}

}  // namespace
}  // namespace aimass::plugins::optimizer
