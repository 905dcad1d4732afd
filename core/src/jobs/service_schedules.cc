// SPDX-License-Identifier: Apache-2.0
// The job service's schedules: creation (shared with `aimass jobs schedule create`) and the
// loop's firing of due schedules (docs/jobs.md#schedules).
#include <ostream>

#include "jobs/cron.h"
#include "jobs/job_service.h"

namespace aimass::core::jobs {

Expected<ScheduleRecord> createScheduleInStore(ScheduleStore& schedules,
                                               const ScheduleSubmission& submission,
                                               const JobScheduler& queues,
                                               const GraphCheck& check_graph,
                                               std::int64_t now_ms) {
  auto cron = CronExpression::parse(submission.cron);
  if (!cron.ok()) return cron.status();
  AIMASS_RETURN_IF_ERROR(checkSubmission(submission.job, queues, check_graph));
  ScheduleRecord record;
  record.name = submission.name;
  record.cron = cron->text();
  record.overlap = submission.overlap;
  const JobSubmission& job = submission.job;
  record.queue = job.queue;
  record.owner = job.owner;
  record.priority = job.priority;
  record.resources = job.resources;
  record.ranks = job.ranks;
  record.preemptible = job.preemptible;
  record.config_name = job.config_name;
  record.config = job.config;
  record.base_dir = job.base_dir.string();
  // parse() refuses an expression that never fires, so there is a next time.
  record.next_fire_ms = cron->nextAfter(now_ms).value_or(0);
  return schedules.create(std::move(record), now_ms);
}

JobSubmission scheduledJob(const ScheduleRecord& schedule) {
  JobSubmission job;
  job.config = schedule.config;
  job.config_name = schedule.config_name;
  job.base_dir = schedule.base_dir;
  job.queue = schedule.queue;
  job.owner = schedule.owner;
  job.priority = schedule.priority;
  job.resources = schedule.resources;
  job.ranks = schedule.ranks;
  job.preemptible = schedule.preemptible;
  job.schedule_id = schedule.id;
  return job;
}

Expected<ScheduleRecord> Service::createSchedule(const ScheduleSubmission& submission) {
  auto created = createScheduleInStore(schedules_, submission, admissionQueues(), check_graph_,
                                       options_.clock());
  if (created.ok()) wake();
  return created;
}

void Service::fireSchedules() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_schedule_check_) return;
  next_schedule_check_ = now + options_.poll_interval;
  FiringActions actions;
  actions.submit = [this](const ScheduleRecord& schedule) -> Expected<JobRecord> {
    const JobSubmission job = scheduledJob(schedule);
    // Checked again: the queues or the loaded types may have changed since its creation.
    AIMASS_RETURN_IF_ERROR(checkSubmission(job, scheduler_, check_graph_));
    return submitToStore(store_, job);
  };
  actions.cancel = [this](std::int64_t id) -> Status {
    auto cancelled = cancelInStore(store_, *storage_, id);
    return cancelled.ok() ? okStatus() : cancelled.status();
  };
  auto firings = fireDueSchedules(schedules_, store_, options_.clock(), actions);
  if (!firings.ok()) return logError("firing schedules", firings.status());
  for (const Firing& firing : *firings) {
    switch (firing.outcome) {
      case Firing::Outcome::kSubmitted:
        ++firings_submitted_;
        break;
      case Firing::Outcome::kSkipped:
        ++firings_skipped_;
        break;
      case Firing::Outcome::kFailed:
        ++firings_failed_;
        logError("schedule " + std::to_string(firing.schedule), invalidArgument(firing.reason));
        break;
    }
    firings_replaced_ += static_cast<std::int64_t>(firing.replaced.size());
  }
}

void Service::writeScheduleMetrics(std::ostream& out) const {
  out << "# HELP aimass_jobs_schedule_firings_total Schedule firings since the service "
         "started, by outcome (submitted a job, skipped on overlap, failed).\n"
      << "# TYPE aimass_jobs_schedule_firings_total counter\n"
      << "aimass_jobs_schedule_firings_total{outcome=\"submitted\"} " << firings_submitted_
      << "\n"
      << "aimass_jobs_schedule_firings_total{outcome=\"skipped\"} " << firings_skipped_ << "\n"
      << "aimass_jobs_schedule_firings_total{outcome=\"failed\"} " << firings_failed_ << "\n"
      << "# HELP aimass_jobs_schedule_replaced_total Jobs cancelled by a firing with overlap "
         "replace.\n"
      << "# TYPE aimass_jobs_schedule_replaced_total counter\n"
      << "aimass_jobs_schedule_replaced_total " << firings_replaced_ << "\n";
}

}  // namespace aimass::core::jobs
