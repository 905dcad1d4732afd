// SPDX-License-Identifier: Apache-2.0
// The job service: takes graphs to run as jobs, keeps them in the store, and runs each in a
// worker process when the scheduler (job_scheduler.h) gives it resources. See docs/jobs.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"
#include "jobs/job_scheduler.h"
#include "aimass/job_service.h"
#include "jobs/job_store.h"
#include "jobs/memory_cgroup.h"
#include "jobs/schedule_store.h"
#include "jobs/slurm_launcher.h"
#include "jobs/worker_process.h"
#include "store_lease.h"

namespace aimass::core::jobs {

struct JobServiceOptions {
  Resources capacity;  ///< what the service may hand out (detectCapacity() by default)
  std::vector<QueueSpec> queues;
  std::filesystem::path work_dir;  ///< a folder per job: its graph and its log
  std::chrono::milliseconds grace_period{10000};  ///< SIGTERM to SIGKILL
  std::chrono::milliseconds poll_interval{200};   ///< how often the store is read for changes
  /// The worker command's fixed part: executable, plugin paths, log level, the MPI launcher
  /// (empty: jobs of several ranks are refused).
  WorkerCommand worker;
  /// The wall clock schedules fire by, in Unix ms (record::nowUnixMs unless a test drives it).
  std::function<std::int64_t()> clock;
  /// enabled: every attempt is a Slurm batch job instead of a local worker (slurm_launcher.h).
  SlurmSettings slurm;
  /// The scheduler lease's life without renewal (renewed every quarter of it): of several
  /// services on one store, the one holding the lease runs the jobs, and another takes over
  /// within this long after it dies (at once when it died on the same host).
  std::chrono::milliseconds lease{10000};
  /// How a job's memory is enforced: kAuto, a memory cgroup where this process can make one
  /// (memory_cgroup.h), else the worker's address space (RLIMIT_AS); kCgroup: a cgroup or
  /// start() fails saying why; kAddressSpace: RLIMIT_AS always. Slurm jobs: Slurm's own limits.
  enum class MemoryLimit { kAuto, kCgroup, kAddressSpace } memory_limit = MemoryLimit::kAuto;
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";
};

/// What a client submits.
struct JobSubmission {
  std::string config;       ///< the graph, YAML text
  std::string config_name;  ///< the file name errors are reported against
  std::filesystem::path base_dir;  ///< where its relative paths resolve
  std::string queue;
  std::string owner;
  std::int64_t priority = 0;
  Resources resources;     ///< of one rank
  std::int64_t ranks = 1;  ///< MPI ranks: above 1 the worker runs under mpirun (launcher.h)
  bool preemptible = true;
  std::int64_t schedule_id = 0;  ///< the schedule submitting it; 0: none
};

/// A schedule to create: the job each firing submits, when, and what to do on overlap.
struct ScheduleSubmission {
  JobSubmission job;
  std::string name;
  std::string cron;  ///< a cron expression (cron.h), UTC
  Overlap overlap = Overlap::kSkip;
};

/// Checks a job's graph before it is accepted: kInvalidArgument with the FILE:LINE:COL errors.
using GraphCheck = std::function<Status(const JobSubmission& submission)>;

/// Adds to a running job's record the runs its worker has started so far, which the worker
/// lists in the job's folder under `work_dir` and the record holds only once the job ends.
/// Reads the folder on this machine (where the service that runs the job keeps it).
void addRunsSoFar(JobRecord& record, const std::filesystem::path& work_dir);

/// Checks a submission against the queues (named queue, fits what it could ever get) and the
/// graph check; the error names what is wrong, with the numbers for resources.
Status checkSubmission(const JobSubmission& submission, const JobScheduler& queues,
                       const GraphCheck& check_graph);

/// Stores a submission as a new queued job (no checks: see checkSubmission()).
Expected<JobRecord> submitToStore(JobStore& store, const JobSubmission& submission);

/// Checks a schedule (its expression, with field and column; its job as checkSubmission()
/// does) and stores it with its first firing after `now_ms`.
Expected<ScheduleRecord> createScheduleInStore(ScheduleStore& schedules,
                                               const ScheduleSubmission& submission,
                                               const JobScheduler& queues,
                                               const GraphCheck& check_graph, std::int64_t now_ms);

/// The job a firing of `schedule` submits.
JobSubmission scheduledJob(const ScheduleRecord& schedule);

/// Asks for a job to be cancelled: a queued job is cancelled at once, a running one is marked
/// for its service to stop, which the service notices through the "jobs/changes" counter.
/// kNotFound; kFailedPrecondition naming the state of a job that has ended.
Expected<JobRecord> cancelInStore(JobStore& store, Storage& storage, std::int64_t id);

/// The service. Submissions and cancellations go to the store first (so several processes,
/// `aimass jobs` among them, can make them) and the service's loop picks them up: at once when
/// made through this object, within `poll_interval` otherwise.
///
/// Several services may share one store (PostgreSQL across hosts): the one holding the
/// scheduler lease (`jobs/scheduler`, store_lease.h) schedules and runs every job and fires the
/// schedules; the others take submissions, cancellations and queue edits into the store,
/// answer reads, and stand by. When the leader stops, dies or cannot renew the lease, another
/// takes over: it requeues the jobs the leader ran (re-attaching to Slurm batch jobs) as a
/// restarted service does. A leader that finds its lease taken stops its workers at once; each
/// record change of a running job names its attempt, so a late write of a deposed leader
/// never overwrites its successor's.
///
/// Threading: submit(), cancel(), get(), list(), log() and metrics from any thread; one loop
/// thread of its own owns the scheduler and the workers. Lifetime: stop() (or the destructor)
/// stops every worker (SIGTERM, SIGKILL after the grace period) and queues their jobs again,
/// so that a later service resumes them; Slurm batch jobs are left running, and a later service
/// re-attaches to them.
class Service {
 public:
  /// Requeues the jobs a previous service left running, loads the queued ones and starts the
  /// loop. kInvalidArgument for a bad queue; errors of the store or the work folder.
  static Expected<std::unique_ptr<Service>> start(std::shared_ptr<Storage> storage,
                                                     JobServiceOptions options,
                                                     GraphCheck check_graph);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  Expected<JobRecord> submit(const JobSubmission& submission);
  /// Queued: cancelled at once. Running: stopped (SIGTERM, SIGKILL after the grace period),
  /// then cancelled. kNotFound; kFailedPrecondition for a job that has ended.
  Expected<JobRecord> cancel(std::int64_t id);
  /// The job as stored; a running one lists the runs its worker has started so far
  /// (addRunsSoFar()).
  Expected<JobRecord> get(std::int64_t id) const;
  /// Schedules: created after the checks of createScheduleInStore(), fired by the loop.
  Expected<ScheduleRecord> createSchedule(const ScheduleSubmission& submission);
  Expected<ScheduleRecord> getSchedule(std::int64_t id) const { return schedules_.get(id); }
  Expected<std::vector<ScheduleRecord>> listSchedules() const { return schedules_.list(); }
  Status deleteSchedule(std::int64_t id) { return schedules_.remove(id); }
  /// Edits a queue (queue_edits.h): stored, then applied by the loop at once; submissions
  /// are checked against the edited queue from the moment this returns. The edited spec.
  Expected<QueueSpec> updateQueue(const std::string& name, const JobQueueUpdate& update);
  /// Every job, running ones with their runs so far (as get()).
  Expected<std::vector<JobRecord>> list() const;
  /// The last `max_bytes` of the job's log (its workers' output, every attempt).
  Expected<std::string> log(std::int64_t id, std::size_t max_bytes) const;
  /// At most `max_bytes` of the job's log from byte `offset` on (JobService::logFrom()).
  Expected<JobLogChunk> logFrom(std::int64_t id, std::uint64_t offset, std::size_t max_bytes) const;
  /// Queue lengths, running jobs and quota use per queue, in the Prometheus text format.
  std::string prometheusMetrics() const;
  /// Each queue with what it uses, as of the loop's last pass.
  struct QueueState {
    QueueSpec spec;
    Resources used;
    std::int64_t waiting = 0;
    std::int64_t running = 0;
  };
  std::vector<QueueState> queueStates() const;
  const JobServiceOptions& options() const { return options_; }
  /// Stops the loop and the workers (see the class comment). Idempotent.
  void stop();

 private:
  enum class Ending { kNone, kCancel, kPreempt, kShutdown };
  struct Active {
    std::unique_ptr<JobRun> process;  ///< a local worker, or a Slurm batch job
    Ending ending = Ending::kNone;
    std::chrono::steady_clock::time_point kill_at{};  ///< set once terminated
    std::filesystem::path folder;
    std::vector<int> gpus;  ///< the CUDA devices it was given
    std::int64_t attempt = 0;  ///< the record's `attempts` when this service started it
    std::filesystem::path cgroup;  ///< its memory cgroup; empty: none
  };

  Service(std::shared_ptr<Storage> storage, JobServiceOptions options, GraphCheck check);
  Status load();
  /// Renews the scheduler lease (leader) or tries to take it (standby), at most every
  /// renewEvery(); whether this service is the leader now.
  bool keepLeadership();
  /// Takes the lease if it is free and load()s the jobs (giving the lease back if that fails):
  /// whether this service leads now.
  Expected<bool> takeLeadership();
  /// Renews the lease; steps down when another service took it or it expired unrenewed.
  void renewLeadership();
  /// Leader no more: stops the workers (their jobs requeued unless taken over) and forgets the
  /// jobs, keeping the queues.
  void stepDown(const std::string& why);
  void resetScheduler();
  /// How often the lease is renewed or looked at: a quarter of its life, or the poll interval.
  std::chrono::steady_clock::duration renewEvery() const;
  /// Whether the changes counter moved since the last look (then remembered as seen).
  bool changesCounterMoved();
  /// After a restart: the jobs whose Slurm batch job still runs count as running again.
  Status reattachSlurmJobs(std::set<std::int64_t>& reattached);
  /// Picks how memory is limited (options_.memory_limit) and says which in the log.
  Status setUpMemoryLimits();
  /// A local attempt's memory cgroup: made, and named to the worker (which joins it), when
  /// this service limits memory by cgroups and the job asks for a limit.
  Status useCgroup(const JobRecord& job, WorkerCommand& command, Active& active);
  /// Starts one attempt: a local worker or a Slurm batch job.
  Expected<std::unique_ptr<JobRun>> launch(const WorkerCommand& command, std::int64_t id,
                                           std::int64_t gpus, const std::filesystem::path& folder);
  void wake();
  void loop();
  void waitForEvents();
  void reapExited();
  void readStoreChanges();
  /// Applies the queue edits in the store that differ from the scheduler's queues.
  void applyQueueEdits();
  /// A copy of the queues for checks on other threads (no jobs in it).
  JobScheduler admissionQueues() const;
  /// Fires the due schedules (service_schedules.cc), at most once per poll interval.
  void fireSchedules();
  void writeScheduleMetrics(std::ostream& out) const;
  void loadNewJobs();
  void applyCancellations();
  void scheduleAndStart();
  void startJob(std::int64_t id);
  void finishJob(std::int64_t id, Active& active, const WorkerExit& exit);
  void terminate(std::int64_t id, Active& active, Ending ending);
  void killOverdue();
  void shutdownWorkers();
  std::string failureReason(const JobRecord& record, const Active& active,
                            const WorkerExit& exit) const;
  /// Records a queued job the scheduler refused as failed with `reason` (nothing when it is
  /// no longer queued); the store's error otherwise.
  Status failQueued(std::int64_t id, const std::string& reason);
  void logError(const std::string& what, const Status& status);
  void publishState();

  std::shared_ptr<Storage> storage_;
  JobStore store_;
  JobServiceOptions options_;
  GraphCheck check_graph_;

  // The loop's own state.
  JobScheduler scheduler_;
  std::map<std::int64_t, Active> active_;
  std::int64_t next_unseen_id_ = 1;
  std::map<std::int64_t, std::chrono::steady_clock::time_point> missing_ids_;
  std::string changes_seen_;
  std::set<int> gpus_in_use_;
  std::optional<MemoryCgroups> cgroups_;  ///< where jobs' memory cgroups go; none: RLIMIT_AS
  StoreLease lease_;
  bool leader_ = false;
  std::chrono::steady_clock::time_point next_lease_check_{};
  ScheduleStore schedules_;
  std::chrono::steady_clock::time_point next_schedule_check_{};

  // Shared with other threads.
  /// The queues as the loop last applied them, for checking submissions made on other threads.
  mutable std::mutex admission_mutex_;
  JobScheduler admission_;
  mutable std::mutex metrics_mutex_;
  std::string metrics_text_;
  std::vector<QueueState> queue_states_;
  std::atomic<bool> stopping_{false};
  // Schedule firings since the service started, by outcome; jobs cancelled by overlap replace.
  std::atomic<std::int64_t> firings_submitted_{0}, firings_skipped_{0}, firings_failed_{0},
      firings_replaced_{0};
  int wake_fd_ = -1;
  std::thread thread_;
};

/// What this machine has: the CPUs this process may run on, the memory (MemTotal, or the
/// cgroup's limit when lower), and the NVIDIA devices (/dev/nvidiaN).
Resources detectCapacity();

}  // namespace aimass::core::jobs
