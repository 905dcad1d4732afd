// SPDX-License-Identifier: Apache-2.0
// parameterImportances() on hand-built studies: the one dimension that matters gets (nearly)
// all the share, numeric and choice dimensions alike; inactive conditional values form a group;
// too few complete trials, a constant objective, as many groups as trials; which trials count.
#include "tune/importance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

namespace aimass::core {
namespace {

using Kind = TuneDimension::Kind;
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

TuneDimension range(const char* key, Kind kind, double low, double high) {
  TuneDimension d;
  d.key = key;
  d.kind = kind;
  d.low = low;
  d.high = high;
  return d;
}

TuneDimension choice(const char* key, std::size_t n) {
  TuneDimension d;
  d.key = key;
  d.kind = Kind::kChoice;
  for (std::size_t i = 0; i < n; ++i) {
    d.choices.push_back(std::to_string(i));
  }
  return d;
}

Trial trial(std::vector<double> values, double value,
            Trial::State state = Trial::State::kComplete) {
  Trial t;
  t.values = std::move(values);
  t.state = state;
  t.value = value;
  return t;
}

/// A fixed pseudo-random sequence in [0, 1) (a 64-bit LCG), so the tests need no RNG library.
class Sequence {
 public:
  double next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state_ >> 11) / 9007199254740992.0;
  }

 private:
  std::uint64_t state_ = 12345;
};

double sum(const std::vector<double>& shares) {
  return std::accumulate(shares.begin(), shares.end(), 0.0);
}

TEST(ParameterImportances, TheNumericDimensionThatMattersGetsNearlyAll) {
  // lr decides the objective, width and momentum are noise; 40 trials.
  std::vector<TuneDimension> dims = {range("lr", Kind::kLogUniform, 1e-4, 1e-1), choice("width", 3),
                                     range("momentum", Kind::kUniform, 0, 1)};
  Sequence random;
  std::vector<Trial> trials;
  for (int i = 0; i < 40; ++i) {
    const double exponent = -4 + 3 * random.next();
    const double width = std::floor(3 * random.next());
    const double momentum = random.next();
    trials.push_back(trial({std::pow(10, exponent), width, momentum},
                           (exponent + 2.5) * (exponent + 2.5) + 0.01 * random.next()));
  }
  auto shares = parameterImportances(dims, trials);
  ASSERT_EQ(shares.size(), 3u);
  EXPECT_NEAR(sum(shares), 1.0, 1e-12);
  EXPECT_GT(shares[0], 0.9);
  EXPECT_GT(shares[0], shares[1]);
  EXPECT_GT(shares[0], shares[2]);
}

TEST(ParameterImportances, TheChoiceThatMattersGetsTheLargestShare) {
  std::vector<TuneDimension> dims = {range("lr", Kind::kUniform, 0, 1), choice("act", 4)};
  Sequence random;
  std::vector<Trial> trials;
  const double effect[4] = {0.1, 0.5, 0.2, 0.9};
  for (int i = 0; i < 24; ++i) {
    const double act = static_cast<double>(i % 4);
    trials.push_back(trial({random.next(), act}, effect[i % 4] + 0.02 * random.next()));
  }
  auto shares = parameterImportances(dims, trials);
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_GT(shares[1], 0.9);
  EXPECT_NEAR(sum(shares), 1.0, 1e-12);
}

TEST(ParameterImportances, InactiveValuesFormTheirOwnGroup) {
  // dropout is active with half the trials; its being inactive (not its value) matters.
  std::vector<TuneDimension> dims = {choice("unused", 2), range("dropout", Kind::kUniform, 0, 1)};
  dims[1].parent = 0;
  dims[1].parent_choices = {1};
  std::vector<Trial> trials;
  Sequence random;
  for (int i = 0; i < 16; ++i) {
    const bool active = i % 2 == 1;
    trials.push_back(
        trial({static_cast<double>(i % 4 / 2), active ? random.next() : kNan}, active ? 1.0 : 0.0));
  }
  auto shares = parameterImportances(dims, trials);
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_GT(shares[1], 0.9);
}

TEST(ParameterImportances, NeedsFourCompleteTrials) {
  std::vector<TuneDimension> dims = {range("x", Kind::kUniform, 0, 1)};
  std::vector<Trial> trials = {trial({0.1}, 1), trial({0.2}, 2), trial({0.3}, 3)};
  // Pruned, failed and running trials do not count, nor a complete one without a value.
  trials.push_back(trial({0.4}, 4, Trial::State::kPruned));
  trials.push_back(trial({0.5}, 5, Trial::State::kFailed));
  trials.push_back(trial({0.6}, 6, Trial::State::kRunning));
  trials.push_back(trial({0.7}, 7));
  trials.back().value.reset();
  EXPECT_TRUE(parameterImportances(dims, trials).empty());
  trials.push_back(trial({0.8}, 8));
  EXPECT_EQ(parameterImportances(dims, trials).size(), 1u);
}

TEST(ParameterImportances, AConstantObjectiveGivesNoShares) {
  std::vector<TuneDimension> dims = {range("x", Kind::kUniform, 0, 1), choice("c", 2)};
  std::vector<Trial> trials;
  for (int i = 0; i < 8; ++i) {
    trials.push_back(trial({0.1 * i, static_cast<double>(i % 2)}, 0.5));
  }
  EXPECT_EQ(parameterImportances(dims, trials), (std::vector<double>{0, 0}));
}

TEST(ParameterImportances, GroupsAsLargeAsTheTrialsTellNothing) {
  // 4 trials, each its own choice: N <= k, so no share; the numeric one has 4 bins too.
  std::vector<TuneDimension> dims = {choice("c", 4), range("x", Kind::kUniform, 0, 1)};
  std::vector<Trial> trials;
  for (int i = 0; i < 4; ++i) {
    trials.push_back(trial({static_cast<double>(i), 0.25 * i}, i));
  }
  EXPECT_EQ(parameterImportances(dims, trials), (std::vector<double>{0, 0}));
}

TEST(ParameterImportances, NoiseDimensionsGetLittleBesideOneThatMatters) {
  // y decides the objective up to a tenth of noise; x and c are noise.
  std::vector<TuneDimension> dims = {range("x", Kind::kUniform, 0, 1), choice("c", 2),
                                     range("y", Kind::kUniform, 0, 1)};
  Sequence random;
  std::vector<Trial> trials;
  for (int i = 0; i < 200; ++i) {
    const double x = random.next(), c = std::floor(2 * random.next()), y = random.next();
    trials.push_back(trial({x, c, y}, y + 0.1 * random.next()));
  }
  auto shares = parameterImportances(dims, trials);
  EXPECT_GT(shares[2], 0.95);
  EXPECT_LT(shares[0] + shares[1], 0.05);
}

TEST(ParameterImportances, EqualValuesShareABin) {
  // Three quarters of the trials at x = 0 (objective 0), the rest at x = 1 (objective 1):
  // ties must not be split over bins, and x explains everything.
  std::vector<TuneDimension> dims = {range("x", Kind::kInt, 0, 1), choice("c", 2)};
  std::vector<Trial> trials;
  for (int i = 0; i < 12; ++i) {
    const double x = i < 9 ? 0 : 1;
    trials.push_back(trial({x, static_cast<double>(i % 2)}, x));
  }
  auto shares = parameterImportances(dims, trials);
  EXPECT_DOUBLE_EQ(shares[0], 1.0);
  EXPECT_DOUBLE_EQ(shares[1], 0.0);
}

}  // namespace
}  // namespace aimass::core
