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
  struct NextCheck {
    Service& service;
    std::chrono::steady_clock::time_point now;
    ~NextCheck() { service.next_lease_check_ = now + service.renewEvery(); }
  } next_check{*this, now};
  if (leader_) {
    auto renewed = lease_.renew();
    if (renewed.ok() && *renewed) return true;
    if (!renewed.ok() && lease_.held()) {
      logError("renewing the scheduler lease (retrying until it expires)", renewed.status());
      return true;
    }
    stepDown(renewed.ok() ? "another service (" + lease_.lastHolder() +
                                ") took the scheduler lease"
                          : "the scheduler lease expired: " + renewed.status().message());
    return false;
  }
  auto taken = lease_.acquire();
  if (!taken.ok()) {
    logError("taking the scheduler lease", taken.status());
    return false;
  }
  if (!*taken) return false;
  const std::string previous = lease_.lastHolder();
  if (Status loaded = load(); !loaded.ok()) {
    logError("taking over the jobs", loaded);
    resetScheduler();
    lease_.release();
    return false;
  }
  leader_ = true;
  leading_ = true;
  std::cerr << "aimass jobs: this service now runs the jobs (it took the scheduler lease)\n";
  return true;
}

void Service::stepDown(const std::string& why) {
  std::cerr << "aimass jobs: standing by: " << why << "; stopping this service's workers\n";
  shutdownWorkers();
  resetScheduler();
  leader_ = false;
  leading_ = false;
}

void Service::resetScheduler() {
  JobScheduler fresh(options_.capacity);
  for (const QueueSpec& q : scheduler_.queues()) (void)fresh.addQueue(q);
  scheduler_ = std::move(fresh);
  missing_ids_.clear();
  next_unseen_id_ = 1;
}

void Service::readQueueEdits() {
  auto changes = storage_->get(kJobChangesKey);
  const std::string now = changes.ok() ? *changes : "";
  if (now == changes_seen_) return;
  changes_seen_ = now;
  applyQueueEdits();
}

}  // namespace aimass::core::jobs
