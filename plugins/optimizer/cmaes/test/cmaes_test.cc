// SPDX-License-Identifier: Apache-2.0
#include "cmaes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/optimizer_conformance.h"
#include "aimass/testing/search_functions.h"
#include "aimass/testing/search_testing.h"
#include "cma_distribution.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::optimizer {
namespace {

using aimass::testing::floatDimension;
using ::testing::HasSubstr;

constexpr auto seeded = aimass::testing::seededOptions<CmaesOptions>;

TEST(CmaesTest, PassesTheSearchOptimizerConformanceSuite) {
  for (std::uint64_t seed : aimass::testing::kConformanceSeeds) {
    Cmaes search(seeded(seed));
    EXPECT_EQ(aimass::testing::searchConformanceFailures(search), "") << "seed " << seed;
  }
}

TEST(CmaesTest, JacobiEigenDecomposesASymmetricMatrix) {
  const std::vector<double> a = {4, 1, 2, 1, 3, 0.5, 2, 0.5, 5};
  std::vector<double> values, vectors;
  jacobiEigen(a, 3, values, vectors);
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = 0; j < 3; ++j) {
      double rebuilt = 0, dot = 0;
      for (std::size_t k = 0; k < 3; ++k) {
        rebuilt += vectors[i * 3 + k] * values[k] * vectors[j * 3 + k];
        dot += vectors[k * 3 + i] * vectors[k * 3 + j];
      }
      EXPECT_NEAR(rebuilt, a[i * 3 + j], 1e-12) << i << "," << j;
      EXPECT_NEAR(dot, i == j ? 1 : 0, 1e-12) << "eigenvectors are orthonormal";
    }
  }
  EXPECT_NEAR(values[0] + values[1] + values[2], 12, 1e-12);
}

TEST(CmaesTest, MirrorReflectsIntoTheUnitInterval) {
  EXPECT_DOUBLE_EQ(mirrorIntoUnit(0.25), 0.25);
  EXPECT_NEAR(mirrorIntoUnit(1.2), 0.8, 1e-12);
  EXPECT_NEAR(mirrorIntoUnit(-0.3), 0.3, 1e-12);
  EXPECT_NEAR(mirrorIntoUnit(2.4), 0.4, 1e-12);
  EXPECT_NEAR(mirrorIntoUnit(-1.25), 0.75, 1e-12);
}

TEST(CmaesTest, ConvergesOnAnIllConditionedEllipsoid) {
  SearchSpace space;
  for (int i = 0; i < 5; ++i) {
    space.push_back(floatDimension("x" + std::to_string(i), -1, 1));
  }
  aimass::testing::SearchFunction f{"ellipsoid", space, 0, [](const std::vector<double>& v) {
                                      double sum = 0;
                                      for (std::size_t i = 0; i < v.size(); ++i) {
                                        const double d = v[i] - 0.3;
                                        sum += std::pow(100.0, double(i) / 4) * d * d;
                                      }
                                      return sum;
                                    }};
  Cmaes search(seeded(0));
  EXPECT_LT(aimass::testing::searchBest(search, f, 800, 1, 4), 1e-6);
  EXPECT_EQ(search.restartsDone(), 0u) << "a convex problem needs no restart to get there";
  EXPECT_GT(search.distribution().conditionNumber(), 10) << "C learnt the ellipsoid's shape";
}

TEST(CmaesTest, AGenerationEndsAfterLambdaResultsAndAskingMoreDrawsFromTheSame) {
  Cmaes search(seeded(3));
  const SearchSpace space = {floatDimension("a", 0, 1), floatDimension("b", 0, 1)};
  ASSERT_TRUE(search.begin(space, 1, 1).ok());
  const std::size_t lambda = search.distribution().lambda();
  EXPECT_EQ(lambda, 6u) << "4 + floor(3 ln 2)";
  auto first = search.ask(lambda + 3).value();  // beyond the generation
  std::vector<Evaluation> results;
  for (std::size_t k = 0; k + 1 < lambda; ++k) {
    results.push_back({first[k].id, first[k].values[0], false, {}});
  }
  ASSERT_TRUE(search.tell(results).ok());
  EXPECT_EQ(search.generation(), 0u) << "lambda - 1 results do not end a generation";
  EXPECT_EQ(search.distribution().mean(), (std::vector<double>{0.5, 0.5}));
  ASSERT_TRUE(search.tell(std::vector<Evaluation>{{first[lambda + 2].id, 0.0, false, {}}}).ok());
  EXPECT_EQ(search.generation(), 1u) << "the extra candidate completed the generation";
  EXPECT_LT(search.distribution().mean()[0], 0.5) << "the mean moved towards small a";
  // A late result of generation 0 is recorded but changes nothing.
  const auto mean = search.distribution().mean();
  ASSERT_TRUE(search.tell(std::vector<Evaluation>{{first[lambda].id, -5.0, false, {}}}).ok());
  EXPECT_EQ(search.distribution().mean(), mean);
  EXPECT_EQ(search.best()->value, -5.0);
}

TEST(CmaesTest, FailedResultsRankLastAndAllFailedMovesNothing) {
  Cmaes search(seeded(0));
  ASSERT_TRUE(search.begin({floatDimension("a", 0, 1)}, 1, 1).ok());
  const std::size_t lambda = search.distribution().lambda();
  auto batch = search.ask(lambda).value();
  std::vector<Evaluation> failed;
  for (const auto& c : batch) {
    failed.push_back({c.id, 0, true, {}});
  }
  ASSERT_TRUE(search.tell(failed).ok());
  EXPECT_EQ(search.generation(), 1u);
  EXPECT_EQ(search.distribution().mean()[0], 0.5);
  batch = search.ask(lambda).value();
  std::vector<Evaluation> mixed;
  for (std::size_t k = 0; k < batch.size(); ++k) {
    mixed.push_back({batch[k].id, -batch[k].values[0], k % 2 == 0, {}});
  }
  ASSERT_TRUE(search.tell(mixed).ok());
  EXPECT_EQ(search.generation(), 2u);
  EXPECT_FALSE(search.best()->failed);
}

TEST(CmaesTest, RestartsDoubleThePopulationUpToTheLimit) {
  CmaesOptions options = seeded(0);
  options.restarts = 2;
  Cmaes search(options);
  ASSERT_TRUE(search.begin({floatDimension("a", 0, 1), floatDimension("b", 0, 1)}, 1, 1).ok());
  // A flat function: every generation is flat after the first, so every run stops at once.
  std::vector<std::size_t> lambdas;
  for (int round = 0; round < 40; ++round) {
    auto batch = search.ask(4).value();
    std::vector<Evaluation> results;
    for (const auto& c : batch) {
      results.push_back({c.id, 1.0, false, {}});
    }
    ASSERT_TRUE(search.tell(results).ok());
    if (lambdas.empty() || lambdas.back() != search.distribution().lambda()) {
      lambdas.push_back(search.distribution().lambda());
    }
  }
  EXPECT_EQ(lambdas, (std::vector<std::size_t>{6, 12, 24}));
  EXPECT_EQ(search.restartsDone(), 2u);
}

TEST(CmaesTest, CategoricalProbabilitiesConcentrateOnTheBestChoice) {
  SearchDimension colour;
  colour.name = "colour";
  colour.type = SearchDimension::Type::kCategorical;
  colour.choices = {"red", "green", "blue", "grey"};
  Cmaes search(seeded(1));
  aimass::testing::SearchFunction f{
      "colour", {colour, floatDimension("x", -1, 1)}, 0, [](const std::vector<double>& v) {
        return (v[0] == 2 ? 0 : 1) + v[1] * v[1];
      }};
  aimass::testing::searchBest(search, f, 60, 2, 1);
  const auto p = search.choiceProbabilities(0);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_GT(p[2], 0.6) << p[0] << " " << p[1] << " " << p[2] << " " << p[3];
  EXPECT_GE(*std::min_element(p.begin(), p.end()), 0.2 / 4 - 1e-12) << "no choice dies out";
  EXPECT_TRUE(search.choiceProbabilities(1).empty());
}

TEST(CmaesTest, StateRoundTripMidGenerationReproducesTheSearch) {
  const auto f = aimass::testing::hartmann6();
  Cmaes a(seeded(4)), b(seeded(4));
  ASSERT_TRUE(a.begin(f.space, 9, 1).ok());
  ASSERT_TRUE(b.begin(f.space, 9, 1).ok());
  auto tellSome = [&](Cmaes& search, const std::vector<Candidate>& batch, std::size_t count) {
    std::vector<Evaluation> results;
    for (std::size_t k = 0; k < count; ++k) {
      results.push_back({batch[k].id, f.evaluate(batch[k].values), false, {}});
    }
    return search.tell(results);
  };
  for (int round = 0; round < 7; ++round) {
    auto batch = a.ask(5).value();
    ASSERT_TRUE(tellSome(a, batch, 4).ok());  // one left outstanding each round
  }
  std::string state;
  ASSERT_TRUE(a.saveState(state).ok());
  ASSERT_TRUE(b.loadState(state).ok());
  EXPECT_EQ(b.generation(), a.generation());
  for (int round = 0; round < 10; ++round) {
    auto from_a = a.ask(3).value();
    auto from_b = b.ask(3).value();
    ASSERT_EQ(aimass::testing::candidateDifference(from_a, from_b), "") << "round " << round;
    ASSERT_TRUE(tellSome(a, from_a, 3).ok());
    ASSERT_TRUE(tellSome(b, from_b, 3).ok());
  }
  EXPECT_EQ(a.distribution().mean(), b.distribution().mean());
  EXPECT_EQ(a.distribution().sigma(), b.distribution().sigma());
  // Every truncation is refused and changes nothing.
  EXPECT_EQ(aimass::testing::truncatedStateProblems(b, 97), "");
}

TEST(CmaesTest, CreateAndBeginRefuseBadSettings) {
  CmaesOptions options;
  options.sigma0 = 0;
  EXPECT_EQ(Cmaes::create(options).status().code(), StatusCode::kInvalidArgument);
  options.sigma0 = 0.3;
  options.population = 1;
  EXPECT_THAT(Cmaes::create(options).status().message(), HasSubstr("population"));
  Cmaes search(seeded(0));
  EXPECT_EQ(search.ask(1).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(search.begin({floatDimension("a", 0, 1)}, 1, 2).code(), StatusCode::kInvalidArgument);
}

TEST(CmaesTest, W7MediansOverFiveSeeds) {
  Cmaes search(seeded(0));
  const double branin = aimass::testing::medianBest(search, aimass::testing::branin(), 50, 5);
  const double hartmann = aimass::testing::medianBest(search, aimass::testing::hartmann6(), 50, 5);
  const double bowl =
      aimass::testing::medianBest(search, aimass::testing::categoricalBowl(), 50, 5);
  std::printf("W7 cmaes medians: branin %.4f hartmann6 %.4f categorical %.4f\n", branin, hartmann,
              bowl);
  EXPECT_LT(branin, 1.0);
  EXPECT_LT(hartmann, -2.0);
  EXPECT_LT(bowl, 1.0);
}

TEST(CmaesTest, RegistersOptimizerCmaes) {
  auto registered =
      aimass::testing::onlyRegisteredType(*aimass_plugin_descriptor_fn(), "optimizer.cmaes");
  ASSERT_TRUE(registered.ok()) << registered.status().toString();
  const NodeType& type = *registered;
  NodeConfig config("tuner", type.type, nullptr);
  config.setValue("sigma0", 0.2);
  config.setValue("population", std::int64_t{8});
  config.setValue("restarts", std::int64_t{3});
  config.setValue("seed", std::int64_t{5});
  auto node = aimass::testing::makeSearchNode(type, config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  config.setValue("sigma0", 0.0);
  EXPECT_FALSE(type.factory(config).ok());
}

}  // namespace
}  // namespace aimass::plugins::optimizer
