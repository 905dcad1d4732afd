// SPDX-License-Identifier: Apache-2.0
// The job service's admission logic: which submitted jobs start, on what they draw, and which
// running ones give way. Modelled on Kueue's cluster queues and cohorts: every queue owns a
// nominal quota of each resource; queues of one cohort may borrow what the others leave unused
// (up to a borrowing limit) and a queue that needs its own quota back preempts the borrowers.
// The machine's capacity bounds everything. The scheduler is pure bookkeeping: it starts no
// process and reads no clock, so the service (and its tests) drive it with events and carry out
// the decisions it returns.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"

namespace aimass::core::jobs {

/// An amount of each resource the service hands out. Memory in bytes.
struct Resources {
  std::int64_t threads = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t gpus = 0;

  Resources& operator+=(const Resources& other);
  Resources& operator-=(const Resources& other);
  friend Resources operator+(Resources a, const Resources& b) { return a += b; }
  friend Resources operator-(Resources a, const Resources& b) { return a -= b; }
  friend bool operator==(const Resources&, const Resources&) = default;

  /// Every field ≤ the other's.
  bool fitsIn(const Resources& limit) const;
  /// Every field ≥ 0.
  bool nonNegative() const;
  /// Each field the larger of the two (or the smaller).
  static Resources max(const Resources& a, const Resources& b);
  static Resources min(const Resources& a, const Resources& b);
  /// "threads 2, memory 512 MiB, gpus 0".
  std::string toString() const;
};

/// How a queue orders its waiting jobs. Both put a higher priority first.
enum class Ordering {
  kFifo,       ///< then the order of submission
  kFairShare,  ///< then the owner with the smallest share of the queue's quota in use, then FIFO
};

/// One queue, as configured. Every field is checked by JobScheduler::addQueue.
struct QueueSpec {
  std::string name;
  std::string cohort;          ///< queues with the same non-empty cohort lend to each other
  Resources nominal;           ///< what the queue owns
  /// The most it may use beyond `nominal` (cohort queues only); nullopt: whatever the cohort's
  /// other queues leave unused.
  std::optional<Resources> borrowing_limit;
  std::int64_t max_running = 0;  ///< jobs running at once; 0: no limit
  Ordering ordering = Ordering::kFifo;
  /// A waiting job that does not fit blocks the jobs behind it in this queue (true), or they
  /// may start before it when they fit (false: better use, but a large job can wait long).
  bool strict_fifo = false;

  friend bool operator==(const QueueSpec&, const QueueSpec&) = default;
};

/// A job as the scheduler sees it.
struct JobRequest {
  std::int64_t id = 0;  ///< unique, assigned by the service
  std::string queue;
  std::string owner;  ///< the user (fair share); may be empty
  std::int64_t priority = 0;  ///< higher runs first
  Resources resources;
  bool preemptible = true;  ///< may be stopped to give borrowed quota back
};

/// What the service must do after schedule().
struct Decision {
  enum class Kind {
    kStart,    ///< start the job now; its resources are counted as used from here
    /// Stop the job (it checkpoints) and call stopped() once it has: until then its resources
    /// stay counted, so that nothing starts on them before they are free.
    kPreempt,
  };
  Kind kind = Kind::kStart;
  std::int64_t job = 0;
  bool borrowing = false;  ///< kStart: the job uses quota its queue borrowed from the cohort
};

enum class JobPlace {
  kWaiting,
  kRunning,
  kStopping,  ///< preempted, its worker not yet gone; its resources still count as used
};

/// The queues, the machine and the jobs that wait or run.
///
/// Threading: none; one owner (the service's scheduler loop) calls every method.
class JobScheduler {
 public:
  explicit JobScheduler(Resources capacity);

  /// kInvalidArgument naming the queue for a duplicate or empty name, negative amounts, or a
  /// borrowing limit on a queue without a cohort.
  Status addQueue(QueueSpec spec);
  /// Replaces a queue's spec (same name, same cohort) while jobs wait and run: the jobs keep
  /// their places; running ones are never stopped by it (a lowered quota only keeps new ones
  /// from starting). Waiting jobs that no longer fit wait until the quota is raised again.
  /// kNotFound for an unknown queue; kInvalidArgument as addQueue(), or for a changed cohort.
  Status updateQueue(QueueSpec spec);
  /// The checks addQueue() makes of one spec (not the duplicate name).
  static Status checkQueue(const QueueSpec& spec);
  const std::vector<QueueSpec>& queues() const { return queues_; }
  const Resources& capacity() const { return capacity_; }

  /// The most a job of `queue` can ever be given: the machine, the queue's nominal quota plus
  /// what it may borrow from its cohort. nullopt for an unknown queue.
  std::optional<Resources> largestAdmissible(std::string_view queue) const;

  /// Adds a waiting job. kNotFound for an unknown queue; kAlreadyExists for a known id;
  /// kInvalidArgument for negative amounts; kResourceExhausted, with the numbers, when the job
  /// asks for more than largestAdmissible() (it could never start).
  Status submit(const JobRequest& job);

  /// Adds a job that already runs (a Slurm batch job a restarted service re-attaches to): it
  /// counts against its queue at once, even beyond the quota. submit()'s errors.
  Status adopt(const JobRequest& job);

  /// The job finished, failed or was cancelled: it leaves the scheduler (whatever its place).
  /// kNotFound for an unknown id.
  Status remove(std::int64_t id);
  /// A preempted job's worker has stopped: the job waits again, in its old place in the order,
  /// and its resources are free. kNotFound for an unknown id, kFailedPrecondition for a job
  /// that is not stopping.
  Status stopped(std::int64_t id);

  /// Starts what fits, in order (see Ordering), reclaiming borrowed quota by preemption where a
  /// job fits its own queue's nominal quota but not what the borrowers leave: the borrowers are
  /// preempted, and the job starts in a later call, once they have stopped. The decisions are
  /// already applied to the scheduler's state when it returns.
  std::vector<Decision> schedule();

  /// The last schedule() left a job waiting for preempted jobs to stop, and so started no job
  /// that borrows.
  bool reclaimPending() const { return reclaim_pending_; }
  std::optional<JobPlace> place(std::int64_t id) const;
  const JobRequest* job(std::int64_t id) const;
  /// What the running jobs of `queue` use (zero for an unknown queue).
  Resources usage(std::string_view queue) const;
  /// What all running jobs use.
  Resources used() const { return used_; }
  std::int64_t runningCount(std::string_view queue) const;
  std::vector<std::int64_t> waiting(std::string_view queue) const;  ///< in schedule() order
  std::vector<std::int64_t> running() const;  ///< running or stopping

 private:
  struct Entry {
    JobRequest request;
    JobPlace place = JobPlace::kWaiting;
    std::uint64_t submitted = 0;  ///< order of submission (kept across preemption)
    std::uint64_t started = 0;    ///< order of the last start
  };
  struct QueueState {
    Resources used;
    std::int64_t running = 0;
    std::map<std::string, Resources, std::less<>> used_by_owner;
  };

  struct Candidate {
    const Entry* entry = nullptr;
    std::vector<std::int64_t> victims;  ///< to preempt; the job then waits for them to stop
    bool waits_for_stops = false;  ///< fits once the stopping jobs are gone: start nothing yet
  };

  /// The first waiting job of `queue`, in order, that can start now: within the queue's own
  /// quota (possibly by reclaiming borrowed quota) when `within_quota`, else any that fits.
  std::optional<Candidate> nominate(const QueueSpec& queue, bool within_quota,
                                    const std::set<std::int64_t>& skip) const;
  const QueueSpec* findQueue(std::string_view name) const;
  Resources cohortNominal(const std::string& cohort) const;
  Resources cohortUsage(const std::string& cohort) const;
  /// Whether `job` may start now without preempting anything.
  bool fits(const JobRequest& job) const;
  bool fitsQuota(const QueueSpec& queue, const Resources& queue_use, const Resources& cohort_use,
                 const Resources& request) const;
  /// Running jobs to preempt so that `job` (within its queue's nominal quota) fits once they
  /// and the jobs already stopping are gone: nullopt when no choice makes room, an empty list
  /// when the stopping jobs alone will.
  std::optional<std::vector<std::int64_t>> reclaimFor(const JobRequest& job) const;
  /// The waiting jobs of `queue` in the order the queue takes them.
  std::vector<const Entry*> ordered(const QueueSpec& queue) const;
  double ownerShare(const QueueSpec& queue, const std::string& owner) const;
  /// Preempts a running job: it stops (kStopping), or, started in this same call, simply
  /// waits again with its start decision taken back.
  void preempt(std::int64_t victim, std::vector<Decision>& decisions);
  void start(Entry& entry);
  void stopRunning(Entry& entry);

  Resources capacity_;
  Resources used_;
  std::vector<QueueSpec> queues_;
  std::map<std::string, QueueState, std::less<>> state_;
  std::map<std::int64_t, Entry> jobs_;
  std::uint64_t sequence_ = 0;
  bool reclaim_pending_ = false;
};

}  // namespace aimass::core::jobs
