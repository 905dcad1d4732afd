// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/job.h"
#include "aimass/status.h"

namespace aimass::core {

class MonitorNode;
namespace annotation {
class AnnotationNode;
}

class ServingNode;

/// Runs a validated graph, as `aimass run` and `aimass eval` do, without the command line:
/// creates the nodes, offers the registry services and the model nodes to frontends, runs the
/// jobs in order (each with a progress display), applies the serving.runtime node (batching,
/// version policies, repository, `load`), starts the frontends, waits until it is told to stop,
/// then stops the frontends in reverse order and lets the serving runtime go of the graph's
/// models. Options leave out the serving and reorder the jobs (`aimass eval`).
///
/// Ownership: borrows the graph (and through it the type registry) and the host; both must
/// outlive the Runtime. The graph's nodes stay alive after run() returns; destroy the graph
/// (in reverse dependency order) before the host.
///
/// Threading: run() blocks the calling thread; only the wait hook and the host's requestStop()
/// may be used from other threads while it runs.
class Runtime {
 public:
  /// Shows the progress of one job: makes a display for `job` and calls `run` with it (the
  /// display lives as long as the call). The CLI draws a ConsoleProgress on stderr.
  using ProgressDisplay =
      std::function<void(const std::string& job, const std::function<void(JobProgress&)>& run)>;
  /// Blocks until the frontends should stop (the CLI waits for SIGINT/SIGTERM).
  using WaitForStop = std::function<void()>;
  /// Told about each frontend once it serves, with its endpoint ("http://127.0.0.1:8080").
  using StartedHook = std::function<void(std::string_view frontend, std::string_view endpoint)>;

  /// Told about each job once it finished OK (`aimass eval` collects the reports).
  using JobFinishedHook = std::function<void(std::string_view job, Job& node)>;

  struct Hooks {
    /// Default: a display that shows nothing.
    ProgressDisplay progress;
    /// Default: polls the host's stopRequested() every 10 ms.
    WaitForStop wait_for_stop;
    /// Default: nothing.
    StartedHook frontend_started;
    /// Default: nothing.
    JobFinishedHook job_finished;
  };

  /// What run() does besides creating the nodes and running the jobs.
  struct Options {
    /// Offer the registry API and start the frontends once the jobs are done (`aimass run`).
    /// False for `aimass eval`, which only runs jobs: no route is added, no frontend starts.
    bool serve = true;
    /// Jobs of these node types run after every other job (each group in graph order):
    /// `aimass eval` runs training first and then the job.evaluate nodes.
    std::vector<std::string> run_last;
  };

  /// The display the CLI uses: a ConsoleProgress per job on `err` (redrawn in place on a
  /// terminal), whose summary lines also go to the host's log under the job's name. `host` and
  /// `err` must outlive every run.
  static ProgressDisplay consoleProgress(Host& host, std::ostream& err);

  Runtime(Graph& graph, HostServices& host, Hooks hooks = {});
  Runtime(Graph& graph, HostServices& host, Hooks hooks, Options options);

  /// Runs the graph once. OK when every job finished and, if there were frontends, they served
  /// until the stop and stopped. kCancelled when a stop was requested before the jobs were done
  /// (or a job reported a cancellation). Any other error names what failed, in the words the
  /// CLI prints: the node that could not be created (Graph::instantiate()), "job 'NAME' failed:
  /// ...", "frontend 'NAME' could not start: ...". Frontends started before a failure are
  /// stopped. A second call is kFailedPrecondition.
  ///
  /// Distributed runs: before creating nodes, a process that an MPI launcher started as one of
  /// several ranks is refused (kFailedPrecondition) unless the graph has a distributed
  /// collective (checkLauncherEnvironment, core/src/launcher_env.h); once the nodes exist, the
  /// ranks of a collective of more than one rank compare their configurations and all fail
  /// naming the differing node (checkConfigurationAcrossRanks, core/src/config_fingerprint.h).
  Status run();

 private:
  /// Offers the registry, datasets and runs of the frontends' storage (apiStorageNode() in
  /// api_storage.h) as the host's services, before any frontend starts, since frontends look
  /// for them when they start; with a frontend in the graph, also adds the console's routes
  /// (console_api/console_routes.h), the storage-backed ones only with that storage.
  Status addRegistryApi();
  /// The graph's serving.runtime node; null when it has none.
  std::shared_ptr<const ServingNode> servingNode() const;
  /// The graph's jobs in topological order, those of the run_last types moved to the end.
  std::vector<std::pair<std::string, std::shared_ptr<Node>>> jobsInOrder() const;
  Status runJobs();
  /// Starts the frontends and waits for a stop; with neither frontends nor running job services
  /// there is nothing to wait for.
  Status serve(bool services_running);
  /// Starts the graph's service.monitor nodes (and their metrics); stopMonitors() stops them.
  Status startMonitors(std::vector<std::shared_ptr<MonitorNode>>& monitors);
  void stopMonitors(std::vector<std::shared_ptr<MonitorNode>>& monitors);
  /// Starts the graph's service.annotation nodes (their records read, their loops running).
  Status startProjects(std::vector<std::shared_ptr<annotation::AnnotationNode>>& projects);

  /// Several ranks (a collective of more than one rank in the graph): on ranks other than 0,
  /// only the jobs that reference that collective run, and nothing is served.
  Status takeRank();
  bool runsOnThisRank(const std::string& job) const;

  Graph& graph_;
  HostServices& host_;
  std::string collective_;  ///< the distributed collective's node name; empty: one process
  int rank_ = 0;
  Hooks hooks_;
  Options options_;
  bool ran_ = false;
};

}  // namespace aimass::core
