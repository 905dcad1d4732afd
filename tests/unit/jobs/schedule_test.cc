// SPDX-License-Identifier: Apache-2.0
// The job service's schedules (core/src/jobs/schedule_store.h): records, creation checks, and
// firing driven by a clock the test sets: next firings, the catch-up of missed times, and the
// overlap policies skip, queue and replace.
#include "jobs/schedule_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobs/job_service.h"
#include "map_storage.h"

namespace aimass::core::jobs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::int64_t kMinute = 60'000;
// 2026-03-04T10:00:30Z.
constexpr std::int64_t kStart = 1772618400000 + 30'000;

class ScheduleFiring : public ::testing::Test {
 protected:
  ScheduleFiring() : storage_(std::make_shared<testing::MapStorage>()), jobs_(storage_),
                     schedules_(storage_), queues_(Resources{4, 8LL << 30, 0}) {
    QueueSpec queue;
    queue.name = "research";
    queue.nominal = {4, 8LL << 30, 0};
    EXPECT_TRUE(queues_.addQueue(queue).ok());
    actions_.submit = [this](const ScheduleRecord& s) -> Expected<JobRecord> {
      const JobSubmission job = scheduledJob(s);
      AIMASS_RETURN_IF_ERROR(checkSubmission(job, queues_, nullptr));
      return submitToStore(jobs_, job);
    };
    actions_.cancel = [this](std::int64_t id) -> Status {
      auto cancelled = cancelInStore(jobs_, *storage_, id);
      return cancelled.ok() ? okStatus() : cancelled.status();
    };
  }

  ScheduleRecord create(const char* cron, Overlap overlap, std::int64_t now = kStart) {
    ScheduleSubmission submission;
    submission.cron = cron;
    submission.overlap = overlap;
    submission.name = "retrain";
    submission.job.config = "nodes: {}\n";
    submission.job.config_name = "retrain.yaml";
    submission.job.queue = "research";
    submission.job.owner = "ada";
    submission.job.resources = {1, 1LL << 30, 0};
    submission.job.ranks = 2;
    auto created = createScheduleInStore(schedules_, submission, queues_, nullptr, now);
    EXPECT_TRUE(created.ok()) << created.status().message();
    return created.ok() ? *created : ScheduleRecord{};
  }

  std::vector<Firing> fire(std::int64_t now) {
    auto firings = fireDueSchedules(schedules_, jobs_, now, actions_);
    EXPECT_TRUE(firings.ok()) << firings.status().message();
    return firings.ok() ? *firings : std::vector<Firing>{};
  }

  void setState(std::int64_t job, JobState state) {
    ASSERT_TRUE(jobs_.update(job, [state](JobRecord& r) {
                       r.state = state;
                       return okStatus();
                     }).ok());
  }

  std::shared_ptr<testing::MapStorage> storage_;
  JobStore jobs_;
  ScheduleStore schedules_;
  JobScheduler queues_;
  FiringActions actions_;
};

TEST_F(ScheduleFiring, CreationComputesTheFirstFiringAndRoundTrips) {
  const ScheduleRecord created = create("*/5 * * * *", Overlap::kQueue);
  EXPECT_EQ(created.id, 1);
  EXPECT_EQ(created.created_ms, kStart);
  EXPECT_EQ(created.next_fire_ms, kStart - 30'000 + 5 * kMinute);
  auto read = schedules_.get(1);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(formatScheduleRecord(*read), formatScheduleRecord(created));
  EXPECT_EQ(read->overlap, Overlap::kQueue);
  EXPECT_EQ(read->config, "nodes: {}\n");
  EXPECT_EQ(schedules_.get(2).status().code(), StatusCode::kNotFound);
}

TEST_F(ScheduleFiring, CreationRefusesABadExpressionOrJob) {
  ScheduleSubmission submission;
  submission.cron = "0 25 * * *";
  submission.job.queue = "research";
  submission.job.resources = {1, 1, 0};
  auto bad_cron = createScheduleInStore(schedules_, submission, queues_, nullptr, kStart);
  ASSERT_FALSE(bad_cron.ok());
  EXPECT_THAT(bad_cron.status().message(), HasSubstr("cron field 'hour' (column 3)"));
  submission.cron = "@daily";
  submission.job.queue = "nowhere";
  auto bad_queue = createScheduleInStore(schedules_, submission, queues_, nullptr, kStart);
  EXPECT_EQ(bad_queue.status().code(), StatusCode::kNotFound);
  submission.job.queue = "research";
  auto bad_graph = createScheduleInStore(
      schedules_, submission, queues_,
      [](const JobSubmission&) { return invalidArgument("g.yaml:3:5: error: unknown type"); },
      kStart);
  ASSERT_FALSE(bad_graph.ok());
  EXPECT_THAT(bad_graph.status().message(), HasSubstr("g.yaml:3:5"));
  EXPECT_TRUE(schedules_.list()->empty());
}

TEST_F(ScheduleFiring, NothingFiresBeforeItsTimeThenOneJobLinkedToTheSchedule) {
  const ScheduleRecord s = create("* * * * *", Overlap::kQueue);
  EXPECT_TRUE(fire(s.next_fire_ms - 1).empty());
  auto firings = fire(s.next_fire_ms);
  ASSERT_EQ(firings.size(), 1U);
  EXPECT_EQ(firings[0].outcome, Firing::Outcome::kSubmitted);
  auto job = jobs_.get(firings[0].job);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->schedule_id, s.id);
  EXPECT_EQ(job->owner, "ada");
  EXPECT_EQ(job->config_name, "retrain.yaml");
  EXPECT_EQ(job->ranks, 2);  // as the schedule was asked for: 2 ranks of 1 thread each
  EXPECT_EQ(job->resources.threads, 1);
  auto after = schedules_.get(s.id);
  EXPECT_EQ(after->last_fire_ms, s.next_fire_ms);
  EXPECT_EQ(after->next_fire_ms, s.next_fire_ms + kMinute);
  EXPECT_EQ(after->last_job, firings[0].job);
  EXPECT_EQ(after->fires, 1);
  EXPECT_EQ(after->last_result, "submitted job 1");
  // The same time again: already fired.
  EXPECT_TRUE(fire(s.next_fire_ms).empty());
}

TEST_F(ScheduleFiring, MissedTimesFireOnceAndTheNextIsAfterNow) {
  const ScheduleRecord s = create("*/10 * * * *", Overlap::kQueue);
  const std::int64_t much_later = s.next_fire_ms + 3 * 60 * kMinute + 5 * kMinute;
  EXPECT_EQ(fire(much_later).size(), 1U);
  auto after = schedules_.get(s.id);
  EXPECT_EQ(after->next_fire_ms, much_later + 5 * kMinute);
  EXPECT_EQ(after->fires, 1);
  EXPECT_TRUE(fire(much_later + kMinute).empty());
  EXPECT_EQ(jobs_.list()->size(), 1U);
}

TEST_F(ScheduleFiring, OverlapSkipSubmitsNothingWhileTheLastJobIsQueuedOrRunning) {
  const ScheduleRecord s = create("* * * * *", Overlap::kSkip);
  std::int64_t now = s.next_fire_ms;
  ASSERT_EQ(fire(now)[0].outcome, Firing::Outcome::kSubmitted);
  auto skipped = fire(now += kMinute);  // job 1 still queued
  ASSERT_EQ(skipped.size(), 1U);
  EXPECT_EQ(skipped[0].outcome, Firing::Outcome::kSkipped);
  EXPECT_THAT(skipped[0].reason, HasSubstr("job 1 of this schedule has not ended"));
  setState(1, JobState::kRunning);
  EXPECT_EQ(fire(now += kMinute)[0].outcome, Firing::Outcome::kSkipped);
  setState(1, JobState::kSucceeded);
  auto next = fire(now += kMinute);
  EXPECT_EQ(next[0].outcome, Firing::Outcome::kSubmitted);
  EXPECT_EQ(next[0].job, 2);
  auto after = schedules_.get(s.id);
  EXPECT_EQ(after->fires, 2);
  EXPECT_EQ(after->skips, 2);
  EXPECT_EQ(jobs_.list()->size(), 2U);
}

TEST_F(ScheduleFiring, OverlapQueueSubmitsBesideTheUnfinishedJob) {
  const ScheduleRecord s = create("* * * * *", Overlap::kQueue);
  std::int64_t now = s.next_fire_ms;
  fire(now);
  setState(1, JobState::kRunning);
  auto second = fire(now += kMinute);
  EXPECT_EQ(second[0].outcome, Firing::Outcome::kSubmitted);
  EXPECT_TRUE(second[0].replaced.empty());
  EXPECT_EQ(jobs_.get(1)->state, JobState::kRunning);
  EXPECT_FALSE(jobs_.get(1)->cancel_requested);
  EXPECT_EQ(jobs_.get(2)->state, JobState::kQueued);
}

TEST_F(ScheduleFiring, OverlapReplaceCancelsTheUnfinishedJobsAndSubmits) {
  const ScheduleRecord s = create("* * * * *", Overlap::kReplace);
  // Another schedule's job and a job of no schedule are left alone.
  const ScheduleRecord other = create("0 0 1 1 *", Overlap::kSkip);
  JobSubmission others_job;
  others_job.queue = "research";
  others_job.resources = {1, 1, 0};
  others_job.schedule_id = other.id;
  ASSERT_TRUE(submitToStore(jobs_, others_job).ok());
  std::int64_t now = s.next_fire_ms;
  fire(now);  // job 2
  setState(2, JobState::kRunning);
  auto replaced = fire(now += kMinute);
  ASSERT_EQ(replaced.size(), 1U);
  EXPECT_EQ(replaced[0].outcome, Firing::Outcome::kSubmitted);
  EXPECT_THAT(replaced[0].replaced, ElementsAre(2));
  EXPECT_EQ(replaced[0].job, 3);
  // A running job is asked to stop (the service sends SIGTERM, then SIGKILL after the grace
  // period, as for a cancel); a queued one is cancelled at once.
  EXPECT_TRUE(jobs_.get(2)->cancel_requested);
  EXPECT_EQ(jobs_.get(2)->state, JobState::kRunning);
  EXPECT_EQ(jobs_.get(1)->state, JobState::kQueued);
  EXPECT_FALSE(jobs_.get(1)->cancel_requested);
  EXPECT_EQ(schedules_.get(s.id)->last_result, "submitted job 3, replacing job 2");
  auto again = fire(now += kMinute);
  EXPECT_THAT(again[0].replaced, ElementsAre(3));
  EXPECT_EQ(jobs_.get(3)->state, JobState::kCancelled);
  EXPECT_EQ(jobs_.get(3)->reason, "cancelled before it ran");
}

TEST_F(ScheduleFiring, AFailedSubmissionIsRecordedAndTheScheduleGoesOn) {
  const ScheduleRecord s = create("* * * * *", Overlap::kQueue);
  QueueSpec smaller;
  smaller.name = "research";
  queues_ = JobScheduler(Resources{4, 8LL << 30, 0});
  smaller.nominal = {1, 1LL << 20, 0};
  ASSERT_TRUE(queues_.addQueue(smaller).ok());
  auto failed = fire(s.next_fire_ms);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_EQ(failed[0].outcome, Firing::Outcome::kFailed);
  auto after = schedules_.get(s.id);
  EXPECT_THAT(after->last_result, HasSubstr("failed: the job asks for threads 2, memory 2048 MiB, gpus 0 (2 ranks)"));
  EXPECT_EQ(after->next_fire_ms, s.next_fire_ms + kMinute);
  EXPECT_EQ(after->fires, 0);
}

TEST_F(ScheduleFiring, ADeletedScheduleNoLongerFires) {
  const ScheduleRecord s = create("* * * * *", Overlap::kQueue);
  ASSERT_TRUE(schedules_.remove(s.id).ok());
  EXPECT_EQ(schedules_.remove(s.id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(fire(s.next_fire_ms + kMinute).empty());
  EXPECT_TRUE(jobs_.list()->empty());
}

TEST(ScheduleRecordText, DamagedRecordsNameTheField) {
  ScheduleRecord r;
  r.cron = "@daily";
  std::string text = formatScheduleRecord(r);
  const std::string broken = text.replace(text.find("overlap skip"), 12, "overlap most");
  auto parsed = parseScheduleRecord(broken);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("field 'overlap' holds 'most'"));
  EXPECT_EQ(parseOverlap("replace"), Overlap::kReplace);
  EXPECT_FALSE(parseOverlap("Skip").has_value());
}

}  // namespace
}  // namespace aimass::core::jobs
