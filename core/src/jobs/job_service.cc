// SPDX-License-Identifier: Apache-2.0
#include "jobs/job_service.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>

#include "file_whole.h"
#include "jobs/queue_edits.h"
#include "jobs/launcher.h"
#include "record_text.h"

namespace aimass::core::jobs {
namespace {

constexpr std::int64_t kMiB = 1024 * 1024;
// How long a job id taken from the counter may have no record (its submitter is between the
// two writes) before the loop stops looking for it (the submitter died in between).
constexpr std::chrono::seconds kMissingRecordPatience{30};

std::vector<std::int64_t> readRunIds(const std::filesystem::path& file) {
  std::vector<std::int64_t> ids;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const std::string first = line.substr(0, line.find(' '));
    if (auto id = record::parseInt(first); id && std::find(ids.begin(), ids.end(), *id) == ids.end()) {
      ids.push_back(*id);
    }
  }
  return ids;
}

bool looksLikeOutOfMemory(const std::string& log) {
  for (const char* sign : {"bad_alloc", "Cannot allocate memory", "out of memory"}) {
    if (log.find(sign) != std::string::npos) return true;
  }
  return false;
}

std::string lastLine(const std::string& text) {
  std::size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) return {};
  const std::size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end + 1 - (start == std::string::npos ? 0 : start + 1));
}

}  // namespace

Status checkSubmission(const JobSubmission& submission, const JobScheduler& queues,
                       const GraphCheck& check_graph) {
  const std::optional<Resources> most = queues.largestAdmissible(submission.queue);
  if (!most) {
    std::string names;
    for (const QueueSpec& q : queues.queues()) names += (names.empty() ? "" : ", ") + q.name;
    return notFound("no queue named '" + submission.queue + "' (queues: " + names + ")");
  }
  if (!submission.resources.nonNegative()) {
    return invalidArgument("the job asks for negative amounts (" +
                           submission.resources.toString() + ")");
  }
  if (submission.resources.threads < 1) {
    return invalidArgument("the job needs at least 1 thread");
  }
  if (submission.ranks < 1) return invalidArgument("the job needs at least 1 rank");
  const Resources all = rankTotal(submission.resources, submission.ranks);
  if (!all.fitsIn(*most)) {
    return resourceExhausted("the job asks for " + all.toString() +
                             (submission.ranks > 1 ? " (" + std::to_string(submission.ranks) +
                                                         " ranks)"
                                                   : std::string()) +
                             " but queue '" + submission.queue + "' can give at most " +
                             most->toString());
  }
  return check_graph ? check_graph(submission) : okStatus();
}

Expected<std::unique_ptr<Service>> Service::start(std::shared_ptr<Storage> storage,
                                                        JobServiceOptions options,
                                                        GraphCheck check_graph) {
  std::unique_ptr<Service> service(
      new Service(std::move(storage), std::move(options), std::move(check_graph)));
  // Stored edits of the queues apply while the configuration's definition is unchanged.
  AIMASS_ASSIGN_OR_RETURN(std::vector<QueueSpec> queues,
                          effectiveQueues(*service->storage_, service->options_.queues));
  for (const QueueSpec& queue : queues) {
    AIMASS_RETURN_IF_ERROR(service->scheduler_.addQueue(queue));
    AIMASS_RETURN_IF_ERROR(service->admission_.addQueue(queue));
  }
  std::error_code error;
  std::filesystem::create_directories(service->options_.work_dir, error);
  if (error) {
    return unavailable("creating the job folder " + service->options_.work_dir.string() + ": " +
                       error.message());
  }
  AIMASS_RETURN_IF_ERROR(service->setUpMemoryLimits());
  service->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (service->wake_fd_ < 0) return unavailable(std::string("eventfd: ") + std::strerror(errno));
  // The first try at the lease here, so that a lone service has loaded its jobs (and reports
  // a store that fails) before start() returns.
  AIMASS_ASSIGN_OR_RETURN(bool leader, service->takeLeadership());
  if (!leader) {
    std::cerr << "aimass jobs: standing by: another service (" << service->lease_.lastHolder()
              << ") holds the scheduler lease jobs/scheduler in " << service->storage_->describe()
              << "; this one takes submissions and takes over when that one stops\n";
  }
  service->next_lease_check_ = std::chrono::steady_clock::now() + service->renewEvery();
  service->thread_ = std::thread([raw = service.get()] { raw->loop(); });
  return service;
}

Service::Service(std::shared_ptr<Storage> storage, JobServiceOptions options,
                       GraphCheck check)
    : storage_(storage),
      store_(storage),
      options_(std::move(options)),
      check_graph_(std::move(check)),
      scheduler_(options_.capacity),
      lease_(storage, "jobs/scheduler",
             std::chrono::duration<double>(options_.lease).count()),
      schedules_(storage),
      admission_(options_.capacity) {
  if (!options_.clock) options_.clock = record::nowUnixMs;
}

Service::~Service() {
  stop();
  if (cgroups_) cgroups_->removeAll();
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status Service::setUpMemoryLimits() {
  using MemoryLimit = JobServiceOptions::MemoryLimit;
  if (options_.slurm.enabled || options_.memory_limit == MemoryLimit::kAddressSpace) {
    return okStatus();
  }
  std::string why_not;
  cgroups_ = MemoryCgroups::detect(options_.cgroup_root, why_not);
  if (cgroups_) {
    std::cerr << "aimass jobs: job memory limits by " << cgroups_->describe() << "\n";
  } else if (options_.memory_limit == MemoryLimit::kCgroup) {
    return failedPrecondition("memory_limit: cgroup, but no memory cgroup can be made: " +
                              why_not);
  } else {
    std::cerr << "aimass jobs: job memory limits by address space (RLIMIT_AS): " << why_not
              << "\n";
  }
  return okStatus();
}

Status Service::useCgroup(const JobRecord& job, WorkerCommand& command, Active& active) {
  if (!cgroups_ || job.resources.memory_bytes <= 0) return okStatus();
  AIMASS_ASSIGN_OR_RETURN(active.cgroup,
                          cgroups_->create(job.id, job.attempts,
                                           job.resources.memory_bytes * std::max<std::int64_t>(1, job.ranks)));
  command.memory_bytes = 0;  // the cgroup limits it, not RLIMIT_AS
  command.environment.push_back("AIMASS_JOB_CGROUP=" + active.cgroup.string());
  return okStatus();
}

Status Service::load() {
  std::set<std::int64_t> reattached;
  AIMASS_RETURN_IF_ERROR(reattachSlurmJobs(reattached));
  auto requeued = store_.requeueInterrupted(
      [&reattached](const JobRecord& r) { return reattached.count(r.id) > 0; });
  if (!requeued.ok()) return requeued.status();
  auto changes = storage_->get(kJobChangesKey);
  changes_seen_ = changes.ok() ? *changes : "";
  auto records = store_.list();
  if (!records.ok()) return records.status();
  for (const JobRecord& r : *records) {
    next_unseen_id_ = std::max(next_unseen_id_, r.id + 1);
    if (r.state != JobState::kQueued || reattached.count(r.id)) continue;
    if (Status s = scheduler_.submit(r.request()); !s.ok()) {
      // The queues changed since it was submitted: it can never run here.
      AIMASS_RETURN_IF_ERROR(failQueued(r.id, "cannot run with the service's queues: " +
                                                  s.message()));
    }
  }
  return okStatus();
}

Status Service::failQueued(std::int64_t id, const std::string& reason) {
  auto failed = store_.update(id, [&reason](JobRecord& job) {
    if (job.state != JobState::kQueued) return aborted("no longer queued");
    job.state = JobState::kFailed;
    job.finished_ms = record::nowUnixMs();
    job.reason = reason;
    return okStatus();
  });
  return failed.ok() || failed.status().code() == StatusCode::kAborted ? okStatus()
                                                                       : failed.status();
}

Expected<JobRecord> submitToStore(JobStore& store, const JobSubmission& submission) {
  JobRecord record;
  record.queue = submission.queue;
  record.owner = submission.owner;
  record.priority = submission.priority;
  record.resources = submission.resources;
  record.ranks = submission.ranks;
  record.preemptible = submission.preemptible;
  record.config_name = submission.config_name;
  record.config = submission.config;
  record.base_dir = submission.base_dir.string();
  record.schedule_id = submission.schedule_id;
  return store.submit(std::move(record));
}

Expected<JobRecord> cancelInStore(JobStore& store, Storage& storage, std::int64_t id) {
  auto changed = store.update(id, [id](JobRecord& r) {
    if (isFinal(r.state)) {
      return failedPrecondition("job " + std::to_string(id) + " has already ended (" +
                                std::string(jobStateName(r.state)) + ")");
    }
    r.cancel_requested = true;
    if (r.state == JobState::kQueued) {
      r.state = JobState::kCancelled;
      r.finished_ms = record::nowUnixMs();
      r.reason = "cancelled before it ran";
    }
    return okStatus();
  });
  if (!changed.ok()) return changed;
  if (auto bumped = record::takeNextNumber(storage, kJobChangesKey); !bumped.ok()) {
    return bumped.status();
  }
  return changed;
}

Expected<JobRecord> Service::submit(const JobSubmission& submission) {
  AIMASS_RETURN_IF_ERROR(checkLauncher(submission.ranks, options_.worker.mpiexec));
  AIMASS_RETURN_IF_ERROR(checkSubmission(submission, admissionQueues(), check_graph_));
  auto stored = submitToStore(store_, submission);
  if (stored.ok()) wake();
  return stored;
}

JobScheduler Service::admissionQueues() const {
  std::lock_guard lock(admission_mutex_);
  return admission_;
}

Expected<QueueSpec> Service::updateQueue(const std::string& name, const JobQueueUpdate& update) {
  auto edited = editQueueInStore(*storage_, options_.queues, options_.capacity, name, update);
  if (!edited.ok()) return edited;
  {
    std::lock_guard lock(admission_mutex_);
    (void)admission_.updateQueue(*edited);
  }
  wake();
  return edited;
}

void Service::applyQueueEdits() {
  auto queues = effectiveQueues(*storage_, options_.queues);
  if (!queues.ok()) return logError("reading the queue edits", queues.status());
  for (const QueueSpec& spec : *queues) {
    const std::vector<QueueSpec>& current = scheduler_.queues();
    auto it = std::find_if(current.begin(), current.end(),
                           [&spec](const QueueSpec& q) { return q.name == spec.name; });
    if (it == current.end() || *it == spec) continue;
    if (Status s = scheduler_.updateQueue(spec); !s.ok()) {
      logError("applying the edit of queue '" + spec.name + "'", s);
      continue;
    }
    std::lock_guard lock(admission_mutex_);
    (void)admission_.updateQueue(spec);
  }
}

Expected<JobRecord> Service::cancel(std::int64_t id) {
  auto changed = cancelInStore(store_, *storage_, id);
  if (changed.ok()) wake();
  return changed;
}

// A running job's worker lists each run it starts in the job's folder (AIMASS_JOB_RUNS_FILE);
// the record gets them once the job ends (finishJob()).
void addRunsSoFar(JobRecord& record, const std::filesystem::path& work_dir) {
  if (record.state != JobState::kRunning) return;
  for (std::int64_t run : readRunIds(work_dir / std::to_string(record.id) / "runs")) {
    if (std::find(record.runs.begin(), record.runs.end(), run) == record.runs.end()) {
      record.runs.push_back(run);
    }
  }
}

Expected<JobRecord> Service::get(std::int64_t id) const {
  AIMASS_ASSIGN_OR_RETURN(JobRecord record, store_.get(id));
  addRunsSoFar(record, options_.work_dir);
  return record;
}

Expected<std::vector<JobRecord>> Service::list() const {
  AIMASS_ASSIGN_OR_RETURN(std::vector<JobRecord> records, store_.list());
  for (JobRecord& record : records) addRunsSoFar(record, options_.work_dir);
  return records;
}

Expected<std::string> Service::log(std::int64_t id, std::size_t max_bytes) const {
  auto record = store_.get(id);
  if (!record.ok()) return record.status();
  return logTail(options_.work_dir / std::to_string(id) / "log", max_bytes);
}

Expected<JobLogChunk> Service::logFrom(std::int64_t id, std::uint64_t offset,
                                       std::size_t max_bytes) const {
  auto record = store_.get(id);
  if (!record.ok()) return record.status();
  return logRange(options_.work_dir / std::to_string(id) / "log", offset, max_bytes);
}

std::string Service::prometheusMetrics() const {
  std::lock_guard lock(metrics_mutex_);
  return metrics_text_;
}

std::vector<Service::QueueState> Service::queueStates() const {
  std::lock_guard lock(metrics_mutex_);
  return queue_states_;
}

void Service::publishState() {
  std::vector<QueueState> states;
  for (const QueueSpec& q : scheduler_.queues()) {
    states.push_back({q, scheduler_.usage(q.name),
                      static_cast<std::int64_t>(scheduler_.waiting(q.name).size()),
                      scheduler_.runningCount(q.name)});
  }
  std::ostringstream out;
  auto family = [&out](const char* name, const char* help) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n";
  };
  family("aimass_jobs_scheduler_leader",
         "1 when this service holds the scheduler lease and runs the jobs, 0 on standby.");
  out << "aimass_jobs_scheduler_leader " << (leader_ ? 1 : 0) << "\n";
  family("aimass_jobs_waiting", "Jobs waiting for resources, by queue.");
  for (const QueueState& q : states) {
    out << "aimass_jobs_waiting{queue=\"" << q.spec.name << "\"} " << q.waiting << "\n";
  }
  family("aimass_jobs_running", "Jobs running (or stopping after a preemption), by queue.");
  for (const QueueState& q : states) {
    out << "aimass_jobs_running{queue=\"" << q.spec.name << "\"} " << q.running << "\n";
  }
  for (int family_index = 0; family_index < 2; ++family_index) {
    const char* name = family_index == 0 ? "aimass_jobs_quota_used" : "aimass_jobs_quota_nominal";
    family(name, family_index == 0 ? "What the queue's running jobs use, by resource."
                                   : "The queue's own quota, by resource.");
    for (const QueueState& q : states) {
      const Resources& r = family_index == 0 ? q.used : q.spec.nominal;
      for (const auto& [resource, value] :
           {std::pair{"threads", r.threads}, std::pair{"memory_bytes", r.memory_bytes},
            std::pair{"gpus", r.gpus}}) {
        out << name << "{queue=\"" << q.spec.name << "\",resource=\"" << resource << "\"} "
            << value << "\n";
      }
    }
  }
  writeScheduleMetrics(out);
  std::lock_guard lock(metrics_mutex_);
  metrics_text_ = out.str();
  queue_states_ = std::move(states);
}

void Service::wake() {
  const std::uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof one);
}

void Service::stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  wake();
  if (thread_.joinable()) thread_.join();
}

void Service::logError(const std::string& what, const Status& status) {
  std::cerr << "aimass jobs: " << what << ": " << status.message() << "\n";
}

void Service::loop() {
  while (!stopping_) {
    waitForEvents();
    if (keepLeadership()) {
      reapExited();
      fireSchedules();
      readStoreChanges();
      killOverdue();
      if (!stopping_) scheduleAndStart();
    } else if (changesCounterMoved()) {
      applyQueueEdits();  // edits made through other services, for the admission checks
    }
    publishState();
  }
  shutdownWorkers();
  if (leader_) lease_.release();
}

void Service::waitForEvents() {
  std::vector<pollfd> fds;
  fds.push_back({wake_fd_, POLLIN, 0});
  auto timeout = options_.poll_interval;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [id, active] : active_) {
    if (active.process->exitFd() >= 0) fds.push_back({active.process->exitFd(), POLLIN, 0});
    if (active.ending != Ending::kNone) {
      timeout = std::min(timeout, std::max(std::chrono::milliseconds(0),
                                           std::chrono::duration_cast<std::chrono::milliseconds>(
                                               active.kill_at - now)));
    }
  }
  (void)::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  std::uint64_t drained = 0;
  (void)!read(wake_fd_, &drained, sizeof drained);
}

void Service::reapExited() {
  for (auto it = active_.begin(); it != active_.end();) {
    const std::optional<WorkerExit> exit = it->second.process->poll();
    if (!exit) {
      ++it;
      continue;
    }
    finishJob(it->first, it->second, *exit);
    for (int device : it->second.gpus) gpus_in_use_.erase(device);
    if (!it->second.cgroup.empty()) removeCgroup(it->second.cgroup);
    it = active_.erase(it);
  }
}

bool Service::changesCounterMoved() {
  auto changes = storage_->get(kJobChangesKey);
  const std::string now = changes.ok() ? *changes : "";
  if (now == changes_seen_) return false;
  changes_seen_ = now;
  return true;
}

void Service::readStoreChanges() {
  // The counter first: a job submitted after a queue edit (checked against the edited queue)
  // must meet the scheduler with that edit applied.
  const bool changed = changesCounterMoved();
  if (changed) applyQueueEdits();
  loadNewJobs();
  if (changed) applyCancellations();
}

void Service::loadNewJobs() {
  // Ids up to the counter's value have been taken; their records follow.
  auto counter = storage_->get("jobs/next_id");
  if (!counter.ok()) return;
  const std::int64_t next = record::parseInt(*counter).value_or(next_unseen_id_);
  const auto now = std::chrono::steady_clock::now();
  for (std::int64_t id = next_unseen_id_; id < next; ++id) missing_ids_.emplace(id, now);
  next_unseen_id_ = std::max(next_unseen_id_, next);
  for (auto it = missing_ids_.begin(); it != missing_ids_.end();) {
    auto record = store_.get(it->first);
    if (!record.ok()) {
      const bool give_up = record.status().code() != StatusCode::kNotFound ||
                           now - it->second > kMissingRecordPatience;
      it = give_up ? missing_ids_.erase(it) : std::next(it);
      continue;
    }
    if (record->state == JobState::kQueued && !scheduler_.place(record->id)) {
      Status s = scheduler_.submit(record->request());
      if (!s.ok()) {
        // It may have been checked against a queue edit this loop has not applied yet.
        applyQueueEdits();
        s = scheduler_.submit(record->request());
      }
      if (!s.ok()) (void)failQueued(record->id, "refused: " + s.message());
    }
    it = missing_ids_.erase(it);
  }
}

void Service::applyCancellations() {
  std::vector<std::int64_t> known = scheduler_.running();
  for (const QueueSpec& q : scheduler_.queues()) {
    for (std::int64_t id : scheduler_.waiting(q.name)) known.push_back(id);
  }
  for (std::int64_t id : known) {
    auto record = store_.get(id);
    if (!record.ok() || !(record->cancel_requested || isFinal(record->state))) continue;
    auto active = active_.find(id);
    if (active != active_.end()) {
      terminate(id, active->second, Ending::kCancel);
    } else {
      (void)scheduler_.remove(id);
    }
  }
}

void Service::scheduleAndStart() {
  for (const Decision& decision : scheduler_.schedule()) {
    if (decision.kind == Decision::Kind::kPreempt) {
      auto active = active_.find(decision.job);
      if (active != active_.end()) {
        terminate(decision.job, active->second, Ending::kPreempt);
      } else {
        (void)scheduler_.stopped(decision.job);
      }
    } else {
      startJob(decision.job);
    }
  }
}

void Service::startJob(std::int64_t id) {
  const std::filesystem::path folder = options_.work_dir / std::to_string(id);
  auto started = store_.update(id, [](JobRecord& r) {
    if (r.state != JobState::kQueued || r.cancel_requested) return aborted("no longer queued");
    r.state = JobState::kRunning;
    r.attempts += 1;
    r.started_ms = record::nowUnixMs();
    r.worker_pid = 0;
    r.external_id.clear();
    return okStatus();
  });
  if (!started.ok()) {
    if (started.status().code() != StatusCode::kAborted) {
      logError("starting job " + std::to_string(id), started.status());
    }
    (void)scheduler_.remove(id);
    return;
  }
  auto fail = [&](const Status& why) {
    (void)store_.update(id, [&why](JobRecord& r) {
      r.state = JobState::kFailed;
      r.finished_ms = record::nowUnixMs();
      r.reason = "could not start its worker: " + why.message();
      return okStatus();
    });
    (void)scheduler_.remove(id);
  };
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) return fail(unavailable("creating " + folder.string() + ": " + error.message()));
  if (Status s = writeFileWhole(folder / "job.yaml", started->config); !s.ok()) return fail(s);
  {
    std::ofstream log(folder / "log", std::ios::app);
    log << "== aimass jobs: attempt " << started->attempts << " of job " << id << " ==\n";
  }
  WorkerCommand command = options_.worker;
  command.config = folder / "job.yaml";
  command.work_dir = started->base_dir.empty() ? folder : std::filesystem::path(started->base_dir);
  command.log_file = folder / "log";
  command.threads = static_cast<int>(std::max<std::int64_t>(1, started->resources.threads));
  command.memory_bytes = started->resources.memory_bytes;
  command.ranks = started->ranks;
  command.slots = options_.capacity.threads;
  command.environment.push_back("AIMASS_JOB_ID=" + std::to_string(id));
  command.environment.push_back("AIMASS_JOB_RUNS_FILE=" + (folder / "runs").string());
  command.environment.push_back("AIMASS_JOB_LOG_FILE=" + command.log_file.string());
  command.environment.push_back("AIMASS_JOB_CONFIG_NAME=" + started->config_name);
  // The job sees the devices it was given and no other.
  std::vector<int> gpus;
  for (int device = 0; device < static_cast<int>(options_.capacity.gpus) &&
                       static_cast<std::int64_t>(gpus.size()) <
                           started->request().resources.gpus;
       ++device) {
    if (!gpus_in_use_.count(device)) gpus.push_back(device);
  }
  std::string visible;
  for (int device : gpus) visible += (visible.empty() ? "" : ",") + std::to_string(device);
  // Under Slurm the job sees the devices of its allocation.
  if (!options_.slurm.enabled) command.environment.push_back("CUDA_VISIBLE_DEVICES=" + visible);
  Active active;
  if (Status s = useCgroup(*started, command, active); !s.ok()) return fail(s);
  auto process = launch(command, id, started->resources.gpus, folder);
  if (!process.ok()) {
    if (!active.cgroup.empty()) removeCgroup(active.cgroup);
    return fail(process.status());
  }
  const pid_t pid = (*process)->pid();
  const std::string external_id = (*process)->externalId();
  active.process = std::move(*process);
  active.gpus = gpus;
  gpus_in_use_.insert(gpus.begin(), gpus.end());
  active.folder = folder;
  active.attempt = started->attempts;
  active_.emplace(id, std::move(active));
  (void)store_.update(id, [pid, &external_id, attempt = started->attempts](JobRecord& r) {
    if (r.state != JobState::kRunning || r.attempts != attempt) return aborted("taken over");
    r.worker_pid = pid;
    r.external_id = external_id;
    return okStatus();
  });
}

Expected<std::unique_ptr<JobRun>> Service::launch(const WorkerCommand& command, std::int64_t id,
                                                  std::int64_t gpus,
                                                  const std::filesystem::path& folder) {
  if (options_.slurm.enabled) {
    AIMASS_ASSIGN_OR_RETURN(std::unique_ptr<SlurmJob> job,
                            SlurmJob::submit(options_.slurm, command, gpus, id, folder));
    return std::unique_ptr<JobRun>(std::move(job));
  }
  AIMASS_ASSIGN_OR_RETURN(std::unique_ptr<WorkerProcess> process, WorkerProcess::start(command));
  return std::unique_ptr<JobRun>(std::move(process));
}

Status Service::reattachSlurmJobs(std::set<std::int64_t>& reattached) {
  if (!options_.slurm.enabled) return okStatus();
  AIMASS_ASSIGN_OR_RETURN(std::vector<JobRecord> records, store_.list());
  for (const JobRecord& r : records) {
    if (r.state != JobState::kRunning || r.external_id.empty()) continue;
    std::unique_ptr<SlurmJob> job = SlurmJob::attach(options_.slurm, r.external_id);
    auto state = job->query();
    if (!state.ok() || state->ended()) continue;  // requeued: Slurm does not run it any more
    if (!scheduler_.adopt(r.request()).ok()) continue;
    Active active;
    active.process = std::move(job);
    active.folder = options_.work_dir / std::to_string(r.id);
    active.attempt = r.attempts;
    active_.emplace(r.id, std::move(active));
    reattached.insert(r.id);
  }
  return okStatus();
}

std::string Service::failureReason(const JobRecord& record, const Active& active,
                                      const WorkerExit& exit) const {
  const std::string tail = logTail(active.folder / "log", 4096);
  std::string reason = "its worker ended with " + exit.describe();
  if (!active.cgroup.empty()) {
    if (cgroupOomKills(active.cgroup) > 0) {
      reason = "over its memory limit of " +
               std::to_string(record.resources.memory_bytes / kMiB) + " MiB (" +
               cgroups_->versionName() + " memory; killed by the kernel's OOM killer): " + reason;
    }
  } else if (record.resources.memory_bytes > 0 &&
             (looksLikeOutOfMemory(tail) || (exit.signalled && exit.code != SIGTERM))) {
    reason = "over its memory limit of " + std::to_string(record.resources.memory_bytes / kMiB) +
             " MiB (address space, RLIMIT_AS): " + reason;
  }
  const std::string last = lastLine(tail);
  if (!last.empty()) reason += ": " + last;
  return reason;
}

void Service::finishJob(std::int64_t id, Active& active, const WorkerExit& exit) {
  const std::vector<std::int64_t> runs = readRunIds(active.folder / "runs");
  const Ending ending = active.ending;
  auto finished = store_.update(id, [&](JobRecord& r) {
    // Another service took the job over after this one lost the scheduler lease.
    if (r.state != JobState::kRunning || r.attempts != active.attempt) {
      return aborted("job " + std::to_string(id) + " is another service's now (attempt " +
                     std::to_string(r.attempts) + ")");
    }
    r.worker_pid = 0;
    r.runs = runs;
    if (ending == Ending::kPreempt && !r.cancel_requested) {
      r.state = JobState::kQueued;
      r.reason = "preempted to give borrowed quota back (" + exit.describe() +
                 "); it runs again when resources are free";
    } else if (ending == Ending::kShutdown && !r.cancel_requested) {
      r.state = JobState::kQueued;
      r.reason = "interrupted: the service stopped while it ran";
    } else if (ending == Ending::kCancel || r.cancel_requested) {
      r.state = JobState::kCancelled;
      r.reason = "cancelled while running (" + exit.describe() + ")";
      r.finished_ms = record::nowUnixMs();
    } else if (exit.ok()) {
      r.state = JobState::kSucceeded;
      r.reason.clear();
      r.finished_ms = record::nowUnixMs();
    } else {
      r.state = JobState::kFailed;
      r.reason = failureReason(r, active, exit);
      r.finished_ms = record::nowUnixMs();
    }
    return okStatus();
  });
  if (!finished.ok() && finished.status().code() != StatusCode::kAborted) {
    logError("recording the end of job " + std::to_string(id), finished.status());
  }
  const bool requeued = finished.ok() && finished->state == JobState::kQueued;
  if (ending == Ending::kPreempt && requeued) {
    (void)scheduler_.stopped(id);
  } else {
    (void)scheduler_.remove(id);
  }
}

void Service::terminate(std::int64_t, Active& active, Ending ending) {
  if (active.ending == Ending::kNone) {
    active.process->terminate();
    active.kill_at = std::chrono::steady_clock::now() + options_.grace_period;
  }
  // A cancellation wins over a preemption or a shutdown already under way.
  if (active.ending == Ending::kNone || ending == Ending::kCancel) active.ending = ending;
}

void Service::killOverdue() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& [id, active] : active_) {
    if (active.ending != Ending::kNone && now >= active.kill_at) {
      active.process->kill();
      active.kill_at = now + std::chrono::seconds(1);  // again if it outlives a SIGKILL somehow
    }
  }
}

void Service::shutdownWorkers() {
  // Slurm batch jobs go on without the service: the next one re-attaches to them.
  for (auto it = active_.begin(); it != active_.end();) {
    it = it->second.process->externalId().empty() ? std::next(it) : active_.erase(it);
  }
  for (auto& [id, active] : active_) terminate(id, active, Ending::kShutdown);
  while (!active_.empty()) {
    waitForEvents();
    killOverdue();
    reapExited();
  }
}

Resources detectCapacity() {
  Resources capacity;
  cpu_set_t cpus;
  capacity.threads = sched_getaffinity(0, sizeof cpus, &cpus) == 0
                         ? CPU_COUNT(&cpus)
                         : static_cast<std::int64_t>(std::thread::hardware_concurrency());
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  std::int64_t kib = 0;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemTotal:") {
      capacity.memory_bytes = kib * 1024;
      break;
    }
  }
  for (const char* limit_file : {"/sys/fs/cgroup/memory.max",
                                 "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(limit_file);
    std::string text;
    if (in >> text) {
      if (auto limit = record::parseInt(text); limit && *limit > 0 &&
                                               *limit < capacity.memory_bytes) {
        capacity.memory_bytes = *limit;
      }
    }
  }
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/dev", error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 6 && name.starts_with("nvidia") &&
        std::all_of(name.begin() + 6, name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      ++capacity.gpus;
    }
  }
  return capacity;
}

}  // namespace aimass::core::jobs
