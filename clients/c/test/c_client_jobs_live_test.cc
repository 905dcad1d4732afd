// SPDX-License-Identifier: Apache-2.0
// The C client's job service calls against a live `aimass run` serving service.jobs with
// frontend.http: submit, show, list, log, cancel, queues, queue edits, schedules, and the
// server's refusals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "aimass_server.h"
#include "c_api_test_support.h"
#include "live_aimass.h"

namespace aimass::client::testing {
namespace {

using ::testing::HasSubstr;

class CClientJobs : public LiveSuite<JobsServing> {
 protected:
  void SetUp() override {
    LiveSuite::SetUp();
    client_ = makeClient(server_->url());
    ASSERT_TRUE(client_);
  }

  Outcome submit(const std::string& graph, const char* queue, Job& job) {
    Submission s(aimass_client_job_submission_create(graph.c_str()));
    aimass_client_job_submission_set_config_name(s.get(), "train.yaml");
    aimass_client_job_submission_set_queue(s.get(), queue);
    aimass_client_job_submission_set_threads(s.get(), 1);
    aimass_client_job_submission_set_memory(s.get(), "512MiB");
    aimass_client_job_submission_set_priority(s.get(), 3);
    aimass_client_job_submission_set_preemptible(s.get(), 0);
    aimass_client_job* out = nullptr;
    Outcome done = outcome([&](aimass_client_error** e) {
      return aimass_client_submit_job(client_.get(), s.get(), &out, e);
    });
    job.reset(out);
    return done;
  }

  Job get(std::int64_t id) {
    aimass_client_job* out = nullptr;
    Outcome done = outcome(
        [&](aimass_client_error** e) { return aimass_client_get_job(client_.get(), id, &out, e); });
    EXPECT_EQ(done.code, AIMASS_CLIENT_OK) << done.message;
    return Job(out);
  }

  /// Polls the job until its state is one of `states` (a hang fails after a minute).
  Job waitFor(std::int64_t id, const std::set<std::string>& states) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      Job job = get(id);
      if (!job || states.count(aimass_client_job_state(job.get())) ||
          std::chrono::steady_clock::now() > deadline) {
        return job;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  JobList list(const char* state, const char* queue) {
    aimass_client_job_list* out = nullptr;
    Outcome done = outcome([&](aimass_client_error** e) {
      return aimass_client_list_jobs(client_.get(), state, queue, nullptr, &out, e);
    });
    EXPECT_EQ(done.code, AIMASS_CLIENT_OK) << done.message;
    return JobList(out);
  }

  static bool holds(const aimass_client_job_list* list, std::int64_t id) {
    for (std::size_t i = 0; i < aimass_client_job_list_size(list); ++i) {
      if (aimass_client_job_id(aimass_client_job_list_at(list, i)) == id) {
        return true;
      }
    }
    return false;
  }

  Client client_;
};

TEST_F(CClientJobs, SubmitWaitShowListLogAndQueues) {
  Job job;
  Outcome submitted = submit(jobTrainGraph(2, 16, "store-a"), "fast", job);
  ASSERT_EQ(submitted.code, AIMASS_CLIENT_OK) << submitted.message;
  const std::int64_t id = aimass_client_job_id(job.get());
  EXPECT_GT(id, 0);
  EXPECT_EQ(aimass_client_job_queue(job.get()), std::string("fast"));
  EXPECT_EQ(aimass_client_job_owner(job.get()), std::string("anonymous"));
  EXPECT_EQ(aimass_client_job_config_name(job.get()), std::string("train.yaml"));
  EXPECT_EQ(aimass_client_job_priority(job.get()), 3);
  EXPECT_EQ(aimass_client_job_preemptible(job.get()), 0);
  std::int64_t threads = 0, memory = 0, gpus = -1;
  aimass_client_job_resources(job.get(), &threads, &memory, &gpus);
  EXPECT_EQ(threads, 1);
  EXPECT_EQ(memory, 512LL << 20);
  EXPECT_EQ(gpus, 0);
  EXPECT_GT(aimass_client_job_submitted_unix_ms(job.get()), 0);

  Job done = waitFor(id, {"succeeded", "failed", "cancelled"});
  ASSERT_TRUE(done);
  ASSERT_EQ(aimass_client_job_state(done.get()), std::string("succeeded"))
      << aimass_client_job_reason(done.get());
  EXPECT_EQ(aimass_client_job_attempts(done.get()), 1);
  ASSERT_EQ(aimass_client_job_run_count(done.get()), 1u);
  EXPECT_GT(aimass_client_job_run_at(done.get(), 0), 0);
  EXPECT_EQ(aimass_client_job_run_at(done.get(), 1), 0);
  EXPECT_GE(aimass_client_job_finished_unix_ms(done.get()),
            aimass_client_job_started_unix_ms(done.get()));
  EXPECT_GT(aimass_client_job_started_unix_ms(done.get()), 0);
  EXPECT_EQ(aimass_client_job_worker_pid(done.get()), 0);
  EXPECT_EQ(aimass_client_job_cancel_requested(done.get()), 0);

  EXPECT_TRUE(holds(list(nullptr, nullptr).get(), id));
  EXPECT_TRUE(holds(list("succeeded", "fast").get(), id));
  EXPECT_FALSE(holds(list("succeeded", "slow").get(), id));
  EXPECT_FALSE(holds(list("queued", nullptr).get(), id));

  char* log = nullptr;
  std::size_t size = 0;
  Outcome logged = outcome([&](aimass_client_error** e) {
    return aimass_client_job_log(client_.get(), id, 0, &log, &size, e);
  });
  ASSERT_EQ(logged.code, AIMASS_CLIENT_OK) << logged.message;
  std::string text(log, size);
  aimass_client_text_free(log);
  EXPECT_THAT(text, HasSubstr("attempt 1 of job " + std::to_string(id)));
  EXPECT_THAT(text, HasSubstr("job finished"));
  Outcome tail = outcome([&](aimass_client_error** e) {
    return aimass_client_job_log(client_.get(), id, 10, &log, &size, e);
  });
  ASSERT_EQ(tail.code, AIMASS_CLIENT_OK) << tail.message;
  EXPECT_EQ(size, 10u);
  EXPECT_EQ(std::string(log, size), text.substr(text.size() - 10));
  aimass_client_text_free(log);

  aimass_client_queue_list* queues = nullptr;
  Outcome listed = outcome([&](aimass_client_error** e) {
    return aimass_client_list_queues(client_.get(), &queues, e);
  });
  ASSERT_EQ(listed.code, AIMASS_CLIENT_OK) << listed.message;
  ASSERT_EQ(aimass_client_queue_list_size(queues), 2u);
  const aimass_client_queue* fast = aimass_client_queue_list_at(queues, 0);
  EXPECT_EQ(aimass_client_queue_name(fast), std::string("fast"));
  EXPECT_EQ(aimass_client_queue_name(aimass_client_queue_list_at(queues, 1)), std::string("slow"));
  EXPECT_EQ(aimass_client_queue_list_at(queues, 2), nullptr);
  EXPECT_EQ(aimass_client_queue_cohort(fast), std::string());
  EXPECT_EQ(aimass_client_queue_ordering(fast), std::string("fifo"));
  EXPECT_EQ(
      aimass_client_queue_resources(fast, AIMASS_CLIENT_QUEUE_NOMINAL, &threads, &memory, &gpus),
      1);
  EXPECT_EQ(threads, 1);
  EXPECT_EQ(memory, 1LL << 30);
  EXPECT_EQ(aimass_client_queue_resources(fast, AIMASS_CLIENT_QUEUE_BORROWING_LIMIT, nullptr,
                                          nullptr, nullptr),
            0);
  EXPECT_EQ(
      aimass_client_queue_resources(fast, AIMASS_CLIENT_QUEUE_USED, &threads, nullptr, nullptr), 1);
  EXPECT_EQ(aimass_client_queue_max_running(fast), 0);
  EXPECT_GE(aimass_client_queue_waiting(fast), 0);
  EXPECT_GE(aimass_client_queue_running(fast), 0);
  aimass_client_queue_list_free(queues);
}

TEST_F(CClientJobs, CancelStopsAQueuedAndARunningJobAndRefusesAnEndedOne) {
  Job running, queued;
  ASSERT_EQ(submit(jobTrainGraph(1000000, 1, "store-long"), "slow", running).code,
            AIMASS_CLIENT_OK);
  const std::int64_t first = aimass_client_job_id(running.get());
  Job live = waitFor(first, {"running"});
  ASSERT_EQ(aimass_client_job_state(live.get()), std::string("running"));
  // The worker's pid is recorded once its process has started, just after the job runs.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (aimass_client_job_worker_pid(live.get()) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    live = get(first);
  }
  EXPECT_GT(aimass_client_job_worker_pid(live.get()), 0);
  ASSERT_EQ(submit(jobTrainGraph(1000000, 1, "store-waits"), "slow", queued).code,
            AIMASS_CLIENT_OK);
  const std::int64_t second = aimass_client_job_id(queued.get());
  EXPECT_EQ(aimass_client_job_state(queued.get()), std::string("queued"));

  aimass_client_job* out = nullptr;
  Outcome cancelled = outcome([&](aimass_client_error** e) {
    return aimass_client_cancel_job(client_.get(), second, &out, e);
  });
  ASSERT_EQ(cancelled.code, AIMASS_CLIENT_OK) << cancelled.message;
  EXPECT_EQ(aimass_client_job_state(out), std::string("cancelled"));
  aimass_client_job_free(out);

  Outcome stopping = outcome([&](aimass_client_error** e) {
    return aimass_client_cancel_job(client_.get(), first, &out, e);
  });
  ASSERT_EQ(stopping.code, AIMASS_CLIENT_OK) << stopping.message;
  EXPECT_EQ(aimass_client_job_id(out), first);
  aimass_client_job_free(out);
  Job ended = waitFor(first, {"cancelled", "failed", "succeeded"});
  EXPECT_EQ(aimass_client_job_state(ended.get()), std::string("cancelled"));

  Outcome again = outcome([&](aimass_client_error** e) {
    return aimass_client_cancel_job(client_.get(), first, &out, e);
  });
  EXPECT_EQ(again.code, AIMASS_CLIENT_HTTP);
  EXPECT_EQ(again.status, 409);
  EXPECT_FALSE(again.message.empty());
  EXPECT_EQ(out, nullptr);
  EXPECT_TRUE(holds(list("cancelled", "slow").get(), second));
}

TEST_F(CClientJobs, RefusalsCarryTheServersStatusAndMessage) {
  Job job;
  Outcome bad = submit("nodes:\n  oops: {type: model.sofmax}\n", "fast", job);
  EXPECT_EQ(bad.code, AIMASS_CLIENT_HTTP);
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.message, HasSubstr("train.yaml:2:"));
  EXPECT_THAT(bad.message, HasSubstr("model.sofmax"));
  EXPECT_EQ(job, nullptr);

  Outcome unknown_queue = submit(jobTrainGraph(1, 16, "store-x"), "nope", job);
  EXPECT_EQ(unknown_queue.status, 404);
  EXPECT_THAT(unknown_queue.message, HasSubstr("no queue named 'nope'"));

  aimass_client_job* out = nullptr;
  Outcome missing = outcome([&](aimass_client_error** e) {
    return aimass_client_get_job(client_.get(), 987654, &out, e);
  });
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(out, nullptr);
  char* log = nullptr;
  Outcome no_log = outcome([&](aimass_client_error** e) {
    return aimass_client_job_log(client_.get(), 987654, 0, &log, nullptr, e);
  });
  EXPECT_EQ(no_log.status, 404);
  EXPECT_EQ(log, nullptr);

  Outcome no_submission = outcome([&](aimass_client_error** e) {
    return aimass_client_submit_job(client_.get(), nullptr, &out, e);
  });
  EXPECT_EQ(no_submission.code, AIMASS_CLIENT_INVALID_ARGUMENT);
  EXPECT_EQ(aimass_client_job_submission_create(nullptr), nullptr);
  EXPECT_EQ(aimass_client_job_state(nullptr), std::string());
}

TEST_F(CClientJobs, RanksAreSentAndTheNewJobFieldsRead) {
  Submission one(aimass_client_job_submission_create(jobTrainGraph(1, 16, "store-r").c_str()));
  ASSERT_EQ(aimass_client_job_submission_set_ranks(one.get(), 1), AIMASS_CLIENT_OK);
  ASSERT_EQ(aimass_client_job_submission_set_queue(one.get(), "fast"), AIMASS_CLIENT_OK);
  aimass_client_job* out = nullptr;
  Outcome submitted = outcome([&](aimass_client_error** e) {
    return aimass_client_submit_job(client_.get(), one.get(), &out, e);
  });
  ASSERT_EQ(submitted.code, AIMASS_CLIENT_OK) << submitted.message;
  Job job(out);
  EXPECT_EQ(aimass_client_job_ranks(job.get()), 1);
  EXPECT_EQ(aimass_client_job_external_id(job.get()), std::string());  // launcher: local
  EXPECT_EQ(aimass_client_job_schedule_id(job.get()), 0);              // submitted directly

  // Two ranks of a thread and 1GiB each are more than queue fast could ever give, which the
  // server can only know when the client sent "ranks".
  ASSERT_EQ(aimass_client_job_submission_set_ranks(one.get(), 2), AIMASS_CLIENT_OK);
  Outcome two = outcome([&](aimass_client_error** e) {
    return aimass_client_submit_job(client_.get(), one.get(), &out, e);
  });
  EXPECT_EQ(two.code, AIMASS_CLIENT_HTTP);
  EXPECT_EQ(two.status, 400);
  EXPECT_THAT(two.message, HasSubstr("(2 ranks) but queue 'fast' can give at most"));
  EXPECT_EQ(out, nullptr);
  Outcome zero = outcome([&](aimass_client_error** e) {
    aimass_client_job_submission_set_ranks(one.get(), 0);
    return aimass_client_submit_job(client_.get(), one.get(), &out, e);
  });
  EXPECT_EQ(zero.status, 400);
  EXPECT_THAT(zero.message, HasSubstr("'ranks' must be a whole number of at least 1"));
  EXPECT_EQ(aimass_client_job_submission_set_ranks(nullptr, 1), AIMASS_CLIENT_INVALID_ARGUMENT);
  EXPECT_EQ(aimass_client_job_ranks(nullptr), 0);
  EXPECT_EQ(aimass_client_job_external_id(nullptr), std::string());
}

TEST_F(CClientJobs, AnAdminEditsAQueue) {
  QueueUpdate update(aimass_client_queue_update_create());
  ASSERT_TRUE(update);
  ASSERT_EQ(aimass_client_queue_update_set_max_running(update.get(), 4), AIMASS_CLIENT_OK);
  ASSERT_EQ(aimass_client_queue_update_set_ordering(update.get(), "fair_share"), AIMASS_CLIENT_OK);
  ASSERT_EQ(aimass_client_queue_update_set_memory(update.get(), "2GiB"), AIMASS_CLIENT_OK);
  ASSERT_EQ(aimass_client_queue_update_set_strict_fifo(update.get(), 1), AIMASS_CLIENT_OK);
  aimass_client_queue* out = nullptr;
  Outcome edited = outcome([&](aimass_client_error** e) {
    return aimass_client_update_queue(client_.get(), "slow", update.get(), &out, e);
  });
  ASSERT_EQ(edited.code, AIMASS_CLIENT_OK) << edited.message;
  Queue queue(out);
  EXPECT_EQ(aimass_client_queue_name(queue.get()), std::string("slow"));
  EXPECT_EQ(aimass_client_queue_max_running(queue.get()), 4);
  EXPECT_EQ(aimass_client_queue_ordering(queue.get()), std::string("fair_share"));
  std::int64_t threads = 0, memory = 0;
  ASSERT_EQ(aimass_client_queue_resources(queue.get(), AIMASS_CLIENT_QUEUE_NOMINAL, &threads,
                                          &memory, nullptr),
            1);
  EXPECT_EQ(threads, 1);
  EXPECT_EQ(memory, 2LL << 30);

  // The server's refusals: a bad value (400), a limit a queue without a cohort cannot have, an
  // unknown queue (404); an update that sets nothing is refused before it is sent.
  QueueUpdate bad(aimass_client_queue_update_create());
  aimass_client_queue_update_set_max_running(bad.get(), -1);
  Outcome negative = outcome([&](aimass_client_error** e) {
    return aimass_client_update_queue(client_.get(), "slow", bad.get(), &out, e);
  });
  EXPECT_EQ(negative.status, 400);
  EXPECT_THAT(negative.message, HasSubstr("'max_running'"));
  EXPECT_EQ(out, nullptr);
  QueueUpdate borrow(aimass_client_queue_update_create());
  aimass_client_queue_update_set_borrow_threads(borrow.get(), 2);
  Outcome no_cohort = outcome([&](aimass_client_error** e) {
    return aimass_client_update_queue(client_.get(), "slow", borrow.get(), &out, e);
  });
  EXPECT_EQ(no_cohort.code, AIMASS_CLIENT_HTTP);
  EXPECT_THAT(no_cohort.message, HasSubstr("cohort"));
  Outcome unknown = outcome([&](aimass_client_error** e) {
    return aimass_client_update_queue(client_.get(), "nope", update.get(), &out, e);
  });
  EXPECT_EQ(unknown.status, 404);
  QueueUpdate empty(aimass_client_queue_update_create());
  Outcome nothing = outcome([&](aimass_client_error** e) {
    return aimass_client_update_queue(client_.get(), "slow", empty.get(), &out, e);
  });
  EXPECT_EQ(nothing.code, AIMASS_CLIENT_INVALID_ARGUMENT);
  EXPECT_THAT(nothing.message, HasSubstr("sets no field"));
  EXPECT_EQ(aimass_client_queue_update_set_threads(nullptr, 1), AIMASS_CLIENT_INVALID_ARGUMENT);

  QueueUpdate restore(aimass_client_queue_update_create());
  aimass_client_queue_update_set_max_running(restore.get(), 0);
  aimass_client_queue_update_set_ordering(restore.get(), "fifo");
  aimass_client_queue_update_set_memory_bytes(restore.get(), 1LL << 30);
  aimass_client_queue_update_set_strict_fifo(restore.get(), 0);
  Outcome restored = outcome([&](aimass_client_error** e) {
    return aimass_client_update_queue(client_.get(), "slow", restore.get(), &out, e);
  });
  ASSERT_EQ(restored.code, AIMASS_CLIENT_OK) << restored.message;
  EXPECT_EQ(aimass_client_queue_max_running(out), 0);
  EXPECT_EQ(aimass_client_queue_ordering(out), std::string("fifo"));
  aimass_client_queue_free(out);
}

TEST_F(CClientJobs, SchedulesAreCreatedShownListedAndDeleted) {
  Submission job(aimass_client_job_submission_create(jobTrainGraph(1, 16, "store-s").c_str()));
  aimass_client_job_submission_set_config_name(job.get(), "nightly.yaml");
  aimass_client_job_submission_set_queue(job.get(), "fast");
  aimass_client_job_submission_set_priority(job.get(), 2);
  aimass_client_job_submission_set_memory_bytes(job.get(), 256LL << 20);
  aimass_client_job_submission_set_preemptible(job.get(), 1);
  aimass_client_schedule* out = nullptr;
  Outcome created = outcome([&](aimass_client_error** e) {
    return aimass_client_create_schedule(client_.get(), job.get(), "15 4 * * mon-fri", "queue",
                                         "nightly", &out, e);
  });
  ASSERT_EQ(created.code, AIMASS_CLIENT_OK) << created.message;
  Schedule schedule(out);
  const std::int64_t id = aimass_client_schedule_id(schedule.get());
  EXPECT_GT(id, 0);
  EXPECT_EQ(aimass_client_schedule_name(schedule.get()), std::string("nightly"));
  EXPECT_EQ(aimass_client_schedule_cron(schedule.get()), std::string("15 4 * * mon-fri"));
  EXPECT_EQ(aimass_client_schedule_overlap(schedule.get()), std::string("queue"));
  EXPECT_EQ(aimass_client_schedule_queue(schedule.get()), std::string("fast"));
  EXPECT_EQ(aimass_client_schedule_owner(schedule.get()), std::string("anonymous"));
  EXPECT_EQ(aimass_client_schedule_priority(schedule.get()), 2);
  std::int64_t threads = 0, memory = 0, gpus = -1;
  aimass_client_schedule_resources(schedule.get(), &threads, &memory, &gpus);
  EXPECT_EQ(threads, 1);
  EXPECT_EQ(memory, 256LL << 20);
  EXPECT_EQ(gpus, 0);
  EXPECT_EQ(aimass_client_schedule_preemptible(schedule.get()), 1);
  EXPECT_EQ(aimass_client_schedule_config_name(schedule.get()), std::string("nightly.yaml"));
  EXPECT_GT(aimass_client_schedule_created_unix_ms(schedule.get()), 0);
  EXPECT_EQ(aimass_client_schedule_next_fire_unix_ms(schedule.get()) % 86400000,
            (4 * 60 + 15) * 60000);
  EXPECT_EQ(aimass_client_schedule_last_fire_unix_ms(schedule.get()), 0);
  EXPECT_EQ(aimass_client_schedule_last_job(schedule.get()), 0);
  EXPECT_EQ(aimass_client_schedule_fires(schedule.get()), 0);
  EXPECT_EQ(aimass_client_schedule_skips(schedule.get()), 0);

  Outcome shown = outcome([&](aimass_client_error** e) {
    return aimass_client_get_schedule(client_.get(), id, &out, e);
  });
  ASSERT_EQ(shown.code, AIMASS_CLIENT_OK) << shown.message;
  EXPECT_EQ(aimass_client_schedule_cron(out), std::string("15 4 * * mon-fri"));
  aimass_client_schedule_free(out);
  aimass_client_schedule_list* list = nullptr;
  Outcome listed = outcome([&](aimass_client_error** e) {
    return aimass_client_list_schedules(client_.get(), &list, e);
  });
  ASSERT_EQ(listed.code, AIMASS_CLIENT_OK) << listed.message;
  bool found = false;
  for (std::size_t i = 0; i < aimass_client_schedule_list_size(list); ++i) {
    found = found || aimass_client_schedule_id(aimass_client_schedule_list_at(list, i)) == id;
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(aimass_client_schedule_list_at(list, aimass_client_schedule_list_size(list)), nullptr);
  aimass_client_schedule_list_free(list);

  Outcome bad_cron = outcome([&](aimass_client_error** e) {
    return aimass_client_create_schedule(client_.get(), job.get(), "15 4 * * mun", nullptr, nullptr,
                                         &out, e);
  });
  EXPECT_EQ(bad_cron.status, 400);
  EXPECT_THAT(bad_cron.message, HasSubstr("cron field 'day-of-week' (column 10)"));
  EXPECT_EQ(out, nullptr);
  Outcome bad_overlap = outcome([&](aimass_client_error** e) {
    return aimass_client_create_schedule(client_.get(), job.get(), "@daily", "sometimes", nullptr,
                                         &out, e);
  });
  EXPECT_EQ(bad_overlap.status, 400);
  EXPECT_THAT(bad_overlap.message, HasSubstr("sometimes"));
  Outcome no_cron = outcome([&](aimass_client_error** e) {
    return aimass_client_create_schedule(client_.get(), job.get(), nullptr, nullptr, nullptr, &out,
                                         e);
  });
  EXPECT_EQ(no_cron.code, AIMASS_CLIENT_INVALID_ARGUMENT);

  Outcome deleted = outcome([&](aimass_client_error** e) {
    return aimass_client_delete_schedule(client_.get(), id, &out, e);
  });
  ASSERT_EQ(deleted.code, AIMASS_CLIENT_OK) << deleted.message;
  EXPECT_EQ(aimass_client_schedule_id(out), id);
  aimass_client_schedule_free(out);
  Outcome gone = outcome([&](aimass_client_error** e) {
    return aimass_client_get_schedule(client_.get(), id, &out, e);
  });
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(out, nullptr);
  Outcome again = outcome([&](aimass_client_error** e) {
    return aimass_client_delete_schedule(client_.get(), id, nullptr, e);
  });
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(aimass_client_schedule_cron(nullptr), std::string());
}

}  // namespace
}  // namespace aimass::client::testing
