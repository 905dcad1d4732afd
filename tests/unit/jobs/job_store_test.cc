// SPDX-License-Identifier: Apache-2.0
// The job service's records (core/src/jobs/job_store.h): round trips, compare-and-set updates
// from several threads, damaged records named, and requeueing after a restart.
#include "jobs/job_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "map_storage.h"

namespace aimass::core::jobs {
namespace {

using ::testing::HasSubstr;

JobRecord sampleJob() {
  JobRecord r;
  r.queue = "research";
  r.owner = "ada lovelace";
  r.priority = -3;
  r.resources = {2, 512LL << 20, 1};
  r.preemptible = false;
  r.config_name = "jobs/train iris.yaml";
  r.config = "nodes:\n  iris: {type: dataset.csv, path: \"a b%.csv\"}\n";
  r.runs = {4, 9};
  return r;
}

TEST(JobStore, SubmitAssignsIdsAndRoundTripsEveryField) {
  auto storage = std::make_shared<testing::MapStorage>();
  JobStore store(storage);
  auto first = store.submit(sampleJob());
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = store.submit(sampleJob());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->id, 1);
  EXPECT_EQ(second->id, 2);
  EXPECT_EQ(first->state, JobState::kQueued);
  EXPECT_GT(first->submitted_ms, 0);

  auto read = store.get(1);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(formatJobRecord(*read), formatJobRecord(*first));
  EXPECT_EQ(read->config, sampleJob().config);
  EXPECT_EQ(read->owner, "ada lovelace");
  EXPECT_EQ(read->resources, (Resources{2, 512LL << 20, 1}));
  EXPECT_FALSE(read->preemptible);
  EXPECT_EQ(read->runs, (std::vector<std::int64_t>{4, 9}));
  EXPECT_EQ(store.get(3).status().code(), StatusCode::kNotFound);
  auto all = store.list();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2U);
}

TEST(JobStore, UpdateRetriesLostRacesAndLosesNoChange) {
  auto storage = std::make_shared<testing::MapStorage>();
  JobStore store(storage);
  ASSERT_TRUE(store.submit(sampleJob()).ok());
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&store] {
      for (int i = 0; i < 50; ++i) {
        auto changed = store.update(1, [](JobRecord& r) {
          r.attempts += 1;
          return okStatus();
        });
        ASSERT_TRUE(changed.ok());
      }
    });
  }
  for (std::thread& w : writers) w.join();
  EXPECT_EQ(store.get(1)->attempts, 200);
}

TEST(JobStore, AFailedChangeStoresNothing) {
  auto storage = std::make_shared<testing::MapStorage>();
  JobStore store(storage);
  ASSERT_TRUE(store.submit(sampleJob()).ok());
  const std::string before = storage->values.at("jobs/records/0000000001");
  auto changed = store.update(1, [](JobRecord& r) {
    r.queue = "elsewhere";
    return failedPrecondition("job 1 is queued, not running");
  });
  EXPECT_EQ(changed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage->values.at("jobs/records/0000000001"), before);
  EXPECT_EQ(store.update(7, [](JobRecord&) { return okStatus(); }).status().code(),
            StatusCode::kNotFound);
}

TEST(JobStore, DamagedRecordsAreNamed) {
  auto storage = std::make_shared<testing::MapStorage>();
  JobStore store(storage);
  ASSERT_TRUE(store.submit(sampleJob()).ok());
  std::string& text = storage->values.at("jobs/records/0000000001");
  const std::string good = text;
  text.replace(text.find("state queued"), 12, "state paused");
  EXPECT_THAT(store.get(1).status().message(),
              HasSubstr("job record 'jobs/records/0000000001': field 'state' holds 'paused'"));
  text = good;
  text.replace(text.find("priority -3"), 11, "priority x");
  EXPECT_THAT(store.get(1).status().message(), HasSubstr("field 'priority' holds 'x'"));
  text = good.substr(0, good.find("attempts"));
  EXPECT_EQ(store.list().status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(store.list().status().message(), HasSubstr("no field 'attempts'"));
}

TEST(JobStore, RestartRequeuesRunningJobsAndFinishesCancelledOnes) {
  auto storage = std::make_shared<testing::MapStorage>();
  JobStore store(storage);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store.submit(sampleJob()).ok());
  auto run = [](JobRecord& r) {
    r.state = JobState::kRunning;
    r.attempts += 1;
    r.worker_pid = 4242;
    return okStatus();
  };
  ASSERT_TRUE(store.update(1, run).ok());
  ASSERT_TRUE(store.update(2, run).ok());
  ASSERT_TRUE(store.update(2, [](JobRecord& r) {
                r.cancel_requested = true;
                return okStatus();
              }).ok());
  ASSERT_TRUE(store.update(3, [](JobRecord& r) {
                r.state = JobState::kSucceeded;
                return okStatus();
              }).ok());

  // A new store on the same storage: the service after kill -9.
  JobStore restarted(storage);
  auto requeued = restarted.requeueInterrupted();
  ASSERT_TRUE(requeued.ok());
  ASSERT_EQ(requeued->size(), 1U);
  EXPECT_EQ((*requeued)[0].id, 1);
  EXPECT_EQ(restarted.get(1)->state, JobState::kQueued);
  EXPECT_EQ(restarted.get(1)->attempts, 1);
  EXPECT_EQ(restarted.get(1)->worker_pid, 0);
  EXPECT_THAT(restarted.get(1)->reason, HasSubstr("interrupted"));
  EXPECT_EQ(restarted.get(2)->state, JobState::kCancelled);
  EXPECT_EQ(restarted.get(3)->state, JobState::kSucceeded);
  EXPECT_EQ(restarted.get(4)->state, JobState::kQueued);
  EXPECT_THAT(restarted.get(4)->reason, ::testing::IsEmpty());
}

}  // namespace
}  // namespace aimass::core::jobs
