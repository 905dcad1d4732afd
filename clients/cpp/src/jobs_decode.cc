// SPDX-License-Identifier: Apache-2.0
#include "jobs_decode.h"

namespace aimass::client::detail {

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

}  // namespace aimass::client::detail
