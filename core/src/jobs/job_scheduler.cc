// SPDX-License-Identifier: Apache-2.0
#include "jobs/job_scheduler.h"

#include <algorithm>
#include <set>
#include <utility>

namespace aimass::core::jobs {

Resources& Resources::operator+=(const Resources& other) {
  threads += other.threads;
  memory_bytes += other.memory_bytes;
  gpus += other.gpus;
  return *this;
}

Resources& Resources::operator-=(const Resources& other) {
  threads -= other.threads;
  memory_bytes -= other.memory_bytes;
  gpus -= other.gpus;
  return *this;
}

bool Resources::fitsIn(const Resources& limit) const {
  return threads <= limit.threads && memory_bytes <= limit.memory_bytes && gpus <= limit.gpus;
}

bool Resources::nonNegative() const { return threads >= 0 && memory_bytes >= 0 && gpus >= 0; }

Resources Resources::max(const Resources& a, const Resources& b) {
  return {std::max(a.threads, b.threads), std::max(a.memory_bytes, b.memory_bytes),
          std::max(a.gpus, b.gpus)};
}

Resources Resources::min(const Resources& a, const Resources& b) {
  return {std::min(a.threads, b.threads), std::min(a.memory_bytes, b.memory_bytes),
          std::min(a.gpus, b.gpus)};
}

namespace {

std::string formatBytes(std::int64_t bytes) {
  constexpr std::int64_t kMiB = 1024 * 1024;
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

std::string Resources::toString() const {
  return "threads " + std::to_string(threads) + ", memory " + formatBytes(memory_bytes) +
         ", gpus " + std::to_string(gpus);
}

JobScheduler::JobScheduler(Resources capacity) : capacity_(capacity) {}

Status JobScheduler::checkQueue(const QueueSpec& spec) {
  const std::string where = "queue '" + spec.name + "'";
  if (spec.name.empty()) return invalidArgument("a queue needs a name");
  if (!spec.nominal.nonNegative()) {
    return invalidArgument(where + ": negative quota (" + spec.nominal.toString() + ")");
  }
  if (spec.max_running < 0) {
    return invalidArgument(where + ": max_running must be 0 (no limit) or more");
  }
  if (spec.borrowing_limit) {
    if (spec.cohort.empty()) {
      return invalidArgument(where + ": a borrowing limit needs a cohort to borrow from");
    }
    if (!spec.borrowing_limit->nonNegative()) {
      return invalidArgument(where + ": negative borrowing limit (" +
                             spec.borrowing_limit->toString() + ")");
    }
  }
  return okStatus();
}

Status JobScheduler::addQueue(QueueSpec spec) {
  AIMASS_RETURN_IF_ERROR(checkQueue(spec));
  if (findQueue(spec.name) != nullptr) {
    return invalidArgument("queue '" + spec.name + "' is defined twice");
  }
  state_.emplace(spec.name, QueueState{});
  queues_.push_back(std::move(spec));
  return okStatus();
}

Status JobScheduler::updateQueue(QueueSpec spec) {
  AIMASS_RETURN_IF_ERROR(checkQueue(spec));
  for (QueueSpec& queue : queues_) {
    if (queue.name != spec.name) continue;
    if (queue.cohort != spec.cohort) {
      return invalidArgument("queue '" + spec.name + "': its cohort cannot change while the "
                             "service runs");
    }
    queue = std::move(spec);
    return okStatus();
  }
  return notFound("no queue named '" + spec.name + "'");
}

const QueueSpec* JobScheduler::findQueue(std::string_view name) const {
  for (const QueueSpec& queue : queues_) {
    if (queue.name == name) return &queue;
  }
  return nullptr;
}

Resources JobScheduler::cohortNominal(const std::string& cohort) const {
  Resources total;
  for (const QueueSpec& queue : queues_) {
    if (queue.cohort == cohort) total += queue.nominal;
  }
  return total;
}

Resources JobScheduler::cohortUsage(const std::string& cohort) const {
  Resources total;
  for (const QueueSpec& queue : queues_) {
    if (queue.cohort == cohort) total += state_.find(queue.name)->second.used;
  }
  return total;
}

std::optional<Resources> JobScheduler::largestAdmissible(std::string_view name) const {
  const QueueSpec* queue = findQueue(name);
  if (queue == nullptr) return std::nullopt;
  Resources most = queue->nominal;
  if (!queue->cohort.empty()) {
    Resources lendable = cohortNominal(queue->cohort) - queue->nominal;
    if (queue->borrowing_limit) lendable = Resources::min(lendable, *queue->borrowing_limit);
    most += lendable;
  }
  return Resources::min(most, capacity_);
}

Status JobScheduler::submit(const JobRequest& job) {
  if (jobs_.count(job.id) != 0) {
    return alreadyExists("job " + std::to_string(job.id) + " exists");
  }
  const std::optional<Resources> most = largestAdmissible(job.queue);
  if (!most) return notFound("no queue named '" + job.queue + "'");
  if (!job.resources.nonNegative()) {
    return invalidArgument("job " + std::to_string(job.id) + " asks for negative amounts (" +
                                   job.resources.toString() + ")");
  }
  if (!job.resources.fitsIn(*most)) {
    return resourceExhausted(
                  "job " + std::to_string(job.id) + " asks for " + job.resources.toString() +
                      " but queue '" + job.queue + "' can give at most " + most->toString() +
                      " (its quota, what its cohort may lend, and the machine's capacity " +
                      capacity_.toString() + ")");
  }
  Entry entry;
  entry.request = job;
  entry.submitted = ++sequence_;
  jobs_.emplace(job.id, std::move(entry));
  return okStatus();
}

Status JobScheduler::adopt(const JobRequest& job) {
  AIMASS_RETURN_IF_ERROR(submit(job));
  start(jobs_.at(job.id));
  return okStatus();
}

Status JobScheduler::remove(std::int64_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return notFound("no job " + std::to_string(id));
  if (it->second.place != JobPlace::kWaiting) stopRunning(it->second);
  jobs_.erase(it);
  return okStatus();
}

Status JobScheduler::stopped(std::int64_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return notFound("no job " + std::to_string(id));
  if (it->second.place != JobPlace::kStopping) {
    return failedPrecondition("job " + std::to_string(id) + " is not stopping");
  }
  stopRunning(it->second);
  return okStatus();
}

bool JobScheduler::fitsQuota(const QueueSpec& queue, const Resources& queue_use,
                             const Resources& cohort_use, const Resources& request) const {
  const Resources after = queue_use + request;
  if (queue.cohort.empty()) return after.fitsIn(queue.nominal);
  if (queue.borrowing_limit) {
    const Resources borrowed = Resources::max(after - queue.nominal, Resources{});
    if (!borrowed.fitsIn(*queue.borrowing_limit)) return false;
  }
  return (cohort_use + request).fitsIn(cohortNominal(queue.cohort));
}

bool JobScheduler::fits(const JobRequest& job) const {
  const QueueSpec& queue = *findQueue(job.queue);
  const QueueState& state = state_.find(queue.name)->second;
  if (queue.max_running != 0 && state.running >= queue.max_running) return false;
  if (!(used_ + job.resources).fitsIn(capacity_)) return false;
  const Resources cohort_use = queue.cohort.empty() ? state.used : cohortUsage(queue.cohort);
  return fitsQuota(queue, state.used, cohort_use, job.resources);
}

std::optional<std::vector<std::int64_t>> JobScheduler::reclaimFor(const JobRequest& job) const {
  const QueueSpec& queue = *findQueue(job.queue);
  const QueueState& state = state_.find(queue.name)->second;
  // Only a job within its own queue's quota takes quota back, and only from a cohort.
  if (queue.cohort.empty() || !(state.used + job.resources).fitsIn(queue.nominal)) {
    return std::nullopt;
  }
  if (queue.max_running != 0 && state.running >= queue.max_running) return std::nullopt;

  // What is in use once the jobs already stopping are gone.
  std::map<std::string, Resources, std::less<>> queue_use;
  for (const QueueSpec& other : queues_) queue_use[other.name] = state_.find(other.name)->second.used;
  Resources used = used_;
  Resources cohort_use = cohortUsage(queue.cohort);
  std::vector<const Entry*> borrowers;
  for (const auto& [id, entry] : jobs_) {
    const QueueSpec& other = *findQueue(entry.request.queue);
    if (entry.place == JobPlace::kStopping) {
      queue_use[other.name] -= entry.request.resources;
      used -= entry.request.resources;
      if (other.cohort == queue.cohort) cohort_use -= entry.request.resources;
    } else if (entry.place == JobPlace::kRunning && entry.request.preemptible &&
               other.cohort == queue.cohort && other.name != queue.name) {
      borrowers.push_back(&entry);
    }
  }
  const Resources own_use = queue_use[queue.name];
  auto fitsNow = [&] {
    return (used + job.resources).fitsIn(capacity_) &&
           fitsQuota(queue, own_use, cohort_use, job.resources);
  };
  if (fitsNow()) return std::vector<std::int64_t>{};
  // The least important first; among equals, the one that started last (it lost least work).
  std::sort(borrowers.begin(), borrowers.end(), [](const Entry* a, const Entry* b) {
    if (a->request.priority != b->request.priority) return a->request.priority < b->request.priority;
    return a->started > b->started;
  });
  std::vector<const Entry*> chosen;
  for (const Entry* victim : borrowers) {
    if (fitsNow()) break;
    const QueueSpec& victim_queue = *findQueue(victim->request.queue);
    Resources& victim_use = queue_use[victim_queue.name];
    if (victim_use.fitsIn(victim_queue.nominal)) continue;  // that queue borrows nothing now
    victim_use -= victim->request.resources;
    used -= victim->request.resources;
    cohort_use -= victim->request.resources;
    chosen.push_back(victim);
  }
  if (!fitsNow()) return std::nullopt;
  // Give back the victims that turned out not to be needed, most important first.
  for (auto it = chosen.begin(); it != chosen.end();) {
    used += (*it)->request.resources;
    cohort_use += (*it)->request.resources;
    if (fitsNow()) {
      it = chosen.erase(it);
    } else {
      used -= (*it)->request.resources;
      cohort_use -= (*it)->request.resources;
      ++it;
    }
  }
  std::vector<std::int64_t> ids;
  for (const Entry* victim : chosen) ids.push_back(victim->request.id);
  return ids;
}

double JobScheduler::ownerShare(const QueueSpec& queue, const std::string& owner) const {
  const QueueState& state = state_.find(queue.name)->second;
  auto it = state.used_by_owner.find(owner);
  if (it == state.used_by_owner.end()) return 0;
  const Resources& use = it->second;
  double share = 0;
  auto consider = [&share](std::int64_t used, std::int64_t owned) {
    share = std::max(share, owned > 0 ? static_cast<double>(used) / static_cast<double>(owned)
                                      : static_cast<double>(used));
  };
  consider(use.threads, queue.nominal.threads);
  consider(use.memory_bytes, queue.nominal.memory_bytes);
  consider(use.gpus, queue.nominal.gpus);
  return share;
}

std::vector<const JobScheduler::Entry*> JobScheduler::ordered(const QueueSpec& queue) const {
  std::vector<const Entry*> waiting;
  for (const auto& [id, entry] : jobs_) {
    if (entry.place == JobPlace::kWaiting && entry.request.queue == queue.name) {
      waiting.push_back(&entry);
    }
  }
  std::map<std::string, double> shares;
  if (queue.ordering == Ordering::kFairShare) {
    for (const Entry* entry : waiting) {
      shares.emplace(entry->request.owner, ownerShare(queue, entry->request.owner));
    }
  }
  std::sort(waiting.begin(), waiting.end(), [&](const Entry* a, const Entry* b) {
    if (a->request.priority != b->request.priority) return a->request.priority > b->request.priority;
    if (queue.ordering == Ordering::kFairShare) {
      const double share_a = shares[a->request.owner];
      const double share_b = shares[b->request.owner];
      if (share_a != share_b) return share_a < share_b;
    }
    return a->submitted < b->submitted;
  });
  return waiting;
}

std::vector<std::int64_t> JobScheduler::waiting(std::string_view name) const {
  std::vector<std::int64_t> ids;
  if (const QueueSpec* queue = findQueue(name)) {
    for (const Entry* entry : ordered(*queue)) ids.push_back(entry->request.id);
  }
  return ids;
}

void JobScheduler::start(Entry& entry) {
  QueueState& state = state_.find(entry.request.queue)->second;
  entry.place = JobPlace::kRunning;
  entry.started = ++sequence_;
  state.used += entry.request.resources;
  state.used_by_owner[entry.request.owner] += entry.request.resources;
  ++state.running;
  used_ += entry.request.resources;
}

void JobScheduler::stopRunning(Entry& entry) {
  QueueState& state = state_.find(entry.request.queue)->second;
  entry.place = JobPlace::kWaiting;
  state.used -= entry.request.resources;
  Resources& owner_use = state.used_by_owner[entry.request.owner];
  owner_use -= entry.request.resources;
  if (owner_use == Resources{}) state.used_by_owner.erase(entry.request.owner);
  --state.running;
  used_ -= entry.request.resources;
}

std::optional<JobScheduler::Candidate> JobScheduler::nominate(
    const QueueSpec& queue, bool within_quota, const std::set<std::int64_t>& skip) const {
  const QueueState& state = state_.find(queue.name)->second;
  if (queue.max_running != 0 && state.running >= queue.max_running) return std::nullopt;
  for (const Entry* entry : ordered(queue)) {
    if (skip.count(entry->request.id) != 0) continue;
    const bool within = (state.used + entry->request.resources).fitsIn(queue.nominal);
    if (within_quota && within) {
      if (fits(entry->request)) return Candidate{entry, {}, false};
      if (auto victims = reclaimFor(entry->request)) {
        return Candidate{entry, std::move(*victims), true};
      }
    } else if (!within_quota && fits(entry->request)) {
      return Candidate{entry, {}, false};
    }
    if (queue.strict_fifo) break;
  }
  return std::nullopt;
}

void JobScheduler::preempt(std::int64_t victim, std::vector<Decision>& decisions) {
  Entry& entry = jobs_.find(victim)->second;
  // A job started earlier in this call never ran: its start is taken back instead.
  auto started = std::find_if(decisions.begin(), decisions.end(), [victim](const Decision& d) {
    return d.kind == Decision::Kind::kStart && d.job == victim;
  });
  if (started != decisions.end()) {
    decisions.erase(started);
    stopRunning(entry);
    return;
  }
  entry.place = JobPlace::kStopping;
  decisions.push_back({Decision::Kind::kPreempt, victim, false});
}

std::vector<Decision> JobScheduler::schedule() {
  std::vector<Decision> decisions;
  // Every pass starts a job or settles one that waits for preempted jobs to stop; neither is
  // nominated again in this call, so the loop ends.
  std::set<std::int64_t> settled;
  reclaim_pending_ = false;
  for (;;) {
    // Jobs that fit their own queue's quota (taking back what others borrowed) go first; only
    // when none is left do jobs borrow, and not while a job waits for preempted jobs to stop
    // (a borrower would take the room they leave).
    std::vector<Candidate> candidates;
    for (const bool within_quota : {true, false}) {
      if (!within_quota && reclaim_pending_) break;
      for (const QueueSpec& queue : queues_) {
        if (auto candidate = nominate(queue, within_quota, settled)) {
          candidates.push_back(std::move(*candidate));
        }
      }
      if (!candidates.empty()) break;
    }
    if (candidates.empty()) return decisions;
    // Across queues: the higher priority, then the earlier submission.
    const Candidate& next = *std::min_element(
        candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
          if (a.entry->request.priority != b.entry->request.priority) {
            return a.entry->request.priority > b.entry->request.priority;
          }
          return a.entry->submitted < b.entry->submitted;
        });
    const std::int64_t id = next.entry->request.id;
    settled.insert(id);
    for (std::int64_t victim : next.victims) {
      settled.insert(victim);
      preempt(victim, decisions);
    }
    Entry& entry = jobs_.find(id)->second;
    // Preempted jobs not started in this call still hold their resources until they stop.
    if (next.waits_for_stops && !fits(entry.request)) {
      reclaim_pending_ = true;
      continue;
    }
    const QueueSpec& queue = *findQueue(entry.request.queue);
    start(entry);
    const bool borrowing = !state_.find(queue.name)->second.used.fitsIn(queue.nominal);
    decisions.push_back({Decision::Kind::kStart, id, borrowing});
  }
}

std::optional<JobPlace> JobScheduler::place(std::int64_t id) const {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second.place;
}

const JobRequest* JobScheduler::job(std::int64_t id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second.request;
}

Resources JobScheduler::usage(std::string_view name) const {
  auto it = state_.find(name);
  return it == state_.end() ? Resources{} : it->second.used;
}

std::int64_t JobScheduler::runningCount(std::string_view name) const {
  auto it = state_.find(name);
  return it == state_.end() ? 0 : it->second.running;
}

std::vector<std::int64_t> JobScheduler::running() const {
  std::vector<std::int64_t> ids;
  for (const auto& [id, entry] : jobs_) {
    if (entry.place != JobPlace::kWaiting) ids.push_back(id);
  }
  return ids;
}

}  // namespace aimass::core::jobs
