// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The job service a frontend exposes (Host::jobs()): graphs submitted to run as jobs, in
/// queues with quotas, each in a worker process of its own (docs/jobs.md). Like the registry
/// services it speaks no protocol: results are plain structs, errors Status codes, and a
/// frontend decides how to show them (frontend.http serves them under /api/v1/jobs).
///
/// Implemented by the host when the graph has a `service.jobs` node; it outlives every
/// frontend that uses it. Threading: every method is safe to call from many threads at once.
///
/// Errors: kInvalidArgument for a bad submission (a graph that does not validate: the message
/// holds its FILE:LINE:COL errors); kNotFound for an unknown job or queue; kResourceExhausted
/// for a job that asks for more than its queue could ever give (the message has the numbers);
/// kFailedPrecondition for cancelling a job that has ended; kPermissionDenied is the
/// frontend's to give (roles); the storage's own status when it fails.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aimass/status.h"

namespace aimass {

/// An amount of each resource the service hands out.
struct JobResources {
  std::int64_t threads = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t gpus = 0;
};

/// What a client submits.
struct JobSubmitRequest {
  std::string config;       ///< the graph, as YAML text
  std::string config_name;  ///< the name its errors are reported against ("train.yaml")
  std::string queue;
  std::string owner;        ///< who submits it (the caller's credential name)
  std::int64_t priority = 0;
  JobResources resources;  ///< of each rank
  std::int64_t ranks = 1;  ///< MPI ranks; above 1 the job runs under mpirun (docs/jobs.md)
  bool preemptible = true;
};

/// One job as the service records it.
struct JobInfo {
  std::int64_t id = 0;
  std::string queue;
  std::string owner;
  std::int64_t priority = 0;
  JobResources resources;  ///< of each rank
  std::int64_t ranks = 1;
  bool preemptible = true;
  std::string config_name;
  std::string state;  ///< "queued", "running", "succeeded", "failed" or "cancelled"
  std::string reason;  ///< why it failed, was cancelled, preempted or requeued; may be empty
  std::int64_t attempts = 0;
  std::int64_t submitted_unix_ms = 0;
  std::int64_t started_unix_ms = 0;   ///< of the last attempt; 0 before the first
  std::int64_t finished_unix_ms = 0;  ///< 0 until it has ended
  bool cancel_requested = false;
  std::int64_t worker_pid = 0;     ///< the running worker's process id; 0 when none
  std::string external_id;  ///< the Slurm batch job of its last attempt; empty: none
  std::vector<std::int64_t> runs;  ///< tracked runs it made, in its graph's store
  std::int64_t schedule_id = 0;    ///< the schedule that submitted it; 0: none
};

/// A job that repeats on a cron expression (docs/jobs.md#schedules).
struct JobScheduleRequest {
  JobSubmitRequest job;  ///< what each firing submits (its owner owns the schedule)
  std::string name;      ///< free text; may be empty
  std::string cron;      ///< 5 fields or @hourly, @daily, ...; UTC
  std::string overlap = "skip";  ///< "skip", "queue" or "replace"
};

/// One schedule as the service records it.
struct JobScheduleInfo {
  std::int64_t id = 0;
  std::string name;
  std::string cron;
  std::string overlap;
  std::string queue;
  std::string owner;
  std::int64_t priority = 0;
  JobResources resources;
  bool preemptible = true;
  std::string config_name;
  std::int64_t ranks = 1;  ///< MPI ranks of each job it submits. ABI 12.
  std::int64_t created_unix_ms = 0;
  std::int64_t next_fire_unix_ms = 0;
  std::int64_t last_fire_unix_ms = 0;  ///< 0: never fired
  std::int64_t last_job = 0;           ///< the last job it submitted; 0: none
  std::int64_t fires = 0;              ///< jobs it submitted
  std::int64_t skips = 0;              ///< firings skipped by overlap "skip"
  std::string last_result;             ///< what the last firing did, in words
};

/// An edit of a queue while the service runs: each field set replaces the queue's value; unset
/// fields keep theirs. A borrowing limit of -1 removes that limit.
struct JobQueueUpdate {
  std::optional<std::int64_t> threads;
  std::optional<std::int64_t> memory_bytes;
  std::optional<std::int64_t> gpus;
  std::optional<std::int64_t> borrow_threads;
  std::optional<std::int64_t> borrow_memory_bytes;
  std::optional<std::int64_t> borrow_gpus;
  std::optional<std::int64_t> max_running;
  std::optional<std::string> ordering;  ///< "fifo" or "fair_share"
  std::optional<bool> strict_fifo;
};

/// A stretch of a job's log (JobService::logFrom()).
struct JobLogChunk {
  std::string text;          ///< the log's bytes from `offset` on (at most the asked number)
  std::uint64_t offset = 0;  ///< where `text` starts in the log
  std::uint64_t size = 0;    ///< the whole log's size when it was read
};

/// One queue: its quota and what it uses now.
struct JobQueueInfo {
  std::string name;
  std::string cohort;    ///< empty: none
  std::string ordering;  ///< "fifo" or "fair_share"
  JobResources nominal;
  std::optional<JobResources> borrowing_limit;  ///< nullopt: what the cohort leaves
  std::int64_t max_running = 0;                 ///< 0: no limit
  JobResources used;
  std::int64_t waiting = 0;
  std::int64_t running = 0;
};

class JobService {
 public:
  /// Checks and stores a job; it runs when its queue gives it resources.
  virtual Expected<JobInfo> submit(const JobSubmitRequest& request) = 0;
  /// Every job, by id.
  virtual Expected<std::vector<JobInfo>> list() const = 0;
  virtual Expected<JobInfo> get(std::int64_t id) const = 0;
  /// A queued job is cancelled at once; a running one is stopped (SIGTERM, then SIGKILL after
  /// the service's grace period) and then recorded as cancelled.
  virtual Expected<JobInfo> cancel(std::int64_t id) = 0;
  /// The last `max_bytes` of the job's log (every attempt's output).
  virtual Expected<std::string> log(std::int64_t id, std::size_t max_bytes) const = 0;
  virtual std::vector<JobQueueInfo> queues() const = 0;
  /// Queue lengths, running jobs and quota use, in the Prometheus text format.
  virtual std::string prometheusMetrics() const = 0;
  /// Checks (the expression, naming field and column; the job as submit() does) and stores a
  /// schedule; the service fires it from its next time on.
  virtual Expected<JobScheduleInfo> createSchedule(const JobScheduleRequest& request) = 0;
  virtual Expected<std::vector<JobScheduleInfo>> listSchedules() const = 0;
  virtual Expected<JobScheduleInfo> getSchedule(std::int64_t id) const = 0;
  /// Stops its firings; the jobs it submitted stay. kNotFound for an unknown id.
  virtual Status deleteSchedule(std::int64_t id) = 0;
  /// Edits a queue at once and keeps the edit in the store (it survives a restart while the
  /// queue's definition in the configuration stays the same). kNotFound for an unknown queue;
  /// kInvalidArgument naming the field of a bad value. The queue as it now is.
  virtual Expected<JobQueueInfo> updateQueue(const std::string& name,
                                             const JobQueueUpdate& update) = 0;
  /// At most `max_bytes` of the job's log from byte `offset` on: a client following a running
  /// job asks again from offset + text.size(). Logs only grow; kOutOfRange for an offset past
  /// the log's end, kNotFound for an unknown job. Added in ABI 12.2, at the end of the
  /// interface, which only the host implements.
  virtual Expected<JobLogChunk> logFrom(std::int64_t id, std::uint64_t offset,
                                        std::size_t max_bytes) const = 0;

 protected:
  ~JobService() = default;
};

}  // namespace aimass
