// SPDX-License-Identifier: Apache-2.0
#include "tpe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/optimizer_conformance.h"
#include "aimass/testing/search_functions.h"
#include "aimass/testing/search_testing.h"
#include "parzen.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::optimizer {
namespace {

using aimass::testing::floatDimension;
using ::testing::HasSubstr;

constexpr auto withSeed = aimass::testing::seededOptions<TpeOptions>;

TEST(TpeTest, PassesTheSearchOptimizerConformanceSuite) {
  for (std::uint64_t seed : aimass::testing::kConformanceSeeds) {
    for (bool multivariate : {true, false}) {
      TpeOptions o = withSeed(seed);
      o.parzen.multivariate = multivariate;
      TpeSearch search(o);
      EXPECT_EQ(aimass::testing::searchConformanceFailures(search), "")
          << "seed " << seed << " multivariate " << multivariate;
    }
  }
}

TEST(TpeTest, MeetsTheW7QualityTargets) {
  TpeSearch search(withSeed(0));
  EXPECT_LE(aimass::testing::medianBest(search, aimass::testing::branin(), 50, 5), 0.50);
  EXPECT_LE(aimass::testing::medianBest(search, aimass::testing::hartmann6(), 50, 5), -2.90);
  EXPECT_LE(aimass::testing::medianBest(search, aimass::testing::categoricalBowl(), 50, 5), 0.3);
}

TEST(TpeTest, ConcentratesNearTheMinimumAfterStartup) {
  // A 1-D bowl in log space: after the random phase, proposals crowd around the minimum.
  TpeSearch search(withSeed(3));
  const SearchSpace space = {floatDimension("lr", 1e-5, 1, true)};
  ASSERT_TRUE(search.begin(space, 1, 1).ok());
  int near = 0;
  for (int i = 0; i < 60; ++i) {
    auto c = search.ask(1).value();
    const double d = std::log10(c[0].values[0]) + 3;
    if (i >= 30 && std::abs(d) < 0.5) {
      ++near;
    }
    ASSERT_TRUE(search.tell(std::vector<Evaluation>{{c[0].id, d * d, false, {}}}).ok());
  }
  EXPECT_GE(near, 20) << "of the last 30 proposals, within half a decade of 1e-3";
}

TEST(TpeTest, ConditionalDimensionsAreNaNExactlyWhenInactiveAndLearned) {
  SearchSpace space;
  SearchDimension kind;
  kind.name = "kind";
  kind.type = SearchDimension::Type::kCategorical;
  kind.choices = {"a", "b"};
  space.push_back(kind);
  SearchDimension x = floatDimension("x", 0, 1);
  x.parent = 0;
  x.parent_choices = {0};
  SearchDimension y = floatDimension("y", 0, 1);
  y.parent = 0;
  y.parent_choices = {1};
  space.push_back(x);
  space.push_back(y);
  for (bool multivariate : {true, false}) {
    TpeOptions o = withSeed(1);
    o.parzen.multivariate = multivariate;
    TpeSearch search(o);
    ASSERT_TRUE(search.begin(space, 2, 1).ok());
    int b_late = 0;
    for (int i = 0; i < 60; ++i) {
      auto c = search.ask(1).value()[0];
      const bool is_a = c.values[0] == 0;
      ASSERT_EQ(std::isnan(c.values[1]), !is_a);
      ASSERT_EQ(std::isnan(c.values[2]), is_a);
      // b with y near 0.7 is best.
      const double value = is_a ? 1 + c.values[1] : std::abs(c.values[2] - 0.7);
      b_late += i >= 40 && !is_a ? 1 : 0;
      ASSERT_TRUE(search.tell(std::vector<Evaluation>{{c.id, value, false, {}}}).ok());
    }
    EXPECT_GE(b_late, 15) << "multivariate " << multivariate;
  }
}

TEST(TpeTest, FailedResultsSteerTheSearchAway) {
  // Results told as failed carry a (meaningless) value of 0: if they counted as good, the
  // search would crowd around them; as bad, it avoids them. Every x < 0.5 fails here and the
  // minimum is at 0.9.
  TpeSearch search(withSeed(4));
  ASSERT_TRUE(search.begin({floatDimension("x", 0, 1)}, 1, 1).ok());
  int high = 0;
  for (int i = 0; i < 50; ++i) {
    auto c = search.ask(1).value()[0];
    const double x = c.values[0];
    high += i >= 30 && x > 0.7 ? 1 : 0;
    ASSERT_TRUE(
        search.tell(std::vector<Evaluation>{{c.id, x < 0.5 ? 0.0 : std::abs(x - 0.9), x < 0.5, {}}})
            .ok());
  }
  EXPECT_GE(high, 15);
}

TEST(TpeTest, ConstantLiarSpreadsABatch) {
  auto spread = [](bool liar) {
    TpeOptions o = withSeed(5);
    o.constant_liar = liar;
    TpeSearch search(o);
    EXPECT_TRUE(search.begin({floatDimension("x", 0, 1)}, 1, 1).ok());
    for (int i = 0; i < 20; ++i) {
      auto c = search.ask(1).value()[0];
      EXPECT_TRUE(
          search.tell(std::vector<Evaluation>{{c.id, std::abs(c.values[0] - 0.3), false, {}}})
              .ok());
    }
    auto batch = search.ask(8).value();
    double low = 1, high = 0;
    for (const auto& c : batch) {
      low = std::min(low, c.values[0]);
      high = std::max(high, c.values[0]);
    }
    return high - low;
  };
  EXPECT_GT(spread(true), spread(false));
}

TEST(TpeTest, StateRoundTripMidSearchWithConditionalSpace) {
  const SearchSpace space = aimass::testing::optimizer_conformance_detail::conditionalSpace();
  TpeSearch a(withSeed(9)), b(withSeed(9));
  ASSERT_TRUE(a.begin(space, 4, 1).ok());
  for (int i = 0; i < 15; ++i) {
    auto c = a.ask(1).value()[0];
    ASSERT_TRUE(a.tell(std::vector<Evaluation>{
                           {c.id, std::isnan(c.values[4]) ? 1.0 : c.values[4], i == 3, {}}})
                    .ok());
  }
  a.ask(1).value();  // left outstanding
  std::string state;
  ASSERT_TRUE(a.saveState(state).ok());
  ASSERT_TRUE(b.begin(space, 4, 1).ok());
  ASSERT_TRUE(b.loadState(state).ok());
  EXPECT_EQ(aimass::testing::candidateDifference(a.ask(3).value(), b.ask(3).value()), "");
  // A state with a category out of range is corrupt, and changes nothing.
  std::string corrupt = state;
  const std::size_t at = corrupt.size() - 8 * 3;  // somewhere in the last record's values
  for (std::size_t k = 0; k < 8; ++k) {
    corrupt[at + k] = static_cast<char>(0x7f);
  }
  Status s = b.loadState(corrupt);
  EXPECT_FALSE(s.ok());
}

TEST(TpeTest, ParzenEstimatorIsANormalisedDensity) {
  // Integrate exp(logDensity) over a 1-D float dimension: 1, with and without observations.
  const SearchSpace space = {floatDimension("x", 0, 1)};
  const std::size_t dims[1] = {0};
  const std::vector<double> a = {0.1}, b = {0.95};
  const ParzenObservation obs[2] = {{&a, 1.0}, {&b, 2.0}};
  ParzenEstimator e;
  e.fit(space, dims, obs, ParzenOptions{});
  double integral = 0;
  const int steps = 20000;
  for (int i = 0; i < steps; ++i) {
    const double x[1] = {(i + 0.5) / steps};
    integral += std::exp(e.logDensity(space, x)) / steps;
  }
  EXPECT_NEAR(integral, 1.0, 1e-3);
}

TEST(TpeTest, ParzenEstimatorOverACategoryAndAConditionalFloatIsNormalised) {
  // Sum over the choices of the integral over the float (active for choice 1 only): 1.
  SearchSpace space(2);
  space[0].name = "c";
  space[0].type = SearchDimension::Type::kCategorical;
  space[0].choices = {"a", "b", "c"};
  space[1].name = "x";
  space[1].parent = 0;
  space[1].parent_choices = {1};
  const std::size_t dims[2] = {0, 1};
  const std::vector<double> a = {0, NAN}, b = {1, 0.3};
  const ParzenObservation obs[2] = {{&a, 1.0}, {&b, 1.0}};
  ParzenEstimator e;
  e.fit(space, dims, obs, ParzenOptions{});
  double total = 0;
  for (double choice : {0.0, 2.0}) {
    const double x[2] = {choice, NAN};
    ASSERT_TRUE(std::isfinite(e.logDensity(space, x)));
    total += std::exp(e.logDensity(space, x));
  }
  const int steps = 20000;
  for (int i = 0; i < steps; ++i) {
    const double x[2] = {1, (i + 0.5) / steps};
    total += std::exp(e.logDensity(space, x)) / steps;
  }
  EXPECT_NEAR(total, 1.0, 1e-3);
}

TEST(TpeTest, BeginRefusesBadSpacesAndSeveralObjectives) {
  TpeSearch search(withSeed(0));
  EXPECT_EQ(search.ask(1).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(search.begin({floatDimension("lr", -1, 1, true)}, 1, 1).message(),
              HasSubstr("'lr') is log-scaled"));
  EXPECT_EQ(search.begin({floatDimension("x", 0, 1)}, 1, 2).code(), StatusCode::kInvalidArgument);
}

TEST(TpeTest, RegistersOptimizerTpe) {
  auto registered =
      aimass::testing::onlyRegisteredType(*aimass_plugin_descriptor_fn(), "optimizer.tpe");
  ASSERT_TRUE(registered.ok()) << registered.status().toString();
  const NodeType& type = *registered;
  NodeConfig config("tuner", type.type, nullptr);
  for (const auto& p : type.params) {
    config.setValue(p.name, p.default_value);
  }
  config.setValue("gamma", std::string("sqrt"));
  auto node = aimass::testing::makeSearchNode(type, config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& optimizer = static_cast<SearchOptimizer&>(static_cast<Optimizer&>(**node));
  EXPECT_TRUE(optimizer.begin({floatDimension("x", 0, 1)}, 1, 1).ok());
}

}  // namespace
}  // namespace aimass::plugins::optimizer
