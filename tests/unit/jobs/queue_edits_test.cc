// SPDX-License-Identifier: Apache-2.0
// Queue edits while the service runs (core/src/jobs/queue_edits.h, JobScheduler::updateQueue):
// checked field by field, kept in the store, dropped once the configuration's definition of
// the queue changes, and applied without stopping running jobs.
#include "jobs/queue_edits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "map_storage.h"

namespace aimass::core::jobs {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kGiB = std::int64_t{1} << 30;

std::vector<QueueSpec> configured() {
  QueueSpec research;
  research.name = "research";
  research.cohort = "lab";
  research.nominal = {2, 4 * kGiB, 0};
  QueueSpec batch;
  batch.name = "batch";
  batch.nominal = {1, 2 * kGiB, 0};
  return {research, batch};
}

const Resources kCapacity{4, 8 * kGiB, 0};

TEST(QueueEdits, AnEditIsStoredAndAppliesWhileTheDefinitionIsUnchanged) {
  testing::MapStorage storage;
  JobQueueUpdate update;
  update.threads = 3;
  update.memory_bytes = 6 * kGiB;
  update.max_running = 2;
  update.ordering = "fair_share";
  auto edited = editQueueInStore(storage, configured(), kCapacity, "research", update);
  ASSERT_TRUE(edited.ok()) << edited.status().message();
  EXPECT_EQ(edited->nominal, (Resources{3, 6 * kGiB, 0}));
  EXPECT_EQ(edited->max_running, 2);
  EXPECT_EQ(edited->ordering, Ordering::kFairShare);
  EXPECT_EQ(edited->cohort, "lab");
  // A running service notices through the change counter.
  EXPECT_TRUE(storage.get("jobs/changes").ok());

  auto queues = effectiveQueues(storage, configured());
  ASSERT_TRUE(queues.ok()) << queues.status().message();
  EXPECT_EQ((*queues)[0], *edited);
  EXPECT_EQ((*queues)[1], configured()[1]);

  // A second edit starts from the first.
  JobQueueUpdate more;
  more.strict_fifo = true;
  auto again = editQueueInStore(storage, configured(), kCapacity, "research", more);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->nominal.threads, 3);
  EXPECT_TRUE(again->strict_fifo);
}

TEST(QueueEdits, AChangedDefinitionInTheConfigurationWins) {
  testing::MapStorage storage;
  JobQueueUpdate update;
  update.threads = 1;
  ASSERT_TRUE(editQueueInStore(storage, configured(), kCapacity, "batch", update).ok());
  std::vector<QueueSpec> changed = configured();
  changed[1].nominal.memory_bytes = 3 * kGiB;
  auto queues = effectiveQueues(storage, changed);
  ASSERT_TRUE(queues.ok());
  EXPECT_EQ((*queues)[1], changed[1]);
  // The stale edit is gone: the old definition does not bring it back.
  auto old = effectiveQueues(storage, configured());
  EXPECT_EQ((*old)[1], configured()[1]);
}

TEST(QueueEdits, BadValuesAreRefusedNamingTheField) {
  testing::MapStorage storage;
  auto refused = [&](const std::string& queue, const JobQueueUpdate& update) {
    auto edited = editQueueInStore(storage, configured(), kCapacity, queue, update);
    EXPECT_FALSE(edited.ok());
    return edited.ok() ? std::string() : edited.status().message();
  };
  JobQueueUpdate negative;
  negative.threads = -1;
  EXPECT_THAT(refused("research", negative), HasSubstr("'threads' must be at least 0, not -1"));
  JobQueueUpdate borrow;
  borrow.borrow_threads = 1;
  EXPECT_THAT(refused("batch", borrow),
              HasSubstr("'borrow_threads': queue 'batch' has no cohort to borrow from"));
  JobQueueUpdate ordering;
  ordering.ordering = "lifo";
  EXPECT_THAT(refused("research", ordering), HasSubstr("'ordering' must be fifo or fair_share"));
  JobQueueUpdate fine;
  fine.threads = 1;
  auto unknown = editQueueInStore(storage, configured(), kCapacity, "nope", fine);
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("queues: research, batch"));
  EXPECT_FALSE(storage.get("jobs/queue_edits/research").ok());
}

TEST(QueueEdits, BorrowingLimitsAreSetAndRemoved) {
  testing::MapStorage storage;
  JobQueueUpdate limit;
  limit.borrow_threads = 1;
  auto limited = editQueueInStore(storage, configured(), kCapacity, "research", limit);
  ASSERT_TRUE(limited.ok()) << limited.status().message();
  ASSERT_TRUE(limited->borrowing_limit.has_value());
  EXPECT_EQ(limited->borrowing_limit->threads, 1);
  JobQueueUpdate none;
  none.borrow_threads = -1;
  auto unlimited = editQueueInStore(storage, configured(), kCapacity, "research", none);
  ASSERT_TRUE(unlimited.ok());
  EXPECT_FALSE(unlimited->borrowing_limit.has_value());
}

TEST(QueueEdits, CommandLineSettingsParseOrNameTheKey) {
  JobQueueUpdate update;
  EXPECT_TRUE(parseQueueSetting("threads=4", update).ok());
  EXPECT_TRUE(parseQueueSetting("memory=16GiB", update).ok());
  EXPECT_TRUE(parseQueueSetting("borrow_memory=none", update).ok());
  EXPECT_TRUE(parseQueueSetting("strict_fifo=true", update).ok());
  EXPECT_EQ(update.threads, 4);
  EXPECT_EQ(update.memory_bytes, 16 * kGiB);
  EXPECT_EQ(update.borrow_memory_bytes, -1);
  EXPECT_EQ(update.strict_fifo, true);
  EXPECT_THAT(parseQueueSetting("threads=four", update).message(),
              HasSubstr("'threads' takes a whole number, not 'four'"));
  EXPECT_THAT(parseQueueSetting("weight=2", update).message(),
              HasSubstr("unknown queue setting 'weight'"));
  EXPECT_THAT(parseQueueSetting("threads", update).message(), HasSubstr("key=value"));
}

TEST(QueueEdits, TheSchedulerAppliesAnEditWithoutStoppingRunningJobs) {
  JobScheduler scheduler(kCapacity);
  for (const QueueSpec& q : configured()) ASSERT_TRUE(scheduler.addQueue(q).ok());
  JobRequest job;
  job.id = 1;
  job.queue = "batch";
  job.resources = {1, kGiB, 0};
  ASSERT_TRUE(scheduler.submit(job).ok());
  ASSERT_EQ(scheduler.schedule().size(), 1U);
  QueueSpec smaller = configured()[1];
  smaller.nominal = {0, 0, 0};
  ASSERT_TRUE(scheduler.updateQueue(smaller).ok());
  EXPECT_TRUE(scheduler.schedule().empty());
  EXPECT_EQ(scheduler.place(1), JobPlace::kRunning);
  // A second job does not start under the lowered quota, and does once it is raised.
  job.id = 2;
  EXPECT_EQ(scheduler.submit(job).code(), StatusCode::kResourceExhausted);
  QueueSpec larger = configured()[1];
  larger.nominal = {2, 2 * kGiB, 0};
  ASSERT_TRUE(scheduler.updateQueue(larger).ok());
  ASSERT_TRUE(scheduler.submit(job).ok());
  EXPECT_EQ(scheduler.schedule().size(), 1U);
  QueueSpec recohorted = larger;
  recohorted.cohort = "lab";
  EXPECT_THAT(scheduler.updateQueue(recohorted).message(), HasSubstr("cohort cannot change"));
  QueueSpec unknown = larger;
  unknown.name = "nope";
  EXPECT_EQ(scheduler.updateQueue(unknown).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace aimass::core::jobs
