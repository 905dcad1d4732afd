// SPDX-License-Identifier: Apache-2.0
#include "monitoring/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using Verdict = RollbackDecision::Verdict;

constexpr std::int64_t kHour = 3600 * 1000;
constexpr std::int64_t kNow = 1800000000000;  // 2027-01-15 08:00 UTC

PolicySignals quiet() {
  PolicySignals s;
  s.now_ms = kNow;
  s.schedule_from_ms = kNow - 60 * 1000;
  return s;
}

TEST(RetrainPolicy, NoTriggerSetNeverRetrains) {
  PolicySignals s = quiet();
  s.drift = true;
  s.live_metric = 0.1;
  s.live_rows = 1000;
  s.labelled_rows_since = 1000000;
  EXPECT_FALSE(decideRetrain(RetrainTriggers{}, s).retrain);
}

TEST(RetrainPolicy, EachTriggerFiresOnItsOwnSignal) {
  RetrainTriggers t;
  t.on_drift = true;
  t.live_metric_threshold = 0.8;
  t.new_labelled_rows = 500;
  PolicySignals s = quiet();
  EXPECT_FALSE(decideRetrain(t, s).retrain);
  s.drift = true;
  EXPECT_EQ(decideRetrain(t, s).trigger, "drift");
  s = quiet();
  s.live_metric = 0.75;
  s.live_rows = 200;
  auto live = decideRetrain(t, s);
  EXPECT_EQ(live.trigger, "live_metric");
  EXPECT_THAT(live.reason, HasSubstr("0.75 over 200 labelled requests is under 0.8"));
  s.live_metric = 0.85;
  EXPECT_FALSE(decideRetrain(t, s).retrain);
  s = quiet();
  s.labelled_rows_since = 499;
  EXPECT_FALSE(decideRetrain(t, s).retrain);
  s.labelled_rows_since = 500;
  EXPECT_EQ(decideRetrain(t, s).trigger, "new_rows");
}

TEST(RetrainPolicy, ALowerIsBetterMetricTriggersAboveItsThreshold) {
  RetrainTriggers t;
  t.live_metric_threshold = 2.0;
  PolicySignals s = quiet();
  s.lower_is_better = true;
  s.live_rows = 150;
  s.live_metric = 1.5;
  EXPECT_FALSE(decideRetrain(t, s).retrain);
  s.live_metric = 2.5;
  auto d = decideRetrain(t, s);
  EXPECT_TRUE(d.retrain);
  EXPECT_THAT(d.reason, HasSubstr("above 2"));
}

TEST(RetrainPolicy, TooLittleFeedbackDoesNotTrigger) {
  RetrainTriggers t;
  t.live_metric_threshold = 0.9;
  t.min_feedback = 100;
  PolicySignals s = quiet();
  s.live_metric = 0.1;
  s.live_rows = 99;
  EXPECT_FALSE(decideRetrain(t, s).retrain);
}

TEST(RetrainPolicy, ARunningRetrainingAndTheCooldownHoldEveryTrigger) {
  RetrainTriggers t;
  t.on_drift = true;
  t.cooldown_ms = kHour;
  PolicySignals s = quiet();
  s.drift = true;
  s.retrain_running = true;
  EXPECT_THAT(decideRetrain(t, s).reason, HasSubstr("already"));
  s.retrain_running = false;
  s.last_retrain_ms = kNow - kHour + 1;
  EXPECT_THAT(decideRetrain(t, s).reason, HasSubstr("cooldown"));
  s.last_retrain_ms = kNow - kHour;
  EXPECT_TRUE(decideRetrain(t, s).retrain);
}

TEST(RetrainPolicy, TheScheduleFiresAtItsFirstTimeAfterTheLastRetraining) {
  RetrainTriggers t;
  auto cron = jobs::CronExpression::parse("0 * * * *");  // every hour on the hour
  ASSERT_TRUE(cron.ok()) << cron.status().toString();
  t.schedule = *cron;
  t.cooldown_ms = 0;
  PolicySignals s = quiet();
  s.schedule_from_ms = kNow - 30 * 60 * 1000;  // 07:30: next fire 08:00 == now
  EXPECT_EQ(decideRetrain(t, s).trigger, "schedule");
  s.schedule_from_ms = kNow;  // fired at 08:00 already: next at 09:00
  EXPECT_FALSE(decideRetrain(t, s).retrain);
}

TEST(RollbackPolicy, ANewChampionIsWatchedThenKeptOrRolledBack) {
  RollbackWatch watch{200, 0.02};
  EXPECT_EQ(decideRollback(watch, 0.90, 0.50, 199, false).verdict, Verdict::kWatching);
  auto worse = decideRollback(watch, 0.90, 0.85, 200, false);
  EXPECT_EQ(worse.verdict, Verdict::kRollBack);
  EXPECT_THAT(worse.reason, HasSubstr("worse by 0.05"));
  EXPECT_EQ(decideRollback(watch, 0.90, 0.89, 200, false).verdict, Verdict::kKeep);
  EXPECT_EQ(decideRollback(watch, 0.90, 0.95, 400, false).verdict, Verdict::kKeep);
  // rmse: higher is worse
  EXPECT_EQ(decideRollback(watch, 1.0, 1.1, 200, true).verdict, Verdict::kRollBack);
  EXPECT_EQ(decideRollback(watch, 1.0, 0.9, 200, true).verdict, Verdict::kKeep);
}

TEST(RollbackPolicy, WithoutAWatchOrABaselineTheChampionIsKept) {
  EXPECT_EQ(decideRollback(RollbackWatch{0, 0}, 0.9, 0.1, 1000, false).verdict, Verdict::kKeep);
  auto no_baseline = decideRollback(RollbackWatch{10, 0}, std::nullopt, 0.1, 1000, false);
  EXPECT_EQ(no_baseline.verdict, Verdict::kKeep);
  EXPECT_THAT(no_baseline.reason, HasSubstr("no live metric"));
}

/// The events a run of window verdicts makes, one letter each: S started, C cleared, - none.
std::string episodeEvents(const std::vector<bool>& verdicts) {
  std::string events;
  std::optional<bool> previous;
  for (bool drifted : verdicts) {
    switch (driftEpisodeEvent(previous, drifted)) {
      case DriftEpisodeEvent::kStarted:
        events += 'S';
        break;
      case DriftEpisodeEvent::kCleared:
        events += 'C';
        break;
      case DriftEpisodeEvent::kNone:
        events += '-';
        break;
    }
    previous = drifted;
  }
  return events;
}

TEST(DriftEpisodes, ARunOfDriftedWindowsIsOneEventAndItsEndAnother) {
  // One event per window that drifted would be "--SSS--SS-".
  EXPECT_EQ(episodeEvents({false, false, true, true, true, false, false, true, true, false}),
            "--S--C-S-C");
  EXPECT_EQ(episodeEvents({true, true, true}), "S--") << "the first window starts an episode";
  EXPECT_EQ(episodeEvents({false, false}), "--") << "nothing to clear";
  EXPECT_EQ(episodeEvents({true, false, true}), "SCS");
}

}  // namespace
}  // namespace aimass::core
