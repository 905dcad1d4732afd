// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/runtime.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "aimass/core/progress.h"
#include "aimass/frontend.h"
#include "aimass/model.h"
#include "aimass/storage.h"
#include "annotation/annotation_node.h"
#include "api_storage.h"
#include "config_fingerprint.h"
#include "console_api/console_routes.h"
#include "evaluation_routes.h"
#include "jobs/jobs_node.h"
#include "launcher_env.h"
#include "monitoring/monitor_node.h"
#include "pipeline/pipeline_node.h"
#include "serving_node.h"
#include "train_job.h"
#include "train_job_transfer.h"
#include "train_tracking.h"
#include "tune/tune_job.h"

namespace aimass::core {
namespace {

Status cancelled() { return Status(StatusCode::kCancelled, "cancelled"); }

}  // namespace

Runtime::ProgressDisplay Runtime::consoleProgress(Host& host, std::ostream& err) {
  return [&host, &err](const std::string& job, const std::function<void(JobProgress&)>& run) {
    ConsoleProgress progress(
        err, ConsoleProgress::stderrIsTerminal(),
        [&host, job](std::string_view line) { host.log(LogLevel::kInfo, job, line); });
    run(progress);
  };
}

Runtime::Runtime(Graph& graph, HostServices& host, Hooks hooks)
    : Runtime(graph, host, std::move(hooks), Options{}) {}

Runtime::Runtime(Graph& graph, HostServices& host, Hooks hooks, Options options)
    : graph_(graph), host_(host), hooks_(std::move(hooks)), options_(std::move(options)) {
  if (!hooks_.progress) {
    hooks_.progress = [](const std::string&, const std::function<void(JobProgress&)>& run) {
      SilentProgress silent;
      run(silent);
    };
  }
  if (!hooks_.wait_for_stop) {
    hooks_.wait_for_stop = [this] {
      while (!host_.stopRequested()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    };
  }
}

Status Runtime::run() {
  if (ran_) {
    return failedPrecondition("the runtime has already run its graph");
  }
  ran_ = true;
  // Lets the serving runtime create models of any plugin type when it loads registry versions
  // (serving.runtime's `repository`), through the same TypeRegistry::instantiate() as the graph.
  host_.servingRuntime().setModelFactory(typeRegistryModelFactory(graph_.registry(), host_));
  // Under mpirun without a distributed collective, each rank would run the whole graph alone.
  Status status = checkLauncherEnvironment(graph_);
  if (status.ok()) {
    status = guard("creating nodes", [&] { return graph_.instantiate(host_); });
  }
  // The ranks of a distributed job compare their configurations before any job runs.
  if (status.ok()) {
    status = checkConfigurationAcrossRanks(graph_);
  }
  if (status.ok()) {
    status = takeRank();
  }
  std::shared_ptr<const ServingNode> serving;
  if (status.ok()) {
    attachTrainTrackingContext(graph_);
    attachTrainModelFactory(graph_, host_);
    attachTuneContext(graph_);
    serving = servingNode();
  }
  if (status.ok() && options_.serve) {
    status = addRegistryApi();
  }
  if (status.ok()) {
    status = runJobs();
  }
  // The graph's models are served as the jobs left them: training prepares a model for its data,
  // which can change what it takes and gives (model.rnn becomes a forecaster or a classifier).
  // Each comes with the training-data profile its job made, for input validation.
  if (status.ok()) {
    const auto profiles = trainedProfiles(graph_);
    for (const GraphNode& node : graph_.nodes()) {
      if (node.instance && node.instance->kind() == NodeKind::kModel) {
        auto model = std::static_pointer_cast<const Model>(node.instance);
        const std::string type = savedModelType(*model, node.decl.type);
        auto profile = profiles.find(node.decl.name);
        host_.servingRuntime().add(node.decl.name, "1", std::move(model), type,
                                   profile == profiles.end() ? nullptr : profile->second);
      }
    }
  }
  // The serving settings apply once the jobs are done, so that `load` finds what they
  // registered; frontends start after that.
  if (status.ok() && options_.serve && serving) {
    status = serving->apply(host_.servingRuntime(), host_);
  }
  // Job services start before the frontends that serve them and stop after them.
  std::vector<std::shared_ptr<jobs::JobsServiceNode>> services;
  if (status.ok() && options_.serve) {
    for (const auto& [name, node] : graph_.nodesOfKind(NodeKind::kService)) {
      auto service = std::dynamic_pointer_cast<jobs::JobsServiceNode>(node);
      if (!service) continue;  // a monitor: started below, once the job service runs
      status = guard("service '" + name + "'", [&] { return service->start(); });
      if (!status.ok()) {
        status = Status(status.code(), "service '" + name + "' could not start: " +
                                           status.message());
        break;
      }
      host_.log(LogLevel::kInfo, name, "job service started");
      services.push_back(std::move(service));
      host_.setJobService(services.back().get());
    }
  }
  // Monitors start once serving and the job service run (they hot-swap and retrain), and stop
  // before them.
  std::vector<std::shared_ptr<MonitorNode>> monitors;
  if (status.ok() && options_.serve) {
    status = startMonitors(monitors);
  }
  std::vector<std::shared_ptr<annotation::AnnotationNode>> projects;
  if (status.ok() && options_.serve) {
    status = startProjects(projects);
  }
  if (status.ok() && options_.serve) {
    status = serve(!services.empty() || !monitors.empty() || !projects.empty());
  }
  for (auto it = projects.rbegin(); it != projects.rend(); ++it) (*it)->stop();
  stopMonitors(monitors);
  for (auto it = services.rbegin(); it != services.rend(); ++it) (*it)->stop();
  host_.setJobService(nullptr);
  // The serving runtime lets go of the graph's models, so that destroying the graph destroys
  // nodes in reverse dependency order while the host and the plugins are still there.
  host_.servingRuntime().clear();
  host_.setApiStorage(nullptr);
  return status;
}

Status Runtime::startMonitors(std::vector<std::shared_ptr<MonitorNode>>& monitors) {
  for (const auto& [name, node] : graph_.nodesOfKind(NodeKind::kService)) {
    auto monitor = std::dynamic_pointer_cast<MonitorNode>(node);
    if (!monitor) continue;
    Status started = guard("monitor '" + name + "'",
                           [&] { return monitor->start(&host_.servingRuntime()); });
    if (!started.ok()) {
      return Status(started.code(), "monitor '" + name + "' could not start: " +
                                        started.message());
    }
    host_.log(LogLevel::kInfo, name,
              "monitoring model '" + monitor->settings().model + "@" +
                  monitor->settings().alias + "'");
    monitors.push_back(std::move(monitor));
  }
  if (!monitors.empty()) {
    std::vector<const MonitorNode*> watching;
    for (const auto& monitor : monitors) watching.push_back(monitor.get());
    host_.servingRuntime().setMetricsExtension(
        [watching] { return monitorsPrometheusMetrics(watching); });
  }
  return Status();
}

void Runtime::stopMonitors(std::vector<std::shared_ptr<MonitorNode>>& monitors) {
  host_.servingRuntime().setMetricsExtension(nullptr);
  for (auto it = monitors.rbegin(); it != monitors.rend(); ++it) (*it)->stop();
  monitors.clear();
}

Status Runtime::startProjects(std::vector<std::shared_ptr<annotation::AnnotationNode>>& projects) {
  for (const auto& [name, node] : graph_.nodesOfKind(NodeKind::kService)) {
    auto project = std::dynamic_pointer_cast<annotation::AnnotationNode>(node);
    if (!project) continue;
    Status started = guard("annotation project '" + name + "'",
                           [&] { return project->start(&host_.servingRuntime()); });
    if (!started.ok()) {
      return Status(started.code(),
                    "annotation project '" + name + "' could not start: " + started.message());
    }
    host_.log(LogLevel::kInfo, name, "annotation project open");
    projects.push_back(std::move(project));
  }
  return okStatus();
}

std::shared_ptr<const ServingNode> Runtime::servingNode() const {
  // Graph::validate() lets a graph have one serving node at most.
  const auto nodes = graph_.nodesOfKind(NodeKind::kServing);
  return nodes.empty() ? nullptr
                       : std::static_pointer_cast<const ServingNode>(nodes.front().second);
}

Status Runtime::addRegistryApi() {
  std::string why;
  const GraphNode* store = apiStorageNode(graph_, why);
  std::shared_ptr<Storage> storage;
  if (store == nullptr || !store->instance) {
    host_.log(LogLevel::kDebug, "", "no registry services for the frontends: " + why);
  } else {
    storage = std::static_pointer_cast<Storage>(store->instance);
    host_.setApiStorage(storage);
    host_.log(LogLevel::kInfo, "",
              "frontends serve the registry of storage '" + store->decl.name + "'");
  }
  // The console's routes (studies, monitoring, node types, validation), for the frontends to
  // serve; a graph without one has no use for them.
  if (graph_.nodesOfKind(NodeKind::kFrontend).empty()) {
    return okStatus();
  }
  ConsoleApiSources sources;
  sources.types = &graph_.registry();
  sources.storage = storage;
  sources.base_dir = host_.baseDir();
  // A node that took one of their paths keeps it: the console lacks that route, the graph runs.
  if (Status added = addConsoleApiRoutes(host_, sources); !added.ok()) {
    host_.log(LogLevel::kWarning, "", "a console route was not added: " + added.message());
  }
  if (storage) {
    addEvaluationRoutes(host_, storage);  // job.evaluate's recorded reports
  }
  std::vector<std::shared_ptr<annotation::AnnotationNode>> projects;
  for (const auto& [name, node] : graph_.nodesOfKind(NodeKind::kService)) {
    if (auto project = std::dynamic_pointer_cast<annotation::AnnotationNode>(node)) {
      projects.push_back(std::move(project));
    }
  }
  if (Status added = annotation::addAnnotationRoutes(host_, std::move(projects)); !added.ok()) {
    host_.log(LogLevel::kWarning, "", "an annotation route was not added: " + added.message());
  }
  return okStatus();
}

std::vector<std::pair<std::string, std::shared_ptr<Node>>> Runtime::jobsInOrder() const {
  auto jobs = graph_.nodesOfKind(NodeKind::kJob);
  // job.tune runs its trial jobs itself, in worker processes.
  const auto trials = tuneTrialJobs(graph_);
  std::erase_if(jobs, [&](const auto& job) {
    return std::find(trials.begin(), trials.end(), job.first) != trials.end();
  });
  std::vector<std::string> last;  // names of the jobs whose type is in run_last
  for (const GraphNode& node : graph_.nodes()) {
    if (node.type != nullptr && std::find(options_.run_last.begin(), options_.run_last.end(),
                                          node.type->type.type) != options_.run_last.end()) {
      last.push_back(node.decl.name);
    }
  }
  auto runsLast = [&](const std::string& job) {
    return std::find(last.begin(), last.end(), job) != last.end();
  };
  std::stable_partition(jobs.begin(), jobs.end(),
                        [&](const auto& job) { return !runsLast(job.first); });
  return jobs;
}

Status Runtime::takeRank() {
  const auto [name, collective] = distributedCollective(graph_);
  if (collective == nullptr) {
    return Status();
  }
  collective_ = name;
  rank_ = collective->rank();
  host_.setLogRank(rank_);
  if (rank_ != 0) {
    // Every rank runs the same graph: one frontend (port) and one job service are enough.
    options_.serve = false;
    host_.log(LogLevel::kInfo, "",
              "rank " + std::to_string(rank_) + " of " + std::to_string(collective->size()) +
                  ": runs the jobs that use collective '" + name +
                  "'; the other jobs, frontends and services run on rank 0");
  }
  return Status();
}

bool Runtime::runsOnThisRank(const std::string& job) const {
  if (rank_ == 0) {
    return true;
  }
  for (const GraphNode& node : graph_.nodes()) {
    if (node.decl.name != job) {
      continue;
    }
    return std::any_of(node.refs.begin(), node.refs.end(), [&](const auto& ref) {
      return std::find(ref.second.begin(), ref.second.end(), collective_) != ref.second.end();
    });
  }
  return false;
}

Status Runtime::runJobs() {
  for (const auto& [name, node] : jobsInOrder()) {
    if (host_.stopRequested()) {
      return cancelled();
    }
    if (!runsOnThisRank(name)) {
      continue;
    }
    auto& job = static_cast<Job&>(*node);
    host_.log(LogLevel::kInfo, name, "job started");
    Status status;
    hooks_.progress(name, [&](JobProgress& progress) {
      status = guard("job '" + name + "'", [&] { return job.run(host_, progress); });
    });
    if (status.code() == StatusCode::kCancelled || (!status.ok() && host_.stopRequested())) {
      return cancelled();
    }
    if (!status.ok()) {
      return Status(status.code(), "job '" + name + "' failed: " + status.toString());
    }
    host_.log(LogLevel::kInfo, name, "job finished");
    if (hooks_.job_finished) {
      hooks_.job_finished(name, job);
    }
  }
  return host_.stopRequested() ? cancelled() : okStatus();
}

Status Runtime::serve(bool services_running) {
  auto frontends = graph_.nodesOfKind(NodeKind::kFrontend);
  if (frontends.empty() && !services_running) {
    host_.log(LogLevel::kInfo, "", "no frontend to serve; done");
    return okStatus();
  }
  std::vector<Frontend*> started;
  auto stopAll = [&] {
    for (auto it = started.rbegin(); it != started.rend(); ++it) {
      (*it)->stop();
    }
  };
  for (const auto& [name, node] : frontends) {
    auto& frontend = static_cast<Frontend&>(*node);
    Status status = guard("frontend '" + name + "'", [&] { return frontend.start(host_); });
    if (!status.ok()) {
      stopAll();
      return Status(status.code(), "frontend '" + name + "' could not start: " + status.toString());
    }
    started.push_back(&frontend);
    if (hooks_.frontend_started) {
      hooks_.frontend_started(name, frontend.endpoint());
    }
  }
  hooks_.wait_for_stop();
  stopAll();
  return okStatus();
}

}  // namespace aimass::core
