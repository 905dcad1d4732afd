// SPDX-License-Identifier: Apache-2.0
// Study: trials and the optimizer's state in storage, and a resume from any prefix of the
// writes that goes on exactly as the uninterrupted study would.
#include "tune/study.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "map_storage.h"
#include "study_fixtures.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using testing::MapStorage;
using tune_test::settings;
using tune_test::Uniform;

double objective(const Trial& t) { return std::abs(std::log10(t.values[0]) + 2) + t.values[1]; }

/// A fixed script of events: two trials in flight, each finished after the next one starts,
/// as a tuner with parallel 2 runs. Returns every trial's values in start order.
std::vector<std::vector<double>> runScript(std::shared_ptr<MapStorage> storage, std::size_t trials,
                                           bool deterministic = true) {
  Uniform optimizer(deterministic);
  auto study = Study::open(storage, settings(), optimizer);
  EXPECT_TRUE(study.ok()) << study.status().toString();
  std::vector<std::vector<double>> values;
  if (!study.ok()) {
    return values;
  }
  std::vector<Trial> running;
  auto start = [&] {
    auto t = (*study)->startTrial();
    ASSERT_TRUE(t.ok() && t->has_value());
    running.push_back(**t);
  };
  // Trials found running (from an interrupted run) come back first.
  const std::size_t done = (*study)->trials().size() - (*study)->pendingRestarts();
  while (done + values.size() + running.size() < trials && running.size() < 2) {
    start();
  }
  while (!running.empty()) {
    Trial t = running.front();
    running.erase(running.begin());
    values.push_back(t.values);
    Study::Outcome outcome;
    outcome.value = objective(t);
    EXPECT_TRUE((*study)->finish(t.number, outcome).ok());
    if (done + values.size() + running.size() < trials) {
      start();
    }
  }
  return values;
}

std::vector<std::vector<double>> storedValues(const MapStorage& storage) {
  std::vector<std::vector<double>> out;
  for (const auto& [key, value] : storage.values) {
    if (key.starts_with("tune/study/trials/")) {
      auto t = parseTrial(value);
      EXPECT_TRUE(t.ok());
      EXPECT_EQ(t->state, Trial::State::kComplete) << key;
      out.push_back(t->values);
    }
  }
  return out;
}

TEST(Study, AResumeFromEveryPrefixOfTheWritesEndsAsTheUninterruptedStudy) {
  auto reference = std::make_shared<MapStorage>();
  runScript(reference, 10);
  const auto expected = storedValues(*reference);
  ASSERT_EQ(expected.size(), 10u);
  const int writes = reference->puts;
  EXPECT_LE(writes, 1 + 3 * 10) << "the study record, then three puts a trial";
  for (int kept = 1; kept < writes; ++kept) {
    auto storage = std::make_shared<MapStorage>();
    storage->keep_puts = kept;  // the tuner is killed after `kept` writes
    runScript(storage, 10);
    storage->keep_puts.reset();
    runScript(storage, 10);  // aimass run again
    EXPECT_EQ(storedValues(*storage), expected) << "killed after write " << kept;
  }
}

TEST(Study, ResumedTrialsRunAgainUnderTheirNumbersAndTheOptimizerIsToldEveryResult) {
  auto storage = std::make_shared<MapStorage>();
  {
    Uniform optimizer;
    auto study = Study::open(storage, settings(), optimizer);
    ASSERT_TRUE(study.ok());
    auto a = (*study)->startTrial();
    auto b = (*study)->startTrial();
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE((*study)->report((*b)->number, 1, 0.5).ok());
    Study::Outcome outcome;
    outcome.value = 0.25;
    ASSERT_TRUE((*study)->finish((*a)->number, outcome).ok());
  }
  Uniform optimizer;
  auto study = Study::open(storage, settings(), optimizer);
  ASSERT_TRUE(study.ok()) << study.status().toString();
  EXPECT_EQ((*study)->pendingRestarts(), 1u);
  EXPECT_EQ(optimizer.told(), 1u);
  auto again = (*study)->startTrial();
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->number, 1u);
  EXPECT_TRUE((*again)->intermediate.empty()) << "a trial run again starts its curve over";
  Study::Outcome outcome;
  outcome.state = Trial::State::kPruned;
  outcome.value = 0.75;
  outcome.reason = "pruned at epoch 1";
  ASSERT_TRUE((*study)->finish(1, outcome).ok());
  EXPECT_EQ(optimizer.told(), 2u);
  EXPECT_EQ((*study)->best()->number, 0u);
  auto fresh = (*study)->startTrial();
  EXPECT_EQ((*fresh)->number, 2u);
}

TEST(Study, AnOptimizerThatProposesOtherwiseOnResumeLosesThoseTrialsNotTheStudy) {
  auto storage = std::make_shared<MapStorage>();
  {
    Uniform optimizer(false);
    auto study = Study::open(storage, settings(), optimizer);
    ASSERT_TRUE(study.ok());
    ASSERT_TRUE((*study)->startTrial().ok());
  }
  Uniform optimizer(false);
  auto study = Study::open(storage, settings(), optimizer);
  ASSERT_TRUE(study.ok()) << study.status().toString();
  ASSERT_EQ((*study)->trials().size(), 1u);
  EXPECT_EQ((*study)->trials()[0].state, Trial::State::kFailed);
  EXPECT_THAT((*study)->trials()[0].reason, HasSubstr("did not propose it again"));
  EXPECT_EQ((*study)->pendingRestarts(), 0u);
}

TEST(Study, RefusesToContinueWithOtherSettingsAndNamesCorruptRecords) {
  auto storage = std::make_shared<MapStorage>();
  runScript(storage, 2);
  Uniform optimizer;
  StudySettings other = settings();
  other.seed = 6;
  auto seeded = Study::open(storage, other, optimizer);
  EXPECT_EQ(seeded.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(seeded.status().message(), HasSubstr("was started with seed 5, not 6"));
  other = settings();
  other.dimensions[0].high = 2;
  auto spaced = Study::open(storage, other, optimizer);
  EXPECT_THAT(spaced.status().message(), HasSubstr("another search space"));
  storage->values["tune/study/trials/00000001"] = "{\"number\": 1";
  auto corrupt = Study::open(storage, settings(), optimizer);
  EXPECT_EQ(corrupt.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(corrupt.status().message(), HasSubstr("tune/study/trials/00000001"));
}

TEST(Study, ReadsBackForTheCommandLine) {
  auto storage = std::make_shared<MapStorage>();
  runScript(storage, 3);
  auto read = Study::read(*storage, "study");
  ASSERT_TRUE(read.ok()) << read.status().toString();
  EXPECT_EQ(read->first.optimizer_type, "optimizer.uniform");
  EXPECT_EQ(read->first.dimensions.size(), 2u);
  EXPECT_EQ(read->first.dimensions[1].param_type, ParamType::kString);
  EXPECT_EQ(read->second.size(), 3u);
  EXPECT_EQ(Study::list(*storage).value(), std::vector<std::string>{"study"});
  EXPECT_EQ(Study::read(*storage, "nope").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace aimass::core
