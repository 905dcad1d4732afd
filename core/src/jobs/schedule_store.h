// SPDX-License-Identifier: Apache-2.0
// The job service's schedules (docs/jobs.md#schedules): a job template that repeats on a cron
// expression (UTC), kept in the storage node beside the jobs, one record per schedule changed
// by compare-and-set. fireDueSchedules() is the firing logic; it reads no clock (the service
// passes its own), so tests drive it with any time they like.
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
#include "jobs/job_store.h"

namespace aimass::core::jobs {

/// What a firing does while an earlier job of the same schedule is still queued or running.
enum class Overlap {
  kSkip,     ///< submit nothing this time
  kQueue,    ///< submit anyway; the new job waits like any other
  kReplace,  ///< cancel the earlier job(s) (SIGTERM, grace period, checkpoint) and submit
};
std::string_view overlapName(Overlap overlap);
std::optional<Overlap> parseOverlap(std::string_view text);

/// One schedule as stored. The job fields are those of every job it submits.
struct ScheduleRecord {
  std::int64_t id = 0;  ///< assigned by create()
  std::string name;     ///< free text; may be empty
  std::string cron;     ///< the expression (cron.h), as given
  Overlap overlap = Overlap::kSkip;
  std::string queue;
  std::string owner;
  std::int64_t priority = 0;
  Resources resources;   ///< of one rank
  std::int64_t ranks = 1;  ///< MPI ranks of each job it submits
  bool preemptible = true;
  std::string config_name;
  std::string config;
  std::string base_dir;
  std::int64_t created_ms = 0;
  std::int64_t next_fire_ms = 0;  ///< Unix ms of the next firing
  std::int64_t last_fire_ms = 0;  ///< 0: never fired
  std::int64_t last_job = 0;      ///< the last job it submitted; 0: none
  std::int64_t fires = 0;         ///< jobs it submitted
  std::int64_t skips = 0;         ///< firings skipped (overlap skip)
  std::string last_result;        ///< what the last firing did, in words
};

/// The schedules of one store. Threading: any thread; changes by compare-and-set.
class ScheduleStore {
 public:
  explicit ScheduleStore(std::shared_ptr<Storage> storage);

  /// Stores a new schedule with the next id and the creation time (next_fire_ms as given).
  Expected<ScheduleRecord> create(ScheduleRecord record, std::int64_t now_ms);
  /// kNotFound "no schedule N"; kDataLoss naming the key for a damaged record.
  Expected<ScheduleRecord> get(std::int64_t id) const;
  Expected<std::vector<ScheduleRecord>> list() const;
  /// As JobStore::update(): `change` may run more than once; a non-OK status is returned.
  Expected<ScheduleRecord> update(std::int64_t id,
                                  const std::function<Status(ScheduleRecord&)>& change);
  /// kNotFound for an unknown id. Jobs it submitted stay.
  Status remove(std::int64_t id);

 private:
  fields::RecordTable<ScheduleRecord> table() const;
  std::shared_ptr<Storage> storage_;
};

std::string formatScheduleRecord(const ScheduleRecord& record);
Expected<ScheduleRecord> parseScheduleRecord(std::string_view text);

/// What one firing did.
struct Firing {
  enum class Outcome { kSubmitted, kSkipped, kFailed };
  std::int64_t schedule = 0;
  Outcome outcome = Outcome::kSubmitted;
  std::int64_t job = 0;                ///< kSubmitted: the new job
  std::vector<std::int64_t> replaced;  ///< overlap replace: the jobs it cancelled
  std::string reason;                  ///< kSkipped, kFailed: why
};

/// How a firing submits and cancels (the service checks the submission against its queues).
struct FiringActions {
  std::function<Expected<JobRecord>(const ScheduleRecord& schedule)> submit;
  std::function<Status(std::int64_t job)> cancel;
};

/// Fires every schedule whose next_fire_ms ≤ `now_ms`, once each however many of its times
/// passed (catch-up after a stop: at most one firing), and sets its next firing to the first
/// time after `now_ms`. A firing is claimed by compare-and-set before it acts, so two callers
/// never fire the same time twice. What each firing did, in schedule order.
Expected<std::vector<Firing>> fireDueSchedules(ScheduleStore& schedules, const JobStore& jobs,
                                               std::int64_t now_ms,
                                               const FiringActions& actions);

}  // namespace aimass::core::jobs
