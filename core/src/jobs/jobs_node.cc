// SPDX-License-Identifier: Apache-2.0
#include "jobs/jobs_node.h"

#include <unistd.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "aimass/core/config.h"
#include "aimass/core/diagnostics.h"
#include "aimass/core/graph.h"
#include "aimass/core/type_registry.h"
#include "aimass/util/memory_size.h"
#include "jobs/launcher.h"
#include "param_conversion.h"

namespace aimass::core::jobs {
namespace {

constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max() / 4;

std::vector<ParamSpec> queueFields() {
  return {
      ParamSpec::string("cohort",
                        "Queues of one cohort lend each other the quota they leave unused; a "
                        "queue that needs its own quota back preempts the borrowers (default: "
                        "none, the queue never borrows).")
          .withDefault(std::string()),
      ParamSpec::integer("threads", "The queue's own quota of threads.").atLeast(0),
      ParamSpec::string("memory", "The queue's own quota of memory: 512MiB, 16GiB, ...")
          .withExample("16GiB"),
      ParamSpec::integer("gpus", "The queue's own quota of CUDA devices.")
          .atLeast(0)
          .withDefault(std::int64_t{0}),
      ParamSpec::integer("borrow_threads",
                         "Most threads the queue may borrow from its cohort (default: what the "
                         "cohort leaves unused).")
          .atLeast(0)
          .optional(),
      ParamSpec::string("borrow_memory", "Most memory it may borrow (default: no limit).")
          .optional(),
      ParamSpec::integer("borrow_gpus", "Most devices it may borrow (default: no limit).")
          .atLeast(0)
          .optional(),
      ParamSpec::integer("max_running", "Jobs running at once; 0: no limit.")
          .atLeast(0)
          .withDefault(std::int64_t{0}),
      ParamSpec::string("ordering",
                        "Which waiting job goes next, after priority: fifo (submission order) "
                        "or fair_share (the owner with the least of the queue's quota in use).")
          .oneOf({"fifo", "fair_share"})
          .withDefault(std::string("fifo")),
      ParamSpec::boolean("strict_fifo",
                         "true: a job that does not fit blocks the jobs behind it; false: "
                         "smaller jobs may start first.")
          .withDefault(false),
  };
}

Expected<QueueSpec> queueFromRecord(const std::string& name, const ParamRecord& record) {
  QueueSpec spec;
  spec.name = name;
  spec.cohort = record.getString("cohort");
  spec.nominal.threads = record.getInt("threads");
  AIMASS_ASSIGN_OR_RETURN(spec.nominal.memory_bytes,
                          parseMemorySize(record.getString("memory"),
                                          placeOf(record, "memory") + ".memory"));
  spec.nominal.gpus = record.getInt("gpus");
  const bool limited = record.has("borrow_threads") || record.has("borrow_memory") ||
                       record.has("borrow_gpus");
  if (limited) {
    if (spec.cohort.empty()) {
      return invalidArgument(placeOf(record) +
                             ": borrow_* limits need a cohort to borrow from (set cohort)");
    }
    Resources limit{kUnlimited, kUnlimited, kUnlimited};
    if (record.has("borrow_threads")) limit.threads = record.getInt("borrow_threads");
    if (record.has("borrow_memory")) {
      AIMASS_ASSIGN_OR_RETURN(limit.memory_bytes,
                              parseMemorySize(record.getString("borrow_memory"),
                                              placeOf(record, "borrow_memory") + ".borrow_memory"));
    }
    if (record.has("borrow_gpus")) limit.gpus = record.getInt("borrow_gpus");
    spec.borrowing_limit = limit;
  }
  spec.max_running = record.getInt("max_running");
  spec.ordering = record.getString("ordering") == "fair_share" ? Ordering::kFairShare
                                                                : Ordering::kFifo;
  spec.strict_fifo = record.getBool("strict_fifo");
  return spec;
}

JobResources sdkResources(const Resources& r) { return {r.threads, r.memory_bytes, r.gpus}; }

// Stored records, converted for clients.
template <typename Info, typename Record>
Expected<std::vector<Info>> converted(Expected<std::vector<Record>> records,
                                      Info (*convert)(const Record&)) {
  if (!records.ok()) return records.status();
  std::vector<Info> out;
  for (const Record& r : *records) out.push_back(convert(r));
  return out;
}

}  // namespace

Expected<JobServiceOptions> readJobServiceOptions(const ParamValues<ParamValue>& config,
                                                  const std::string& where) {
  JobServiceOptions options;
  const Resources detected = detectCapacity();
  options.capacity.threads =
      config.getInt("threads") > 0 ? config.getInt("threads") : detected.threads;
  if (config.getString("memory") == "auto") {
    options.capacity.memory_bytes = detected.memory_bytes;
  } else {
    AIMASS_ASSIGN_OR_RETURN(options.capacity.memory_bytes,
                            parseMemorySize(config.getString("memory"), where + ".memory"));
  }
  options.capacity.gpus = config.getInt("gpus") >= 0 ? config.getInt("gpus") : detected.gpus;
  options.work_dir = config.getPath("work_dir");
  options.grace_period = std::chrono::milliseconds(config.getInt("grace_period_ms"));
  options.poll_interval = std::chrono::milliseconds(config.getInt("poll_interval_ms"));
  options.lease = std::chrono::milliseconds(config.getInt("scheduler_lease_ms"));
  const std::string memory_limit = config.getString("memory_limit");
  options.memory_limit = memory_limit == "cgroup"    ? JobServiceOptions::MemoryLimit::kCgroup
                         : memory_limit == "rlimit" ? JobServiceOptions::MemoryLimit::kAddressSpace
                                                     : JobServiceOptions::MemoryLimit::kAuto;
  for (const auto& [name, record] : std::get<ParamRecordMap>(config.values().at("queues"))) {
    AIMASS_ASSIGN_OR_RETURN(QueueSpec spec, queueFromRecord(name, record));
    options.queues.push_back(std::move(spec));
  }
  if (options.queues.empty()) {
    QueueSpec all;
    all.name = "default";
    all.nominal = options.capacity;
    options.queues.push_back(all);
  }
  std::error_code error;
  options.worker.executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return unavailable("reading /proc/self/exe: " + error.message());
  auto mpiexec = findMpiexec(config.getString("mpirun"));
  if (!mpiexec.ok()) return mpiexec.status().withContext(where + ".mpirun");
  options.worker.mpiexec = *mpiexec;
  options.slurm.enabled = config.getString("launcher") == "slurm";
  options.slurm.partition = config.getString("slurm_partition");
  options.slurm.sbatch_args = config.getStringList("slurm_sbatch_args");
  options.slurm.poll_interval = std::chrono::milliseconds(config.getInt("slurm_poll_interval_ms"));
  options.slurm.bin_dir = config.getString("slurm_bin_dir");
  return options;
}

Status JobsServiceNode::start() {
  if (service_) return okStatus();
  AIMASS_ASSIGN_OR_RETURN(service_, Service::start(storage_, options_, check_graph_));
  return okStatus();
}

void JobsServiceNode::stop() {
  if (service_) service_->stop();
  service_.reset();
}

Status JobsServiceNode::notStarted() const {
  return unavailable("the job service is not running");
}

JobInfo jobInfo(const JobRecord& r) {
  JobInfo info;
  info.id = r.id;
  info.queue = r.queue;
  info.owner = r.owner;
  info.priority = r.priority;
  info.resources = sdkResources(r.resources);
  info.ranks = r.ranks;
  info.preemptible = r.preemptible;
  info.config_name = r.config_name;
  info.state = std::string(jobStateName(r.state));
  info.reason = r.reason;
  info.attempts = r.attempts;
  info.submitted_unix_ms = r.submitted_ms;
  info.started_unix_ms = r.started_ms;
  info.finished_unix_ms = r.finished_ms;
  info.cancel_requested = r.cancel_requested;
  info.worker_pid = r.worker_pid;
  info.external_id = r.external_id;
  info.runs = r.runs;
  info.schedule_id = r.schedule_id;
  return info;
}

JobScheduleInfo scheduleInfo(const ScheduleRecord& r) {
  JobScheduleInfo info;
  info.id = r.id;
  info.name = r.name;
  info.cron = r.cron;
  info.overlap = std::string(overlapName(r.overlap));
  info.queue = r.queue;
  info.owner = r.owner;
  info.priority = r.priority;
  info.resources = sdkResources(r.resources);
  info.preemptible = r.preemptible;
  info.config_name = r.config_name;
  info.ranks = r.ranks;
  info.created_unix_ms = r.created_ms;
  info.next_fire_unix_ms = r.next_fire_ms;
  info.last_fire_unix_ms = r.last_fire_ms;
  info.last_job = r.last_job;
  info.fires = r.fires;
  info.skips = r.skips;
  info.last_result = r.last_result;
  return info;
}

JobSubmission JobsServiceNode::submission(const JobSubmitRequest& request) const {
  JobSubmission submission;
  submission.config = request.config;
  submission.config_name = request.config_name.empty() ? "job.yaml" : request.config_name;
  submission.base_dir = base_dir_;
  submission.queue = request.queue.empty() ? options_.queues.front().name : request.queue;
  submission.owner = request.owner;
  submission.priority = request.priority;
  submission.resources = {request.resources.threads, request.resources.memory_bytes,
                          request.resources.gpus};
  submission.ranks = request.ranks;
  submission.preemptible = request.preemptible;
  return submission;
}

Expected<JobInfo> JobsServiceNode::submit(const JobSubmitRequest& request) {
  if (!service_) return notStarted();
  AIMASS_ASSIGN_OR_RETURN(JobRecord record, service_->submit(submission(request)));
  return jobInfo(record);
}

Expected<JobScheduleInfo> JobsServiceNode::createSchedule(const JobScheduleRequest& request) {
  if (!service_) return notStarted();
  ScheduleSubmission schedule;
  schedule.job = submission(request.job);
  schedule.name = request.name;
  schedule.cron = request.cron;
  const std::optional<Overlap> overlap = parseOverlap(request.overlap);
  if (!overlap) {
    return invalidArgument("'overlap' must be skip, queue or replace, not '" + request.overlap +
                           "'");
  }
  schedule.overlap = *overlap;
  AIMASS_ASSIGN_OR_RETURN(ScheduleRecord record, service_->createSchedule(schedule));
  return scheduleInfo(record);
}

Expected<std::vector<JobScheduleInfo>> JobsServiceNode::listSchedules() const {
  if (!service_) return notStarted();
  return converted(service_->listSchedules(), scheduleInfo);
}

Expected<JobScheduleInfo> JobsServiceNode::getSchedule(std::int64_t id) const {
  if (!service_) return notStarted();
  auto record = service_->getSchedule(id);
  if (!record.ok()) return record.status();
  return scheduleInfo(*record);
}

Status JobsServiceNode::deleteSchedule(std::int64_t id) {
  if (!service_) return notStarted();
  return service_->deleteSchedule(id);
}

Expected<JobQueueInfo> JobsServiceNode::updateQueue(const std::string& name,
                                                    const JobQueueUpdate& update) {
  if (!service_) return notStarted();
  AIMASS_ASSIGN_OR_RETURN(QueueSpec spec, service_->updateQueue(name, update));
  Service::QueueState state;
  for (const Service::QueueState& q : service_->queueStates()) {
    if (q.spec.name == name) state = q;
  }
  state.spec = std::move(spec);
  return queueInfo(state);
}

Expected<std::vector<JobInfo>> JobsServiceNode::list() const {
  if (!service_) return notStarted();
  return converted(service_->list(), jobInfo);
}

Expected<JobInfo> JobsServiceNode::get(std::int64_t id) const {
  if (!service_) return notStarted();
  AIMASS_ASSIGN_OR_RETURN(JobRecord record, service_->get(id));
  return jobInfo(record);
}

Expected<JobInfo> JobsServiceNode::cancel(std::int64_t id) {
  if (!service_) return notStarted();
  AIMASS_ASSIGN_OR_RETURN(JobRecord record, service_->cancel(id));
  return jobInfo(record);
}

Expected<std::string> JobsServiceNode::log(std::int64_t id, std::size_t max_bytes) const {
  if (!service_) return notStarted();
  return service_->log(id, max_bytes);
}

Expected<JobLogChunk> JobsServiceNode::logFrom(std::int64_t id, std::uint64_t offset,
                                               std::size_t max_bytes) const {
  if (!service_) return notStarted();
  return service_->logFrom(id, offset, max_bytes);
}

JobQueueInfo queueInfo(const Service::QueueState& q) {
  JobQueueInfo info;
  info.name = q.spec.name;
  info.cohort = q.spec.cohort;
  info.ordering = q.spec.ordering == Ordering::kFairShare ? "fair_share" : "fifo";
  info.nominal = sdkResources(q.spec.nominal);
  if (q.spec.borrowing_limit) info.borrowing_limit = sdkResources(*q.spec.borrowing_limit);
  info.max_running = q.spec.max_running;
  info.used = sdkResources(q.used);
  info.waiting = q.waiting;
  info.running = q.running;
  return info;
}

std::vector<JobQueueInfo> JobsServiceNode::queues() const {
  std::vector<JobQueueInfo> out;
  if (!service_) return out;
  for (const Service::QueueState& q : service_->queueStates()) out.push_back(queueInfo(q));
  return out;
}

std::string JobsServiceNode::prometheusMetrics() const {
  return service_ ? service_->prometheusMetrics() : std::string();
}

Diagnostics graphDiagnostics(const std::string& config, const std::string& config_name,
                             const std::filesystem::path& base_dir, const TypeRegistry& registry,
                             std::unique_ptr<Graph>* graph) {
  Diagnostics diagnostics;
  auto document = loadConfigFromString(config, config_name, base_dir, diagnostics);
  if (document && !document->plugin_paths.empty()) {
    diagnostics.push_back({{config_name, 0, 0},
                           "a graph sent to the server cannot load plugins (`plugins:`); it can "
                           "use every type the server has loaded",
                           ""});
  }
  std::unique_ptr<Graph> validated;
  if (document && diagnostics.empty()) {
    validated = Graph::validate(*document, registry, diagnostics);
  }
  if (diagnostics.empty() && !validated) {
    diagnostics.push_back({{config_name, 0, 0}, "it could not be read", ""});
  }
  if (diagnostics.empty() && graph != nullptr) *graph = std::move(validated);
  return diagnostics;
}

Diagnostics jobGraphDiagnostics(const std::string& config, const std::string& config_name,
                                const std::filesystem::path& base_dir, const TypeRegistry& registry,
                                std::unique_ptr<Graph>* graph) {
  std::unique_ptr<Graph> validated;
  Diagnostics diagnostics = graphDiagnostics(config, config_name, base_dir, registry, &validated);
  if (!diagnostics.empty()) return diagnostics;
  for (const GraphNode& node : validated->nodes()) {
    const NodeKind kind = node.type->type.kind;
    if (kind == NodeKind::kFrontend || kind == NodeKind::kService) {
      diagnostics.push_back({node.decl.where,
                             "node '" + node.decl.name + "' is a " +
                                 std::string(nodeKindName(kind)) +
                                 ", which never ends; a job's graph must end (train, evaluate, "
                                 "tune)",
                             ""});
    }
  }
  if (diagnostics.empty() && graph != nullptr) *graph = std::move(validated);
  return diagnostics;
}

GraphCheck graphCheckFor(const TypeRegistry& registry) {
  return [&registry](const JobSubmission& submission) -> Status {
    std::unique_ptr<Graph> graph;
    const Diagnostics diagnostics = jobGraphDiagnostics(submission.config, submission.config_name,
                                                        submission.base_dir, registry, &graph);
    if (!diagnostics.empty()) {
      return invalidArgument("the job's graph is not valid:\n" + formatDiagnostics(diagnostics));
    }
    return checkDistributedGraph(submission.ranks, *graph, registry);
  };
}

NodeType jobsServiceNodeType(const TypeRegistry& registry) {
  NodeType type;
  type.type = kJobsServiceType;
  type.kind = NodeKind::kService;
  type.summary =
      "A job service: graphs submitted as jobs (POST /api/v1/jobs, aimass jobs submit) wait in "
      "queues with quotas and run, each in a worker process, when resources are free";
  type.params = {
      ParamSpec::ref("storage", NodeKind::kStorage,
                     "Where jobs and their states are kept; a restarted service picks up the "
                     "jobs it finds there (running ones are requeued)."),
      ParamSpec::path("work_dir",
                      "A folder per job: its graph and its log (every attempt's output).")
          .withDefault(std::string("jobs")),
      ParamSpec::integer("threads", "Threads the service hands out; 0: the CPUs it may use.")
          .atLeast(0)
          .withDefault(std::int64_t{0}),
      ParamSpec::string("memory",
                        "Memory it hands out (512MiB, 16GiB, ...); auto: the machine's memory "
                        "(or its cgroup's limit).")
          .withDefault(std::string("auto")),
      ParamSpec::integer("gpus", "CUDA devices it hands out; -1: the devices found.")
          .atLeast(-1)
          .withDefault(std::int64_t{-1}),
      ParamSpec::integer("grace_period_ms",
                         "How long a cancelled or preempted job has to stop (and checkpoint) "
                         "after SIGTERM before SIGKILL.")
          .range(0, 3'600'000)
          .withDefault(std::int64_t{10000}),
      ParamSpec::integer("poll_interval_ms",
                         "How often the store is read for jobs submitted and cancelled by "
                         "other processes (aimass jobs).")
          .range(10, 60'000)
          .withDefault(std::int64_t{200}),
      ParamSpec::string("memory_limit",
                        "How a job's memory is enforced: cgroup (a memory cgroup per job: the "
                        "kernel counts resident memory and kills the job over it; cgroup v2, or "
                        "v1's memory hierarchy), rlimit (the worker's address space, RLIMIT_AS), "
                        "or auto (cgroup where this process can make one, else rlimit; the log "
                        "says which). Slurm jobs get Slurm's limits.")
          .oneOf({"auto", "cgroup", "rlimit"})
          .withDefault(std::string("auto")),
      ParamSpec::integer("scheduler_lease_ms",
                         "Several services on one store (docs/jobs.md, Several services): the "
                         "one holding the scheduler lease runs the jobs and renews it every "
                         "quarter of this; when it dies another takes over after this long (at "
                         "once on the same host).")
          .range(1000, 600'000)
          .withDefault(std::int64_t{10000}),
      ParamSpec::string("mpirun",
                        "The MPI launcher that starts jobs of several ranks (docs/jobs.md, "
                        "Scale-out); empty: the first mpirun or mpiexec on PATH.")
          .withDefault(std::string()),
      ParamSpec::string("launcher",
                        "Where jobs run: local (worker processes of this machine) or slurm "
                        "(each attempt a batch job of the Slurm cluster, sbatch; docs/jobs.md).")
          .oneOf({"local", "slurm"})
          .withDefault(std::string("local")),
      ParamSpec::string("slurm_partition",
                        "launcher: slurm: the partition jobs go to; empty: the cluster's default.")
          .withDefault(std::string()),
      ParamSpec::list("slurm_sbatch_args", ParamType::kStringList,
                      "launcher: slurm: more sbatch options for every job, as given "
                      "(--account=lab, --time=02:00:00, ...).")
          .withDefault(std::vector<std::string>{}),
      ParamSpec::integer("slurm_poll_interval_ms",
                         "launcher: slurm: how often a running batch job's state is read "
                         "(scontrol show job).")
          .range(100, 600'000)
          .withDefault(std::int64_t{2000}),
      ParamSpec::string("slurm_bin_dir",
                      "launcher: slurm: the folder with sbatch, scontrol and scancel (absolute); "
                      "empty: PATH.")
          .withDefault(std::string()),
  };
  type.params.push_back(ParamSpec::map("queues", queueFields(),
                                       "Queues by name, each with its quota. Without any, one "
                                       "queue named default owns the whole capacity.")
                            .withDefault(ParamRecordMap{})
                            .withExample("{research: {threads: 8, memory: 32GiB, cohort: lab}, "
                                         "prod: {threads: 8, memory: 32GiB, cohort: lab}}"));
  type.factory = [&registry](const NodeConfig& config) -> Expected<std::unique_ptr<Node>> {
    AIMASS_ASSIGN_OR_RETURN(JobServiceOptions options,
                            readJobServiceOptions(config, config.nodeName()));
    // Workers load every plugin library this process has (the same library twice is loaded
    // once), so a job can use any type the service checked its graph against.
    for (const RegisteredType* type : registry.all()) {
      const std::string& library = type->plugin ? type->plugin->library : std::string();
      auto& paths = options.worker.plugin_paths;
      if (!library.empty() && std::find(paths.begin(), paths.end(), library) == paths.end()) {
        paths.push_back(library);
      }
    }
    auto storage = config.getRef<Storage>("storage");
    return std::unique_ptr<Node>(std::make_unique<JobsServiceNode>(
        std::move(storage), std::move(options), graphCheckFor(registry), config.host().baseDir()));
  };
  return type;
}

}  // namespace aimass::core::jobs
