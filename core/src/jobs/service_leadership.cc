// SPDX-License-Identifier: Apache-2.0
// The job service's scheduler lease: of several services on one store, the one holding it runs
// the jobs; the others stand by and take over when it stops or dies (docs/jobs.md, "Several
// services on one store").
#include <algorithm>
#include <iostream>

#include "jobs/job_service.h"

namespace aimass::core::jobs {

std::chrono::steady_clock::duration Service::renewEvery() const {
  // The leader renews at a quarter of the lease's life; a standby looks as often as it polls.
  return leader_ ? std::chrono::steady_clock::duration(options_.lease / 4)
                 : std::min<std::chrono::steady_clock::duration>(options_.lease / 4,
                                                                 options_.poll_interval);
}

bool Service::keepLeadership() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_lease_check_) return leader_;
  if (leader_) {
    renewLeadership();
  } else if (auto taken = takeLeadership(); !taken.ok()) {
    logError("taking the scheduler lease and the jobs", taken.status());
  } else if (*taken) {
    std::cerr << "aimass jobs: this service now runs the jobs (it took the scheduler lease)\n";
  }
  next_lease_check_ = now + renewEvery();
  return leader_;
}

Expected<bool> Service::takeLeadership() {
  AIMASS_ASSIGN_OR_RETURN(bool taken, lease_.acquire());
  if (!taken) return false;
  if (Status loaded = load(); !loaded.ok()) {
    resetScheduler();
    lease_.release();
    return loaded;
  }
  leader_ = true;
  return true;
}

void Service::renewLeadership() {
  auto renewed = lease_.renew();
  if (renewed.ok() && *renewed) return;
  if (!renewed.ok() && lease_.held()) {
    logError("renewing the scheduler lease (retrying until it expires)", renewed.status());
    return;
  }
  stepDown(renewed.ok() ? "another service (" + lease_.lastHolder() + ") took the scheduler lease"
                        : "the scheduler lease expired: " + renewed.status().message());
}

void Service::stepDown(const std::string& why) {
  std::cerr << "aimass jobs: standing by: " << why << "; stopping this service's workers\n";
  shutdownWorkers();
  resetScheduler();
  leader_ = false;
}

void Service::resetScheduler() {
  JobScheduler fresh(options_.capacity);
  for (const QueueSpec& q : scheduler_.queues()) (void)fresh.addQueue(q);
  scheduler_ = std::move(fresh);
  missing_ids_.clear();
  next_unseen_id_ = 1;
}

}  // namespace aimass::core::jobs
