// SPDX-License-Identifier: Apache-2.0
// The job service's admission logic (core/src/jobs/job_scheduler.h): quotas, cohorts and
// borrowing, reclaim by preemption, ordering; and a property test that checks, after every event
// of random submission streams, that the running set never exceeds the machine or any quota and
// that nothing that fits is left waiting.
#include "jobs/job_scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace aimass::core::jobs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::int64_t kGiB = 1024LL * 1024 * 1024;

Resources threads(std::int64_t n, std::int64_t memory = 0, std::int64_t gpus = 0) {
  return {n, memory, gpus};
}

QueueSpec queue(std::string name, Resources nominal, std::string cohort = "") {
  QueueSpec spec;
  spec.name = std::move(name);
  spec.nominal = nominal;
  spec.cohort = std::move(cohort);
  return spec;
}

template <typename Field, typename Value>
QueueSpec with(QueueSpec spec, Field QueueSpec::*field, Value value) {
  spec.*field = value;
  return spec;
}

JobRequest job(std::int64_t id, std::string queue, Resources resources, std::int64_t priority = 0,
               std::string owner = "") {
  JobRequest request;
  request.id = id;
  request.queue = std::move(queue);
  request.resources = resources;
  request.priority = priority;
  request.owner = std::move(owner);
  return request;
}

std::vector<std::int64_t> started(const std::vector<Decision>& decisions) {
  std::vector<std::int64_t> ids;
  for (const Decision& d : decisions) {
    if (d.kind == Decision::Kind::kStart) ids.push_back(d.job);
  }
  return ids;
}

std::vector<std::int64_t> preempted(const std::vector<Decision>& decisions) {
  std::vector<std::int64_t> ids;
  for (const Decision& d : decisions) {
    if (d.kind == Decision::Kind::kPreempt) ids.push_back(d.job);
  }
  return ids;
}

TEST(JobScheduler, RefusesWhatCouldNeverRunWithTheNumbers) {
  JobScheduler scheduler(threads(8, 16 * kGiB));
  ASSERT_TRUE(scheduler.addQueue(queue("team", threads(4, 8 * kGiB))).ok());
  Status status = scheduler.submit(job(1, "team", threads(6, 1 * kGiB)));
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("threads 6, memory 1024 MiB"));
  EXPECT_THAT(status.message(), HasSubstr("at most threads 4, memory 8192 MiB, gpus 0"));
  EXPECT_EQ(scheduler.submit(job(2, "nope", threads(1))).code(), StatusCode::kNotFound);
  EXPECT_EQ(scheduler.submit(job(3, "team", threads(-1))).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(scheduler.submit(job(4, "team", threads(4))).ok());
  EXPECT_EQ(scheduler.submit(job(4, "team", threads(1))).code(), StatusCode::kAlreadyExists);
}

TEST(JobScheduler, ChecksQueues) {
  JobScheduler scheduler(threads(8));
  ASSERT_TRUE(scheduler.addQueue(queue("a", threads(2))).ok());
  EXPECT_THAT(scheduler.addQueue(queue("a", Resources{})).message(), HasSubstr("queue 'a' is defined twice"));
  EXPECT_THAT(scheduler.addQueue(with(queue("b", Resources{}), &QueueSpec::borrowing_limit, threads(1))).message(),
              HasSubstr("queue 'b': a borrowing limit needs a cohort"));
  EXPECT_THAT(scheduler.addQueue(queue("c", threads(-2))).message(),
              HasSubstr("queue 'c': negative quota"));
  EXPECT_EQ(scheduler.addQueue(queue("", Resources{})).code(), StatusCode::kInvalidArgument);
}

TEST(JobScheduler, HigherPriorityFirstThenSubmissionOrder) {
  JobScheduler scheduler(threads(8));
  ASSERT_TRUE(scheduler.addQueue(queue("q", threads(1))).ok());
  ASSERT_TRUE(scheduler.submit(job(1, "q", threads(1), 0)).ok());
  ASSERT_TRUE(scheduler.submit(job(2, "q", threads(1), 5)).ok());
  ASSERT_TRUE(scheduler.submit(job(3, "q", threads(1), 5)).ok());
  EXPECT_THAT(scheduler.waiting("q"), ElementsAre(2, 3, 1));
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(2));
  ASSERT_TRUE(scheduler.remove(2).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(3));
  ASSERT_TRUE(scheduler.remove(3).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(1));
}

TEST(JobScheduler, BorrowsUnusedQuotaAndPreemptsToTakeItBack) {
  JobScheduler scheduler(threads(4));
  ASSERT_TRUE(scheduler.addQueue(queue("a", threads(2), "lab")).ok());
  ASSERT_TRUE(scheduler.addQueue(queue("b", threads(2), "lab")).ok());
  for (int id = 1; id <= 4; ++id) ASSERT_TRUE(scheduler.submit(job(id, "a", threads(1))).ok());
  const std::vector<Decision> first = scheduler.schedule();
  EXPECT_THAT(started(first), ElementsAre(1, 2, 3, 4));
  EXPECT_FALSE(first[1].borrowing);
  EXPECT_TRUE(first[2].borrowing);
  EXPECT_EQ(scheduler.usage("a"), threads(4));

  // b needs its own quota back: a's two latest jobs give way. b's job starts once they have
  // stopped (their resources count until then), and they wait again in their old place.
  ASSERT_TRUE(scheduler.submit(job(5, "b", threads(2))).ok());
  const std::vector<Decision> second = scheduler.schedule();
  EXPECT_THAT(preempted(second), ElementsAre(4, 3));
  EXPECT_THAT(started(second), ElementsAre());
  EXPECT_EQ(scheduler.place(3), JobPlace::kStopping);
  EXPECT_EQ(scheduler.used(), threads(4));
  EXPECT_TRUE(scheduler.schedule().empty());  // nothing more to preempt while they stop
  ASSERT_TRUE(scheduler.stopped(4).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre());
  ASSERT_TRUE(scheduler.stopped(3).ok());
  EXPECT_EQ(scheduler.stopped(3).code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(5));
  EXPECT_THAT(scheduler.waiting("a"), ElementsAre(3, 4));
  ASSERT_TRUE(scheduler.remove(5).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(3, 4));
}

TEST(JobScheduler, PreemptsTheLeastImportantBorrowerAndSparesNonPreemptibleJobs) {
  JobScheduler scheduler(threads(4));
  ASSERT_TRUE(scheduler.addQueue(queue("a", threads(1), "lab")).ok());
  ASSERT_TRUE(scheduler.addQueue(queue("b", threads(3), "lab")).ok());
  JobRequest pinned = job(1, "a", threads(1), 0);
  ASSERT_TRUE(scheduler.submit(pinned).ok());
  ASSERT_TRUE(scheduler.submit(job(2, "a", threads(1), 9)).ok());
  JobRequest keep = job(3, "a", threads(1), 1);
  keep.preemptible = false;
  ASSERT_TRUE(scheduler.submit(keep).ok());
  ASSERT_TRUE(scheduler.submit(job(4, "a", threads(1), 1)).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(2, 3, 4, 1));
  ASSERT_TRUE(scheduler.submit(job(5, "b", threads(2))).ok());
  // Job 1 (priority 0) and job 4 (priority 1, started after 3) go; 3 may not be preempted.
  EXPECT_THAT(preempted(scheduler.schedule()), ElementsAre(1, 4));
  EXPECT_EQ(scheduler.place(3), JobPlace::kRunning);
}

TEST(JobScheduler, NeverPreemptsForAJobThatWouldBorrow) {
  JobScheduler scheduler(threads(4));
  ASSERT_TRUE(scheduler.addQueue(queue("a", threads(2), "lab")).ok());
  ASSERT_TRUE(scheduler.addQueue(queue("b", threads(2), "lab")).ok());
  ASSERT_TRUE(scheduler.submit(job(1, "a", threads(3))).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(1));
  ASSERT_TRUE(scheduler.submit(job(2, "b", threads(1))).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(2));
  // b holds 1 of its 2 threads; a 2-thread job of b's would borrow: it waits, a keeps running.
  ASSERT_TRUE(scheduler.submit(job(3, "b", threads(2))).ok());
  EXPECT_TRUE(scheduler.schedule().empty());
  EXPECT_EQ(scheduler.place(1), JobPlace::kRunning);
  // A 1-thread job of b's is within b's quota: a gives its borrowed thread back.
  ASSERT_TRUE(scheduler.remove(3).ok());
  ASSERT_TRUE(scheduler.submit(job(4, "b", threads(1))).ok());
  EXPECT_THAT(preempted(scheduler.schedule()), ElementsAre(1));
  ASSERT_TRUE(scheduler.stopped(1).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(4));
}

TEST(JobScheduler, BorrowingLimitCapsWhatAQueueTakes) {
  JobScheduler scheduler(threads(16));
  ASSERT_TRUE(scheduler
                  .addQueue(with(queue("a", threads(2), "lab"), &QueueSpec::borrowing_limit, threads(1)))
                  .ok());
  ASSERT_TRUE(scheduler.addQueue(queue("b", threads(6), "lab")).ok());
  EXPECT_EQ(scheduler.largestAdmissible("a"), threads(3));
  EXPECT_EQ(scheduler.largestAdmissible("b"), threads(8));
  for (int id = 1; id <= 5; ++id) ASSERT_TRUE(scheduler.submit(job(id, "a", threads(1))).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(1, 2, 3));
}

TEST(JobScheduler, TheMachineBoundsEveryQueue) {
  JobScheduler scheduler(threads(2, 4 * kGiB));
  ASSERT_TRUE(scheduler.addQueue(queue("a", threads(8, 64 * kGiB))).ok());
  EXPECT_EQ(scheduler.largestAdmissible("a"), threads(2, 4 * kGiB));
  ASSERT_TRUE(scheduler.submit(job(1, "a", threads(1, 3 * kGiB))).ok());
  ASSERT_TRUE(scheduler.submit(job(2, "a", threads(1, 2 * kGiB))).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(1));
  EXPECT_EQ(scheduler.used(), threads(1, 3 * kGiB));
}

TEST(JobScheduler, FairShareTakesTheOwnerWithTheLeastInUse) {
  JobScheduler scheduler(threads(8));
  ASSERT_TRUE(scheduler
                  .addQueue(with(queue("q", threads(3)), &QueueSpec::ordering, Ordering::kFairShare))
                  .ok());
  ASSERT_TRUE(scheduler.submit(job(1, "q", threads(1), 0, "alice")).ok());
  ASSERT_TRUE(scheduler.submit(job(2, "q", threads(1), 0, "alice")).ok());
  ASSERT_TRUE(scheduler.submit(job(3, "q", threads(1), 0, "alice")).ok());
  ASSERT_TRUE(scheduler.submit(job(4, "q", threads(1), 0, "bob")).ok());
  ASSERT_TRUE(scheduler.submit(job(5, "q", threads(1), 0, "bob")).ok());
  // alice, then bob (alice holds a third), then alice and bob tie at a third: submission order.
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(1, 4, 2));
  // bob's job ends: bob holds nothing, alice two thirds, so bob's next job goes first.
  ASSERT_TRUE(scheduler.remove(4).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(5));
}

TEST(JobScheduler, StrictFifoBlocksSmallerJobsBehindALargeOne) {
  for (const bool strict : {true, false}) {
    JobScheduler scheduler(threads(4));
    ASSERT_TRUE(
        scheduler.addQueue(with(queue("q", threads(4)), &QueueSpec::strict_fifo, strict)).ok());
    ASSERT_TRUE(scheduler.submit(job(1, "q", threads(2))).ok());
    ASSERT_TRUE(scheduler.submit(job(2, "q", threads(4))).ok());
    ASSERT_TRUE(scheduler.submit(job(3, "q", threads(1))).ok());
    if (strict) {
      EXPECT_THAT(started(scheduler.schedule()), ElementsAre(1));
    } else {
      EXPECT_THAT(started(scheduler.schedule()), ElementsAre(1, 3));
    }
  }
}

TEST(JobScheduler, MaxRunningLimitsConcurrentJobs) {
  JobScheduler scheduler(threads(8));
  ASSERT_TRUE(scheduler.addQueue(with(queue("q", threads(8)), &QueueSpec::max_running, 2)).ok());
  for (int id = 1; id <= 4; ++id) ASSERT_TRUE(scheduler.submit(job(id, "q", threads(1))).ok());
  EXPECT_THAT(started(scheduler.schedule()), ElementsAre(1, 2));
  EXPECT_EQ(scheduler.runningCount("q"), 2);
}

// ---- The property test ----------------------------------------------------------------------

// The bounds, written again from the definitions rather than with the scheduler's code.
struct Bounds {
  Resources capacity;
  std::vector<QueueSpec> queues;

  // An empty string when `running` respects every bound, otherwise what it breaks.
  std::string violation(const std::vector<JobRequest>& running) const {
    Resources total;
    std::map<std::string, Resources> by_queue;
    std::map<std::string, std::int64_t> count;
    for (const JobRequest& r : running) {
      total += r.resources;
      by_queue[r.queue] += r.resources;
      ++count[r.queue];
    }
    if (!total.fitsIn(capacity)) return "machine over capacity: " + total.toString();
    std::map<std::string, Resources> cohort_use, cohort_nominal;
    for (const QueueSpec& q : queues) {
      const Resources use = by_queue[q.name];
      if (q.max_running != 0 && count[q.name] > q.max_running) return q.name + " runs too many";
      if (q.cohort.empty()) {
        if (!use.fitsIn(q.nominal)) return q.name + " over its quota: " + use.toString();
        continue;
      }
      cohort_use[q.cohort] += use;
      cohort_nominal[q.cohort] += q.nominal;
      if (q.borrowing_limit && !use.fitsIn(q.nominal + *q.borrowing_limit)) {
        return q.name + " borrows over its limit: " + use.toString();
      }
    }
    for (const auto& [cohort, use] : cohort_use) {
      if (!use.fitsIn(cohort_nominal[cohort])) return "cohort " + cohort + " over its quota";
    }
    return "";
  }
};

class RandomStream {
 public:
  explicit RandomStream(std::uint32_t seed) : random_(seed) {}
  std::int64_t pick(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(random_);
  }
  template <typename T>
  const T& any(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(items.size()) - 1))];
  }

 private:
  std::mt19937 random_;
};

Bounds randomSetup(RandomStream& random) {
  Bounds bounds;
  bounds.capacity = {random.pick(4, 12), random.pick(8, 32) * kGiB, random.pick(0, 2)};
  const std::int64_t queues = random.pick(2, 5);
  for (std::int64_t i = 0; i < queues; ++i) {
    QueueSpec q;
    q.name = "q" + std::to_string(i);
    q.cohort = random.pick(0, 3) == 0 ? "" : "c" + std::to_string(random.pick(0, 1));
    q.nominal = {random.pick(1, 6), random.pick(2, 16) * kGiB, random.pick(0, 1)};
    if (!q.cohort.empty() && random.pick(0, 1) == 0) {
      q.borrowing_limit = Resources{random.pick(0, 4), random.pick(0, 8) * kGiB, random.pick(0, 1)};
    }
    q.max_running = random.pick(0, 2) == 0 ? random.pick(1, 4) : 0;
    q.ordering = random.pick(0, 1) == 0 ? Ordering::kFifo : Ordering::kFairShare;
    bounds.queues.push_back(q);
  }
  return bounds;
}

// After schedule(): no waiting job (other than one preempted in that call) could start now;
// stopping jobs count as running.
void expectNothingThatFitsIsLeft(const JobScheduler& scheduler, const Bounds& bounds,
                                 const std::set<std::int64_t>& preempted_now) {
  std::vector<JobRequest> running;
  for (std::int64_t id : scheduler.running()) running.push_back(*scheduler.job(id));
  for (const QueueSpec& q : bounds.queues) {
    for (std::int64_t id : scheduler.waiting(q.name)) {
      if (preempted_now.count(id) != 0) continue;
      const JobRequest& request = *scheduler.job(id);
      // While a job waits for preempted jobs to stop, jobs that would borrow wait too.
      if (scheduler.reclaimPending() &&
          !(scheduler.usage(q.name) + request.resources).fitsIn(q.nominal)) {
        continue;
      }
      std::vector<JobRequest> with = running;
      with.push_back(request);
      EXPECT_NE(bounds.violation(with), "") << "job " << id << " of " << q.name
                                           << " fits but was left waiting";
    }
  }
}

TEST(JobSchedulerProperty, QuotasNeverExceededUnderRandomStreams) {
  int preemptions = 0, borrowed_starts = 0;
  for (std::uint32_t seed = 0; seed < 60; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStream random(seed);
    const Bounds bounds = randomSetup(random);
    JobScheduler scheduler(bounds.capacity);
    std::vector<std::string> names;
    for (const QueueSpec& q : bounds.queues) {
      ASSERT_TRUE(scheduler.addQueue(q).ok());
      names.push_back(q.name);
    }
    std::int64_t next_id = 1;
    for (int event = 0; event < 400; ++event) {
      const std::int64_t what = random.pick(0, 9);
      std::vector<std::int64_t> running = scheduler.running();
      std::vector<std::int64_t> stopping;
      for (std::int64_t id : running) {
        if (scheduler.place(id) == JobPlace::kStopping) stopping.push_back(id);
      }
      if (what >= 8 && !stopping.empty()) {
        ASSERT_TRUE(scheduler.stopped(random.any(stopping)).ok());
      } else if (what < 6 || running.empty()) {
        JobRequest r = job(next_id++, random.any(names),
                           {random.pick(0, 4), random.pick(0, 8) * kGiB, random.pick(0, 1)},
                           random.pick(0, 3), "u" + std::to_string(random.pick(0, 2)));
        r.preemptible = random.pick(0, 4) != 0;
        const Status status = scheduler.submit(r);
        const bool admissible = r.resources.fitsIn(*scheduler.largestAdmissible(r.queue));
        ASSERT_EQ(status.ok(), admissible) << status.message();
      } else {
        ASSERT_TRUE(scheduler.remove(random.any(running)).ok());
      }
      const std::vector<std::int64_t> before = scheduler.running();
      const std::vector<Decision> decisions = scheduler.schedule();
      const std::vector<std::int64_t> after = scheduler.running();
      std::set<std::int64_t> preempted_now;
      for (const Decision& d : decisions) {
        if (d.kind == Decision::Kind::kPreempt) {
          ++preemptions;
          preempted_now.insert(d.job);
          EXPECT_TRUE(scheduler.job(d.job)->preemptible);
          EXPECT_EQ(scheduler.place(d.job), JobPlace::kStopping);
          // Only a job that was running is preempted (one started in the same call is not
          // reported at all).
          EXPECT_NE(std::find(before.begin(), before.end(), d.job), before.end());
        } else {
          // What the service is told to start is running now.
          EXPECT_NE(std::find(after.begin(), after.end(), d.job), after.end());
          if (d.borrowing) ++borrowed_starts;
        }
      }
      std::vector<JobRequest> now;
      for (std::int64_t id : scheduler.running()) now.push_back(*scheduler.job(id));
      ASSERT_EQ(bounds.violation(now), "") << "after event " << event;
      expectNothingThatFitsIsLeft(scheduler, bounds, preempted_now);
    }
  }
  // The streams exercised borrowing and reclaiming, not only the easy path.
  EXPECT_GT(preemptions, 20);
  EXPECT_GT(borrowed_starts, 100);
}

}  // namespace
}  // namespace aimass::core::jobs
