// SPDX-License-Identifier: Apache-2.0
#include "jobs_decode.h"

namespace aimass::client::detail {

namespace {

const char* orNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

/// Calls `set(handle, *value)` when `value` is set.
template <typename Handle, typename T, typename Setter>
void setIf(Handle* handle, const std::optional<T>& value, Setter set) {
  if (value) {
    set(handle, *value);
  }
}

}  // namespace

Job jobOf(const aimass_client_job* job) {
  Job out;
  out.id = aimass_client_job_id(job);
  out.state = aimass_client_job_state(job);
  out.queue = aimass_client_job_queue(job);
  out.owner = aimass_client_job_owner(job);
  out.priority = aimass_client_job_priority(job);
  aimass_client_job_resources(job, &out.resources.threads, &out.resources.memory_bytes,
                              &out.resources.gpus);
  out.preemptible = aimass_client_job_preemptible(job) != 0;
  out.config_name = aimass_client_job_config_name(job);
  out.reason = aimass_client_job_reason(job);
  out.attempts = aimass_client_job_attempts(job);
  out.submitted_unix_ms = aimass_client_job_submitted_unix_ms(job);
  out.started_unix_ms = aimass_client_job_started_unix_ms(job);
  out.finished_unix_ms = aimass_client_job_finished_unix_ms(job);
  out.cancel_requested = aimass_client_job_cancel_requested(job) != 0;
  out.worker_pid = aimass_client_job_worker_pid(job);
  out.ranks = aimass_client_job_ranks(job);
  out.external_id = aimass_client_job_external_id(job);
  out.schedule_id = aimass_client_job_schedule_id(job);
  for (std::size_t i = 0; i < aimass_client_job_run_count(job); ++i) {
    out.runs.push_back(aimass_client_job_run_at(job, i));
  }
  return out;
}

JobQueue jobQueueOf(const aimass_client_queue* queue) {
  JobQueue out;
  out.name = aimass_client_queue_name(queue);
  out.cohort = aimass_client_queue_cohort(queue);
  out.ordering = aimass_client_queue_ordering(queue);
  auto read = [queue](aimass_client_queue_quota which, JobResources& r) {
    return aimass_client_queue_resources(queue, which, &r.threads, &r.memory_bytes, &r.gpus) != 0;
  };
  read(AIMASS_CLIENT_QUEUE_NOMINAL, out.nominal);
  JobResources limit;
  if (read(AIMASS_CLIENT_QUEUE_BORROWING_LIMIT, limit)) {
    out.borrowing_limit = limit;
  }
  read(AIMASS_CLIENT_QUEUE_USED, out.used);
  out.max_running = aimass_client_queue_max_running(queue);
  out.waiting = aimass_client_queue_waiting(queue);
  out.running = aimass_client_queue_running(queue);
  return out;
}

JobSchedule jobScheduleOf(const aimass_client_schedule* s) {
  JobSchedule out;
  out.id = aimass_client_schedule_id(s);
  out.name = aimass_client_schedule_name(s);
  out.cron = aimass_client_schedule_cron(s);
  out.overlap = aimass_client_schedule_overlap(s);
  out.queue = aimass_client_schedule_queue(s);
  out.owner = aimass_client_schedule_owner(s);
  out.priority = aimass_client_schedule_priority(s);
  aimass_client_schedule_resources(s, &out.resources.threads, &out.resources.memory_bytes,
                                   &out.resources.gpus);
  out.preemptible = aimass_client_schedule_preemptible(s) != 0;
  out.config_name = aimass_client_schedule_config_name(s);
  out.created_unix_ms = aimass_client_schedule_created_unix_ms(s);
  out.next_fire_unix_ms = aimass_client_schedule_next_fire_unix_ms(s);
  out.last_fire_unix_ms = aimass_client_schedule_last_fire_unix_ms(s);
  out.last_job = aimass_client_schedule_last_job(s);
  out.fires = aimass_client_schedule_fires(s);
  out.skips = aimass_client_schedule_skips(s);
  out.last_result = aimass_client_schedule_last_result(s);
  return out;
}

SubmissionHandle submissionOf(const JobSubmission& s) {
  SubmissionHandle c(aimass_client_job_submission_create(s.config.c_str()));
  if (!c) {
    throw Error(ErrorCode::kOutOfMemory, 0, "out of memory for a job submission");
  }
  aimass_client_job_submission_set_config_name(c.get(), orNull(s.config_name));
  aimass_client_job_submission_set_queue(c.get(), orNull(s.queue));
  aimass_client_job_submission_set_memory(c.get(), orNull(s.memory));
  setIf(c.get(), s.memory_bytes, aimass_client_job_submission_set_memory_bytes);
  setIf(c.get(), s.priority, aimass_client_job_submission_set_priority);
  setIf(c.get(), s.threads, aimass_client_job_submission_set_threads);
  setIf(c.get(), s.gpus, aimass_client_job_submission_set_gpus);
  setIf(c.get(), s.ranks, aimass_client_job_submission_set_ranks);
  if (s.preemptible) {
    aimass_client_job_submission_set_preemptible(c.get(), *s.preemptible ? 1 : 0);
  }
  return c;
}

QueueUpdateHandle queueUpdateOf(const JobQueueUpdate& u) {
  QueueUpdateHandle c(aimass_client_queue_update_create());
  if (!c) {
    throw Error(ErrorCode::kOutOfMemory, 0, "out of memory for a queue update");
  }
  aimass_client_queue_update* h = c.get();
  aimass_client_code code = AIMASS_CLIENT_OK;
  auto keep = [&code](aimass_client_code c) { code = code ? code : c; };
  setIf(h, u.threads, [&](auto* p, auto v) { keep(aimass_client_queue_update_set_threads(p, v)); });
  keep(aimass_client_queue_update_set_memory(h, orNull(u.memory)));
  setIf(h, u.memory_bytes,
        [&](auto* p, auto v) { keep(aimass_client_queue_update_set_memory_bytes(p, v)); });
  setIf(h, u.gpus, [&](auto* p, auto v) { keep(aimass_client_queue_update_set_gpus(p, v)); });
  setIf(h, u.borrow_threads,
        [&](auto* p, auto v) { keep(aimass_client_queue_update_set_borrow_threads(p, v)); });
  keep(aimass_client_queue_update_set_borrow_memory(h, orNull(u.borrow_memory)));
  setIf(h, u.borrow_memory_bytes,
        [&](auto* p, auto v) { keep(aimass_client_queue_update_set_borrow_memory_bytes(p, v)); });
  setIf(h, u.borrow_gpus,
        [&](auto* p, auto v) { keep(aimass_client_queue_update_set_borrow_gpus(p, v)); });
  setIf(h, u.max_running,
        [&](auto* p, auto v) { keep(aimass_client_queue_update_set_max_running(p, v)); });
  keep(aimass_client_queue_update_set_ordering(h, orNull(u.ordering)));
  setIf(h, u.strict_fifo,
        [&](auto* p, bool v) { keep(aimass_client_queue_update_set_strict_fifo(p, v ? 1 : 0)); });
  if (code != AIMASS_CLIENT_OK) {
    throw Error(ErrorCode::kOutOfMemory, 0, "out of memory for a queue update");
  }
  return c;
}

}  // namespace aimass::client::detail
