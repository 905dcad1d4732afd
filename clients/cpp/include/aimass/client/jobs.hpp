// SPDX-License-Identifier: Apache-2.0
// The job service's values (docs/jobs.md): what HttpClient's submitJob, listJobs, getJob,
// cancelJob, listQueues, updateQueue and the schedule calls take and answer, one field per
// member of the JSON (docs/openapi.yaml Job, JobList, JobQueue, JobSchedule).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace aimass::client {

/// Threads, memory and GPUs: what a job asks for, or a queue's quota or use.
struct JobResources {
  std::int64_t threads = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t gpus = 0;
};

/// A graph to run as a job. Only `config` (the graph's YAML text) is required; an unset
/// member takes the server's default.
struct JobSubmission {
  std::string config;
  std::string config_name;  ///< what errors and listings call the graph; "" for the default
  std::string queue;        ///< "" for the service's first queue
  std::optional<std::int64_t> priority;
  std::optional<std::int64_t> threads;
  std::string memory;  ///< as the server reads it: "512MiB", "2GiB", "1048576"; "" for unset
  std::optional<std::int64_t> memory_bytes;  ///< when set, sent instead of `memory`
  std::optional<std::int64_t> gpus;
  /// MPI ranks (default 1); threads, memory and gpus are then per rank. A job of several ranks
  /// needs a graph with a collective.mpi node its job uses, else the server refuses it (400).
  std::optional<std::int64_t> ranks;
  std::optional<bool> preemptible;
};

/// One job. Times are Unix milliseconds, 0 while not yet.
struct Job {
  std::int64_t id = 0;
  std::string state;  ///< "queued", "running", "succeeded", "failed" or "cancelled"
  std::string queue;
  std::string owner;
  std::int64_t priority = 0;
  JobResources resources;
  bool preemptible = false;
  std::string config_name;
  std::string reason;  ///< why it failed, was cancelled, preempted or requeued; may be empty
  std::int64_t attempts = 0;
  std::int64_t submitted_unix_ms = 0;
  std::int64_t started_unix_ms = 0;  ///< of the last attempt
  std::int64_t finished_unix_ms = 0;
  bool cancel_requested = false;
  std::int64_t worker_pid = 0;     ///< the running worker's process id; 0 when none
  std::int64_t ranks = 1;          ///< its MPI ranks; `resources` are per rank
  std::string external_id;         ///< the batch system's id (Slurm's job id); "" when none
  std::int64_t schedule_id = 0;    ///< the schedule that submitted it; 0 when submitted directly
  std::vector<std::int64_t> runs;  ///< the tracked runs it made, in its graph's store
};

/// listJobs()'s filters; "" does not filter.
struct JobQuery {
  std::string state;
  std::string queue;
  std::string owner;
};

/// One queue: its quota, what it uses now, its jobs waiting and running.
struct JobQueue {
  std::string name;
  std::string cohort;    ///< "" when in no cohort
  std::string ordering;  ///< "fifo" or "fair_share"
  JobResources nominal;
  std::optional<JobResources> borrowing_limit;  ///< nullopt: what the cohort leaves
  std::int64_t max_running = 0;                 ///< 0: no limit
  JobResources used;
  std::int64_t waiting = 0;
  std::int64_t running = 0;
};

/// An admin's edit of a queue (updateQueue): only the members set are sent, at least one.
struct JobQueueUpdate {
  std::optional<std::int64_t> threads;
  std::string memory;  ///< as the server reads it: "16GiB", "1048576"; "" for unset
  std::optional<std::int64_t> memory_bytes;  ///< when set, sent instead of `memory`
  std::optional<std::int64_t> gpus;
  /// The borrowing limits; a negative value removes the limit (it may borrow all the cohort
  /// lends).
  std::optional<std::int64_t> borrow_threads;
  std::string borrow_memory;                        ///< as `memory`; "" for unset
  std::optional<std::int64_t> borrow_memory_bytes;  ///< when set, sent instead of borrow_memory
  std::optional<std::int64_t> borrow_gpus;
  std::optional<std::int64_t> max_running;  ///< 0: no limit
  std::string ordering;                     ///< "fifo" or "fair_share"; "" for unset
  std::optional<bool> strict_fifo;  ///< true: a job that does not fit holds back those behind it
};

/// What createSchedule sends: a job, submitted at each time of `cron` (UTC).
struct JobScheduleSubmission {
  JobSubmission job;  ///< its ranks are sent, but the schedule's JSON does not report them
  std::string cron;   ///< "30 3 * * mon-fri", "@daily"
  /// What a firing does while the schedule's last job has not ended: "skip" (""), "queue",
  /// "replace".
  std::string overlap;
  std::string name;  ///< "" for none
};

/// One schedule. Times are Unix milliseconds, 0 while not yet.
struct JobSchedule {
  std::int64_t id = 0;
  std::string name;
  std::string cron;
  std::string overlap;  ///< "skip", "queue" or "replace"
  std::string queue;    ///< queue, owner, priority, ... of the jobs it submits
  std::string owner;
  std::int64_t priority = 0;
  JobResources resources;
  bool preemptible = false;
  std::string config_name;
  std::int64_t created_unix_ms = 0;
  std::int64_t next_fire_unix_ms = 0;
  std::int64_t last_fire_unix_ms = 0;
  std::int64_t last_job = 0;  ///< the job its last firing submitted; 0 when none
  std::int64_t fires = 0;     ///< firings that submitted a job
  std::int64_t skips = 0;     ///< firings skipped (overlap "skip")
  std::string last_result;    ///< what its last firing did; "" before the first
};

}  // namespace aimass::client
