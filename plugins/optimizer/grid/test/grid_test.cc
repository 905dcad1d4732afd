// SPDX-License-Identifier: Apache-2.0
#include "grid.h"

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

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::optimizer {
namespace {

using aimass::testing::numericDimension;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

GridOptions options(std::size_t points, bool shuffle, std::uint64_t seed = 0) {
  GridOptions o;
  o.points = points;
  o.shuffle = shuffle;
  o.seed = seed;
  return o;
}

// Every candidate of a search until ask() runs dry, as value vectors (NaN kept).
std::vector<std::vector<double>> drain(GridSearch& search, std::size_t batch = 7) {
  std::vector<std::vector<double>> out;
  for (;;) {
    auto asked = search.ask(batch);
    EXPECT_TRUE(asked.ok());
    if (!asked.ok() || asked->empty()) {
      return out;
    }
    for (const auto& c : *asked) {
      out.push_back(c.values);
    }
  }
}

std::string key(const std::vector<double>& v) {
  std::string s;
  for (double x : v) {
    s += std::isnan(x) ? "nan," : std::to_string(x) + ",";
  }
  return s;
}

TEST(GridTest, PassesTheSearchOptimizerConformanceSuite) {
  for (bool shuffle : {false, true}) {
    for (std::uint64_t seed : {0u, 3u}) {
      GridSearch search(options(5, shuffle, seed));
      EXPECT_EQ(aimass::testing::searchConformanceFailures(search), "")
          << "shuffle " << shuffle << " seed " << seed;
    }
  }
}

TEST(GridTest, ValuesPerDimensionIncludeTheBounds) {
  EXPECT_THAT(gridValues(numericDimension("x", SearchDimension::Type::kFloat, -1, 1), 5),
              ElementsAre(-1, -0.5, 0, 0.5, 1));
  auto logs = gridValues(numericDimension("lr", SearchDimension::Type::kFloat, 1e-4, 1, true), 5);
  ASSERT_EQ(logs.size(), 5u);
  EXPECT_NEAR(logs[1], 1e-3, 1e-15);
  EXPECT_NEAR(logs[4], 1, 1e-15);
  EXPECT_THAT(gridValues(numericDimension("k", SearchDimension::Type::kInt, 1, 4), 5),
              ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(gridValues(numericDimension("k", SearchDimension::Type::kInt, 1, 5), 5),
              ElementsAre(1, 2, 3, 4, 5));
  auto spread = gridValues(numericDimension("k", SearchDimension::Type::kInt, 1, 10), 5);
  EXPECT_EQ(spread.size(), 5u);
  EXPECT_EQ(spread.front(), 1);
  EXPECT_EQ(spread.back(), 10);
  EXPECT_THAT(gridValues(numericDimension("x", SearchDimension::Type::kFloat, 2, 2), 5),
              ElementsAre(2));
  EXPECT_THAT(gridValues(numericDimension("x", SearchDimension::Type::kFloat, 0, 1), 1),
              ElementsAre(0.5));
}

TEST(GridTest, VisitsEveryPointOnceThenRunsDry) {
  const SearchSpace space = aimass::testing::optimizer_conformance_detail::mixedSpace();
  for (bool shuffle : {false, true}) {
    GridSearch search(options(5, shuffle, 1));
    ASSERT_TRUE(search.begin(space, 2, 1).ok());
    EXPECT_EQ(search.size(), 5u * 5 * 5 * 3);
    auto all = drain(search);
    ASSERT_EQ(all.size(), 375u);
    std::set<std::string> distinct;
    for (const auto& v : all) {
      distinct.insert(key(v));
    }
    EXPECT_EQ(distinct.size(), 375u);
    auto after = search.ask(3);
    ASSERT_TRUE(after.ok());
    EXPECT_TRUE(after->empty());
  }
}

TEST(GridTest, ShuffleIsASeededPermutation) {
  const SearchSpace space = {numericDimension("x", SearchDimension::Type::kFloat, 0, 1),
                             numericDimension("y", SearchDimension::Type::kFloat, 0, 1)};
  auto order = [&](bool shuffle, std::uint64_t node_seed, std::uint64_t begin_seed) {
    GridSearch search(options(9, shuffle, node_seed));
    EXPECT_TRUE(search.begin(space, begin_seed, 1).ok());
    return drain(search);
  };
  const auto plain = order(false, 0, 0);
  EXPECT_EQ(plain[1], (std::vector<double>{0, 0.125})) << "the last dimension varies fastest";
  EXPECT_EQ(order(true, 1, 2), order(true, 1, 2));
  EXPECT_NE(order(true, 1, 2), order(true, 1, 3));
  EXPECT_NE(order(true, 1, 2), plain);
  auto shuffled = order(true, 1, 2);
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, plain) << "the same 81 points";
}

TEST(GridTest, ConditionalDimensionsMultiplyOnlyWhereActive) {
  // kind a: x (3 values); kind b: y (3 values) x z (2 ints); kind c: nothing. 3 + 6 + 1 points.
  SearchSpace space;
  SearchDimension kind;
  kind.name = "kind";
  kind.type = SearchDimension::Type::kCategorical;
  kind.choices = {"a", "b", "c"};
  space.push_back(kind);
  SearchDimension x = numericDimension("x", SearchDimension::Type::kFloat, 0, 1);
  x.parent = 0;
  x.parent_choices = {0};
  SearchDimension y = numericDimension("y", SearchDimension::Type::kFloat, 0, 1);
  y.parent = 0;
  y.parent_choices = {1};
  SearchDimension z = numericDimension("z", SearchDimension::Type::kInt, 1, 2);
  z.parent = 0;
  z.parent_choices = {1};
  space.insert(space.end(), {x, y, z});
  for (bool shuffle : {false, true}) {
    GridSearch search(options(3, shuffle, 4));
    ASSERT_TRUE(search.begin(space, 1, 1).ok());
    EXPECT_EQ(search.size(), 10u);
    auto all = drain(search, 4);
    ASSERT_EQ(all.size(), 10u);
    std::set<std::string> distinct;
    for (const auto& v : all) {
      Candidate c{0, v};
      EXPECT_EQ(aimass::testing::optimizer_conformance_detail::searchSpaceProblem(space, c), "");
      distinct.insert(key(v));
    }
    EXPECT_EQ(distinct.size(), 10u);
  }
}

TEST(GridTest, RefusesGridsOverTwoToTheFortyNamingTheSize) {
  SearchSpace space;
  for (int i = 0; i < 18; ++i) {
    space.push_back(numericDimension("x" + std::to_string(i), SearchDimension::Type::kFloat, 0, 1));
  }
  GridSearch search(options(5, false));
  Status s = search.begin(space, 1, 1);  // 5^18 ~ 3.8e12 > 2^40 ~ 1.1e12
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than 2^40 points (about 3814697265625"));
  space.resize(17);  // 5^17 ~ 7.6e11 fits
  EXPECT_TRUE(search.begin(space, 1, 1).ok());
  EXPECT_EQ(search.size(), 762939453125u);
  GridSearch shuffled(options(5, true));
  ASSERT_TRUE(shuffled.begin(space, 1, 1).ok());
  auto first = shuffled.ask(3);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 3u);
}

TEST(GridTest, StateRoundTripMidSearch) {
  const SearchSpace space = aimass::testing::optimizer_conformance_detail::conditionalSpace();
  GridSearch a(options(4, true, 8)), b(options(4, true, 8));
  ASSERT_TRUE(a.begin(space, 5, 1).ok());
  auto first = a.ask(10).value();
  ASSERT_TRUE(a.tell(std::vector<Evaluation>{{first[2].id, 1.0, false, {}}}).ok());
  std::string state;
  ASSERT_TRUE(a.saveState(state).ok());
  ASSERT_TRUE(b.begin(space, 5, 1).ok());
  ASSERT_TRUE(b.loadState(state).ok());
  EXPECT_EQ(aimass::testing::candidateDifference(a.ask(4).value(), b.ask(4).value()), "");
  EXPECT_EQ(b.loadState(state.substr(0, state.size() - 1)).code(), StatusCode::kDataLoss);
}

TEST(GridTest, W7Medians) {
  // Guards the mapping, not a target. 64 points: searchBest() needs 50 (it would wait forever
  // on an exhausted grid).
  GridSearch search(options(8, true));
  const double branin = aimass::testing::medianBest(search, aimass::testing::branin(), 50, 5);
  EXPECT_LT(branin, 10.0);
  EXPECT_GE(branin, aimass::testing::branin().minimum);
}

TEST(GridTest, RegistersOptimizerGrid) {
  auto registered =
      aimass::testing::onlyRegisteredType(*aimass_plugin_descriptor_fn(), "optimizer.grid");
  ASSERT_TRUE(registered.ok()) << registered.status().toString();
  const NodeType& type = *registered;
  NodeConfig config("tuner", type.type, nullptr);
  config.setValue("points", std::int64_t{3});
  config.setValue("shuffle", true);
  config.setValue("seed", std::int64_t{5});
  auto node = aimass::testing::makeSearchNode(type, config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
}

}  // namespace
}  // namespace aimass::plugins::optimizer
