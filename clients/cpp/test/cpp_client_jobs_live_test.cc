// SPDX-License-Identifier: Apache-2.0
// HttpClient's job service calls against a live `aimass run` serving service.jobs with
// frontend.http: typed Job, JobQueue and JobSchedule results, queue edits, schedules, and the
// server's refusals as Error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aimass/client/client.hpp"
#include "aimass_server.h"
#include "error_of.h"
#include "live_aimass.h"

namespace aimass::client::testing {
namespace {

using ::testing::HasSubstr;

class CppClientJobs : public LiveSuite<JobsServing> {
 protected:
  void SetUp() override {
    LiveSuite::SetUp();
    client_ = std::make_unique<HttpClient>(server_->url());
  }

  static JobSubmission submission(const std::string& graph, const std::string& queue) {
    JobSubmission s;
    s.config = graph;
    s.config_name = "train.yaml";
    s.queue = queue;
    s.threads = 1;
    s.memory = "256MiB";
    s.priority = -2;
    s.preemptible = true;
    return s;
  }

  /// Polls the job until its state is one of `states` (a hang fails after a minute).
  Job waitFor(std::int64_t id, const std::set<std::string>& states) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      Job job = client_->getJob(id);
      if (states.count(job.state) || std::chrono::steady_clock::now() > deadline) {
        return job;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  /// The queues once `ready(queues)` holds (the scheduler, which GET /api/v1/queues reports,
  /// takes a submission or an edit a moment after its answer; docs/jobs.md "At once"), or after
  /// ten seconds as they are.
  template <typename Ready>
  std::vector<JobQueue> queuesWhen(Ready ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::vector<JobQueue> queues = client_->listQueues();
    while (!ready(queues) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      queues = client_->listQueues();
    }
    return queues;
  }

  static bool holds(const std::vector<Job>& jobs, std::int64_t id) {
    return std::any_of(jobs.begin(), jobs.end(), [id](const Job& j) { return j.id == id; });
  }

  std::unique_ptr<HttpClient> client_;
};

TEST_F(CppClientJobs, SubmitWaitShowListLogAndQueues) {
  Job job = client_->submitJob(submission(jobTrainGraph(2, 16, "store-cpp"), "fast"));
  EXPECT_GT(job.id, 0);
  EXPECT_EQ(job.queue, "fast");
  EXPECT_EQ(job.owner, "anonymous");
  EXPECT_EQ(job.config_name, "train.yaml");
  EXPECT_EQ(job.priority, -2);
  EXPECT_TRUE(job.preemptible);
  EXPECT_EQ(job.resources.threads, 1);
  EXPECT_EQ(job.resources.memory_bytes, 256LL << 20);
  EXPECT_EQ(job.resources.gpus, 0);
  EXPECT_GT(job.submitted_unix_ms, 0);

  Job done = waitFor(job.id, {"succeeded", "failed", "cancelled"});
  ASSERT_EQ(done.state, "succeeded") << done.reason << "\n" << client_->jobLog(job.id);
  EXPECT_EQ(done.attempts, 1);
  ASSERT_EQ(done.runs.size(), 1u);
  EXPECT_GT(done.runs[0], 0);  // a run of the job graph's own store
  EXPECT_GT(done.started_unix_ms, 0);
  EXPECT_GE(done.finished_unix_ms, done.started_unix_ms);
  EXPECT_EQ(done.worker_pid, 0);
  EXPECT_FALSE(done.cancel_requested);

  EXPECT_TRUE(holds(client_->listJobs(), job.id));
  EXPECT_TRUE(holds(client_->listJobs(JobQuery{"succeeded", "fast", ""}), job.id));
  EXPECT_FALSE(holds(client_->listJobs(JobQuery{"", "slow", ""}), job.id));
  EXPECT_TRUE(holds(client_->listJobs(JobQuery{"", "", "anonymous"}), job.id));
  EXPECT_FALSE(holds(client_->listJobs(JobQuery{"", "", "someone-else"}), job.id));

  std::string log = client_->jobLog(job.id);
  EXPECT_THAT(log, HasSubstr("attempt 1 of job " + std::to_string(job.id)));
  EXPECT_THAT(log, HasSubstr("job finished"));
  EXPECT_EQ(client_->jobLog(job.id, 12), log.substr(log.size() - 12));

  std::vector<JobQueue> queues = client_->listQueues();
  ASSERT_EQ(queues.size(), 2u);
  EXPECT_EQ(queues[0].name, "fast");
  EXPECT_EQ(queues[1].name, "slow");
  EXPECT_EQ(queues[0].cohort, "");
  EXPECT_EQ(queues[0].ordering, "fifo");
  EXPECT_EQ(queues[0].nominal.threads, 1);
  EXPECT_EQ(queues[0].nominal.memory_bytes, 1LL << 30);
  EXPECT_FALSE(queues[0].borrowing_limit.has_value());
  EXPECT_EQ(queues[0].max_running, 0);
}

TEST_F(CppClientJobs, CancelStopsAQueuedAndARunningJobAndRefusesAnEndedOne) {
  Job running = client_->submitJob(submission(jobTrainGraph(1000000, 1, "cpp-long"), "slow"));
  Job live = waitFor(running.id, {"running"});
  ASSERT_EQ(live.state, "running");
  // The worker's pid is recorded once its process has started, just after the job runs.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (live.worker_pid == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    live = client_->getJob(running.id);
  }
  EXPECT_GT(live.worker_pid, 0);
  EXPECT_EQ(live.attempts, 1);
  Job queued = client_->submitJob(submission(jobTrainGraph(1000000, 1, "cpp-waits"), "slow"));
  EXPECT_EQ(queued.state, "queued");
  std::vector<JobQueue> queues =
      queuesWhen([](const auto& q) { return q[1].running == 1 && q[1].waiting == 1; });
  EXPECT_EQ(queues[1].running, 1);
  EXPECT_EQ(queues[1].waiting, 1);
  EXPECT_EQ(queues[1].used.threads, 1);

  EXPECT_EQ(client_->cancelJob(queued.id).state, "cancelled");
  EXPECT_EQ(client_->cancelJob(running.id).id, running.id);
  Job ended = waitFor(running.id, {"cancelled", "failed", "succeeded"});
  EXPECT_EQ(ended.state, "cancelled");
  EXPECT_TRUE(holds(client_->listJobs(JobQuery{"cancelled", "", ""}), queued.id));

  Error again = errorOf([&] { client_->cancelJob(running.id); });
  EXPECT_EQ(again.code(), ErrorCode::kHttp);
  EXPECT_EQ(again.status(), 409);
  EXPECT_FALSE(again.message().empty());
}

TEST_F(CppClientJobs, RefusalsAreErrorsWithTheServersStatusAndMessage) {
  JobSubmission bad = submission("nodes:\n  oops: {type: model.sofmax}\n", "fast");
  bad.config_name = "broken.yaml";
  Error refused = errorOf([&] { client_->submitJob(bad); });
  EXPECT_EQ(refused.code(), ErrorCode::kHttp);
  EXPECT_EQ(refused.status(), 400);
  EXPECT_THAT(refused.message(), HasSubstr("broken.yaml:2:"));
  EXPECT_THAT(refused.message(), HasSubstr("model.sofmax"));

  JobSubmission big = submission(jobTrainGraph(1, 16, "cpp-big"), "fast");
  big.threads = 5;
  big.gpus = 0;
  Error too_big = errorOf([&] { client_->submitJob(big); });
  EXPECT_EQ(too_big.status(), 400);
  EXPECT_THAT(too_big.message(), HasSubstr("threads 5"));

  JobSubmission large = submission(jobTrainGraph(1, 16, "cpp-large"), "fast");
  large.memory_bytes = 3LL << 30;
  Error too_large = errorOf([&] { client_->submitJob(large); });
  EXPECT_EQ(too_large.status(), 400);
  EXPECT_THAT(too_large.message(), HasSubstr("memory")) << too_large.message();

  Error no_queue = errorOf([&] { client_->submitJob(submission("nodes: {}\n", "nope")); });
  EXPECT_EQ(no_queue.status(), 404);
  EXPECT_EQ(errorOf([&] { client_->getJob(987654); }).status(), 404);
  EXPECT_EQ(errorOf([&] { client_->jobLog(987654); }).status(), 404);
  EXPECT_EQ(errorOf([&] { client_->cancelJob(987654); }).status(), 404);
}

TEST_F(CppClientJobs, RanksAreSentAndTheNewJobFieldsRead) {
  JobSubmission one = submission(jobTrainGraph(1, 16, "cpp-ranks"), "fast");
  one.ranks = 1;
  Job job = client_->submitJob(one);
  EXPECT_EQ(job.ranks, 1);
  EXPECT_EQ(job.external_id, "");  // launcher: local
  EXPECT_EQ(job.schedule_id, 0);   // submitted directly
  // Two ranks of a thread each are more than queue fast could ever give, which the server can
  // only know when the client sent "ranks".
  one.ranks = 2;
  Error two = errorOf([&] { client_->submitJob(one); });
  EXPECT_EQ(two.code(), ErrorCode::kHttp);
  EXPECT_EQ(two.status(), 400);
  EXPECT_THAT(two.message(), HasSubstr("(2 ranks) but queue 'fast' can give at most"));
  one.ranks = 0;
  EXPECT_THAT(errorOf([&] { client_->submitJob(one); }).message(),
              HasSubstr("'ranks' must be a whole number of at least 1"));
}

TEST_F(CppClientJobs, AnAdminEditsAQueue) {
  JobQueueUpdate update;
  update.max_running = 3;
  update.ordering = "fair_share";
  update.memory_bytes = 2LL << 30;
  update.strict_fifo = true;
  JobQueue edited = client_->updateQueue("slow", update);
  EXPECT_EQ(edited.name, "slow");
  EXPECT_EQ(edited.max_running, 3);
  EXPECT_EQ(edited.ordering, "fair_share");
  EXPECT_EQ(edited.nominal.threads, 1);
  EXPECT_EQ(edited.nominal.memory_bytes, 2LL << 30);
  EXPECT_EQ(queuesWhen([](const auto& q) { return q[1].max_running == 3; })[1].max_running, 3);

  JobQueueUpdate negative;
  negative.max_running = -1;
  Error bad = errorOf([&] { client_->updateQueue("slow", negative); });
  EXPECT_EQ(bad.status(), 400);
  EXPECT_THAT(bad.message(), HasSubstr("'max_running'"));
  JobQueueUpdate borrow;
  borrow.borrow_memory = "1GiB";
  EXPECT_THAT(errorOf([&] { client_->updateQueue("slow", borrow); }).message(),
              HasSubstr("cohort"));
  EXPECT_EQ(errorOf([&] { client_->updateQueue("nope", update); }).status(), 404);
  Error nothing = errorOf([&] { client_->updateQueue("slow", JobQueueUpdate{}); });
  EXPECT_EQ(nothing.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(nothing.message(), HasSubstr("sets no field"));

  JobQueueUpdate restore;
  restore.max_running = 0;
  restore.ordering = "fifo";
  restore.memory = "1GiB";
  restore.strict_fifo = false;
  EXPECT_EQ(client_->updateQueue("slow", restore).ordering, "fifo");
}

TEST_F(CppClientJobs, SchedulesAreCreatedShownListedAndDeleted) {
  JobScheduleSubmission nightly;
  nightly.job = submission(jobTrainGraph(1, 16, "cpp-nightly"), "fast");
  nightly.job.config_name = "nightly.yaml";
  nightly.cron = "15 4 * * mon-fri";
  nightly.overlap = "replace";
  nightly.name = "nightly";
  JobSchedule schedule = client_->createSchedule(nightly);
  EXPECT_GT(schedule.id, 0);
  EXPECT_EQ(schedule.name, "nightly");
  EXPECT_EQ(schedule.cron, "15 4 * * mon-fri");
  EXPECT_EQ(schedule.overlap, "replace");
  EXPECT_EQ(schedule.queue, "fast");
  EXPECT_EQ(schedule.owner, "anonymous");
  EXPECT_EQ(schedule.priority, -2);
  EXPECT_EQ(schedule.resources.memory_bytes, 256LL << 20);
  EXPECT_TRUE(schedule.preemptible);
  EXPECT_EQ(schedule.config_name, "nightly.yaml");
  EXPECT_GT(schedule.created_unix_ms, 0);
  EXPECT_EQ(schedule.next_fire_unix_ms % 86400000, (4 * 60 + 15) * 60000);
  EXPECT_EQ(schedule.last_fire_unix_ms, 0);
  EXPECT_EQ(schedule.last_job, 0);
  EXPECT_EQ(schedule.fires, 0);
  EXPECT_EQ(schedule.skips, 0);
  EXPECT_EQ(client_->getSchedule(schedule.id).name, "nightly");
  std::vector<JobSchedule> all = client_->listSchedules();
  EXPECT_TRUE(std::any_of(all.begin(), all.end(),
                          [&](const JobSchedule& s) { return s.id == schedule.id; }));

  JobScheduleSubmission defaults;
  defaults.job = submission(jobTrainGraph(1, 16, "cpp-daily"), "slow");
  defaults.cron = "@daily";
  JobSchedule daily = client_->createSchedule(defaults);
  EXPECT_EQ(daily.overlap, "skip");
  EXPECT_EQ(daily.name, "");
  EXPECT_EQ(daily.next_fire_unix_ms % 86400000, 0);
  EXPECT_EQ(client_->deleteSchedule(daily.id).id, daily.id);

  JobScheduleSubmission bad = nightly;
  bad.cron = "15 4 * * mun";
  Error refused = errorOf([&] { client_->createSchedule(bad); });
  EXPECT_EQ(refused.code(), ErrorCode::kHttp);
  EXPECT_EQ(refused.status(), 400);
  EXPECT_THAT(refused.message(), HasSubstr("cron field 'day-of-week' (column 10)"));
  bad.cron = "@daily";
  bad.overlap = "sometimes";
  EXPECT_EQ(errorOf([&] { client_->createSchedule(bad); }).status(), 400);

  EXPECT_EQ(client_->deleteSchedule(schedule.id).cron, "15 4 * * mon-fri");
  EXPECT_EQ(errorOf([&] { client_->getSchedule(schedule.id); }).status(), 404);
  EXPECT_EQ(errorOf([&] { client_->deleteSchedule(schedule.id); }).status(), 404);
}

}  // namespace
}  // namespace aimass::client::testing
