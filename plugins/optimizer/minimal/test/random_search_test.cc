// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/optimizer_conformance.h"
#include "aimass/testing/search_functions.h"
#include "aimass/testing/search_testing.h"
#include "minimal.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::optimizer {
namespace {

using aimass::testing::numericDimension;
using ::testing::HasSubstr;

TEST(RandomSearchTest, PassesTheSearchOptimizerConformanceSuite) {
  for (std::uint64_t seed : aimass::testing::kConformanceSeeds) {
    RandomSearch search(seed);
    EXPECT_EQ(aimass::testing::searchConformanceFailures(search), "") << "seed " << seed;
  }
}

TEST(RandomSearchTest, IntsAreUniformOverEveryIntegerIncludingTheEnds) {
  RandomSearch search(3);
  ASSERT_TRUE(search.begin({numericDimension("k", SearchDimension::Type::kInt, 1, 4)}, 9, 1).ok());
  auto candidates = search.ask(8000);
  ASSERT_TRUE(candidates.ok());
  std::map<double, int> counts;
  for (const auto& c : *candidates) {
    counts[c.values[0]]++;
  }
  ASSERT_EQ(counts.size(), 4u);
  for (const auto& [value, count] : counts) {
    EXPECT_NEAR(count, 2000, 200) << "value " << value;
  }
}

TEST(RandomSearchTest, LogScaleSpreadsEvenlyOverDecades) {
  RandomSearch search(3);
  ASSERT_TRUE(
      search.begin({numericDimension("lr", SearchDimension::Type::kFloat, 1e-4, 1, true)}, 5, 1)
          .ok());
  auto candidates = search.ask(8000);
  ASSERT_TRUE(candidates.ok());
  int decades[4] = {0, 0, 0, 0};
  for (const auto& c : *candidates) {
    ASSERT_GE(c.values[0], 1e-4);
    ASSERT_LE(c.values[0], 1.0);
    decades[std::min(3, static_cast<int>(std::floor(std::log10(c.values[0]) + 4)))]++;
  }
  for (int count : decades) {
    EXPECT_NEAR(count, 2000, 200);
  }
}

TEST(RandomSearchTest, CategoricalIndicesCoverEveryChoice) {
  SearchDimension d;
  d.name = "act";
  d.type = SearchDimension::Type::kCategorical;
  d.choices = {"relu", "tanh", "gelu"};
  RandomSearch search(0);
  ASSERT_TRUE(search.begin({d}, 1, 1).ok());
  std::set<double> seen;
  auto candidates = search.ask(300);
  ASSERT_TRUE(candidates.ok());
  for (const auto& c : *candidates) {
    seen.insert(c.values[0]);
  }
  EXPECT_EQ(seen, (std::set<double>{0, 1, 2}));
}

TEST(RandomSearchTest, IdsIncreaseAcrossSearchesAndOldIdsAreUnknown) {
  RandomSearch search(0);
  const SearchSpace space = {numericDimension("x", SearchDimension::Type::kFloat, 0, 1)};
  ASSERT_TRUE(search.begin(space, 1, 1).ok());
  auto first = search.ask(3).value();
  EXPECT_EQ(first[0].id + 1, first[1].id);
  ASSERT_TRUE(search.begin(space, 1, 1).ok());
  auto second = search.ask(1).value();
  EXPECT_GT(second[0].id, first[2].id);
  Status stale = search.tell(std::vector<Evaluation>{{first[0].id, 1.0, false, {}}});
  EXPECT_EQ(stale.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(stale.message(), HasSubstr("unknown candidate id"));
}

TEST(RandomSearchTest, TellRefusesDuplicatesAndRecordsNothingThen) {
  RandomSearch search(0);
  ASSERT_TRUE(
      search.begin({numericDimension("x", SearchDimension::Type::kFloat, -1, 1)}, 1, 1).ok());
  auto c = search.ask(3).value();
  ASSERT_TRUE(search.tell(std::vector<Evaluation>{{c[0].id, 0.5, false, {}}}).ok());
  Status again =
      search.tell(std::vector<Evaluation>{{c[1].id, 0.1, false, {}}, {c[0].id, 0.2, false, {}}});
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(again.message(), HasSubstr("already reported"));
  EXPECT_EQ(search.history().size(), 1u) << "nothing of a refused call is recorded";
  Status twice =
      search.tell(std::vector<Evaluation>{{c[1].id, 0.1, false, {}}, {c[1].id, 0.1, false, {}}});
  EXPECT_EQ(twice.code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(
      search.tell(std::vector<Evaluation>{{c[1].id, -3, true, {}}, {c[2].id, 0.25, false, {}}})
          .ok());
  ASSERT_TRUE(search.best().has_value());
  EXPECT_EQ(search.best()->candidate.id, c[2].id) << "failed results never win";
  EXPECT_EQ(search.best()->candidate.values, c[2].values);
  EXPECT_EQ(search.best()->value, 0.25);
}

TEST(RandomSearchTest, EveryTruncatedStateIsDataLossAndChangesNothing) {
  RandomSearch search(4);
  ASSERT_TRUE(
      search.begin({numericDimension("x", SearchDimension::Type::kFloat, -1, 1)}, 2, 1).ok());
  auto c = search.ask(3).value();
  ASSERT_TRUE(search.tell(std::vector<Evaluation>{{c[1].id, 0.5, false, {}}}).ok());
  // Cuts inside the header's fingerprint too: kDataLoss, not a state of another search.
  EXPECT_EQ(aimass::testing::truncatedStateProblems(search, 1), "");
}

TEST(RandomSearchTest, SeedParameterAndBeginSeedBothChangeTheSequence) {
  const SearchSpace space = {numericDimension("x", SearchDimension::Type::kFloat, 0, 1)};
  auto firstValue = [&](std::uint64_t param_seed, std::uint64_t begin_seed) {
    RandomSearch search(param_seed);
    EXPECT_TRUE(search.begin(space, begin_seed, 1).ok());
    return search.ask(1).value()[0].values[0];
  };
  EXPECT_EQ(firstValue(1, 2), firstValue(1, 2));
  EXPECT_NE(firstValue(1, 2), firstValue(2, 2));
  EXPECT_NE(firstValue(1, 2), firstValue(1, 3));
}

TEST(RandomSearchTest, BeginNamesTheBadDimension) {
  RandomSearch search(0);
  EXPECT_EQ(search.ask(1).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(search.begin({}, 1, 1).message(), HasSubstr("no dimensions"));
  EXPECT_THAT(
      search.begin({numericDimension("k", SearchDimension::Type::kInt, 1.2, 1.8)}, 1, 1).message(),
      HasSubstr("'k') is an int range without integers"));
  EXPECT_THAT(
      search.begin({numericDimension("lr", SearchDimension::Type::kFloat, -1, 1, true)}, 1, 1)
          .message(),
      HasSubstr("'lr') is log-scaled, so low must be > 0"));
  EXPECT_THAT(
      search.begin({numericDimension("x", SearchDimension::Type::kFloat, NAN, 1)}, 1, 1).message(),
      HasSubstr("needs finite bounds"));
}

TEST(SearchFunctionsTest, TakeTheirKnownMinimaWhereTheLiteratureSaysAndNeverLess) {
  const auto branin = aimass::testing::branin();
  EXPECT_NEAR(branin.evaluate({M_PI, 2.275}), 0.397887, 1e-6);
  EXPECT_NEAR(branin.evaluate({-M_PI, 12.275}), 0.397887, 1e-6);
  const auto hartmann = aimass::testing::hartmann6();
  EXPECT_NEAR(hartmann.evaluate({0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573}),
              -3.32237, 1e-5);
  const auto bowl = aimass::testing::categoricalBowl();
  EXPECT_NEAR(bowl.evaluate({3, 4, std::pow(10.0, -2.5)}), 0, 1e-12);
  // Random search over many points never goes below a minimum.
  for (const auto* f : {&branin, &hartmann, &bowl}) {
    RandomSearch search(1);
    const double best = aimass::testing::searchBest(search, *f, 2000, 0, 50);
    EXPECT_GE(best, f->minimum - 1e-6) << f->name;
    EXPECT_LT(best, f->minimum + 0.5) << f->name << ": 2000 random points come near the minimum";
  }
}

TEST(RandomSearchTest, RegistersOptimizerRandomSearch) {
  auto registered = aimass::testing::onlyRegisteredType(*aimass_plugin_descriptor_fn(),
                                                        "optimizer.random_search");
  ASSERT_TRUE(registered.ok()) << registered.status().toString();
  const NodeType& type = *registered;
  NodeConfig config("tuner", type.type, nullptr);
  config.setValue("seed", std::int64_t{5});
  auto node = aimass::testing::makeSearchNode(type, config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
}

}  // namespace
}  // namespace aimass::plugins::optimizer
