// SPDX-License-Identifier: Apache-2.0
// The job service's records: every submitted job, its state and its history, kept in the
// storage node (SQLite by default, PostgreSQL for several service processes) so that a service
// killed with -9 loses no job. Each change is one compare-and-set of the job's record, so a
// record is always whole and two processes never overwrite each other's change.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"
#include "jobs/job_scheduler.h"

namespace aimass::core::jobs::fields {
template <typename Record>
struct RecordTable;
}

namespace aimass::core::jobs {

/// The counter bumped by every change a running service must notice that no new job record
/// shows (a cancellation, a queue edit), so that its loop reads them within one poll.
inline const std::string kJobChangesKey = "jobs/changes";

enum class JobState {
  kQueued,     ///< waiting for resources (also after a preemption or a service restart)
  kRunning,    ///< its worker process runs
  kSucceeded,  ///< the graph ran to its end
  kFailed,     ///< the graph, or its worker, failed (`reason` says how)
  kCancelled,  ///< stopped on request
};

/// "queued", "running", "succeeded", "failed", "cancelled".
std::string_view jobStateName(JobState state);
std::optional<JobState> parseJobState(std::string_view text);
/// Succeeded, failed or cancelled: the job will not run again.
bool isFinal(JobState state);

/// One job as stored.
struct JobRecord {
  std::int64_t id = 0;       ///< assigned by submit()
  std::string queue;
  std::string owner;         ///< who submitted it
  std::int64_t priority = 0;
  Resources resources;       ///< of one rank
  std::int64_t ranks = 1;    ///< MPI ranks (launcher.h); the scheduler counts ranks × resources
  bool preemptible = true;
  std::string config_name;   ///< the file name errors in the graph are reported against
  std::string config;        ///< the graph, as YAML text
  std::string base_dir;      ///< where the graph's relative paths resolve
  JobState state = JobState::kQueued;
  std::int64_t attempts = 0;  ///< times it was started
  std::int64_t submitted_ms = 0, started_ms = 0, finished_ms = 0;  ///< Unix ms; 0: not yet
  std::string reason;         ///< why it failed, was cancelled, requeued or preempted
  bool cancel_requested = false;
  std::int64_t worker_pid = 0;  ///< of the running worker, 0 when none
  std::string external_id;      ///< the Slurm batch job of the last attempt; empty: none
  std::vector<std::int64_t> runs;  ///< the tracked runs the job made (in its graph's store)
  std::int64_t schedule_id = 0;    ///< the schedule that submitted it; 0: none

  JobRequest request() const;  ///< what the scheduler needs of it (all ranks' resources)
};

/// The records of one store.
///
/// Threading: every method may be called from any thread; changes to one job are serialised
/// by compare-and-set (update() retries on a lost race). Lifetime: holds the storage.
class JobStore {
 public:
  explicit JobStore(std::shared_ptr<Storage> storage);

  /// Stores a new job, queued, with the next id and the submission time. Errors of the storage.
  Expected<JobRecord> submit(JobRecord record);
  /// kNotFound "no job N"; kDataLoss naming the key for a record that does not parse.
  Expected<JobRecord> get(std::int64_t id) const;
  /// Every job, by id.
  Expected<std::vector<JobRecord>> list() const;
  /// Applies `change` to the job's current record and stores the result in one step, retrying
  /// when another writer changed the record meanwhile (so `change` may run more than once and
  /// must only edit the record it gets). A non-OK status from `change` is returned unchanged,
  /// and nothing is stored. The id cannot be changed.
  Expected<JobRecord> update(std::int64_t id, const std::function<Status(JobRecord&)>& change);
  /// After a restart: every job stored as running has lost its worker; each is queued again
  /// (reason "interrupted: the service stopped while it ran", worker cleared). The requeued jobs.
  /// Jobs for which `still_running` says true (a Slurm batch job that still runs) are kept.
  Expected<std::vector<JobRecord>> requeueInterrupted(
      const std::function<bool(const JobRecord&)>& still_running = {});

 private:
  fields::RecordTable<JobRecord> table() const;
  std::shared_ptr<Storage> storage_;
};

/// The record's stored text ("aimass-job 1" and one line per field), and back. parseJobRecord
/// fails with kDataLoss naming the field.
std::string formatJobRecord(const JobRecord& record);
Expected<JobRecord> parseJobRecord(std::string_view text);

}  // namespace aimass::core::jobs
