// SPDX-License-Identifier: Apache-2.0
// The built-in `service.jobs` node: a job service in the graph's process (docs/jobs.md). The
// runtime starts it before the frontends (which serve it under /api/v1/jobs) and stops it after
// them; `aimass jobs` reads the same node's settings to submit to and read its store.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "aimass/core/diagnostics.h"
#include "aimass/host.h"
#include "aimass/job_service.h"
#include "aimass/node.h"
#include "aimass/params.h"
#include "aimass/plugin.h"
#include "aimass/storage.h"
#include "jobs/job_service.h"

namespace aimass::core {
class Graph;
class TypeRegistry;
}

namespace aimass::core::jobs {

inline constexpr char kJobsServiceType[] = "service.jobs";

/// The node's settings, checked: capacity (detected where the config leaves it to), queues
/// (one "default" queue with the whole capacity when none is configured), folders and timings.
/// kInvalidArgument naming the place (FILE:LINE:COL: queues.NAME) of a bad value.
Expected<JobServiceOptions> readJobServiceOptions(const ParamValues<ParamValue>& config,
                                                  const std::string& where);

/// The node: holds the settings and, between start() and stop(), the service.
///
/// Threading: start() and stop() on the host's main thread; the service is then safe from
/// any thread (aimass::JobService).
class JobsServiceNode final : public Node, public aimass::JobService {
 public:
  /// `base_dir`: where the relative paths of graphs submitted through submit() resolve (the
  /// folder of the service's configuration).
  JobsServiceNode(std::shared_ptr<Storage> storage, JobServiceOptions options,
                  GraphCheck check_graph, std::filesystem::path base_dir)
      : storage_(std::move(storage)),
        options_(std::move(options)),
        check_graph_(std::move(check_graph)),
        base_dir_(std::move(base_dir)) {}
  ~JobsServiceNode() override { stop(); }

  NodeKind kind() const noexcept override { return NodeKind::kService; }
  /// Requeues what a previous service left running and starts the loop.
  Status start();
  void stop();
  Service* service() { return service_.get(); }

  // aimass::JobService
  Expected<JobInfo> submit(const JobSubmitRequest& request) override;
  Expected<std::vector<JobInfo>> list() const override;
  Expected<JobInfo> get(std::int64_t id) const override;
  Expected<JobInfo> cancel(std::int64_t id) override;
  Expected<std::string> log(std::int64_t id, std::size_t max_bytes) const override;
  Expected<JobLogChunk> logFrom(std::int64_t id, std::uint64_t offset,
                                std::size_t max_bytes) const override;
  std::vector<JobQueueInfo> queues() const override;
  std::string prometheusMetrics() const override;
  Expected<JobScheduleInfo> createSchedule(const JobScheduleRequest& request) override;
  Expected<std::vector<JobScheduleInfo>> listSchedules() const override;
  Expected<JobScheduleInfo> getSchedule(std::int64_t id) const override;
  Status deleteSchedule(std::int64_t id) override;
  Expected<JobQueueInfo> updateQueue(const std::string& name,
                                     const JobQueueUpdate& update) override;

 private:
  JobSubmission submission(const JobSubmitRequest& request) const;
  Status notStarted() const;

  std::shared_ptr<Storage> storage_;
  JobServiceOptions options_;
  GraphCheck check_graph_;
  std::filesystem::path base_dir_;
  std::unique_ptr<Service> service_;
};

/// The static checks of a graph sent to a server, every problem found at its place
/// (FILE:LINE:COL, line and column 0 where a problem has none): the text parses and declares no
/// `plugins:` (the server's loaded types are what it may use), and every node validates against
/// `registry` (types, parameters, references; nothing is created and no storage opened, though
/// `include:`s are read relative to `base_dir`). Empty when the graph is valid; then `graph`,
/// when given, receives the validated graph. Never throws; safe from any thread once
/// `registry` is filled.
Diagnostics graphDiagnostics(const std::string& config, const std::string& config_name,
                             const std::filesystem::path& base_dir, const TypeRegistry& registry,
                             std::unique_ptr<Graph>* graph = nullptr);

/// graphDiagnostics(), and the graph has no frontend or service node (a job must end). Empty
/// when the graph may run as a job; then `graph`, when given, receives the validated graph.
Diagnostics jobGraphDiagnostics(const std::string& config, const std::string& config_name,
                                const std::filesystem::path& base_dir, const TypeRegistry& registry,
                                std::unique_ptr<Graph>* graph = nullptr);

/// The graph check every submission gets: jobGraphDiagnostics(), then the ranks it asks for
/// (checkDistributedGraph()); kInvalidArgument listing every diagnostic.
GraphCheck graphCheckFor(const TypeRegistry& registry);

/// Converts a stored record for clients.
JobInfo jobInfo(const JobRecord& record);
JobScheduleInfo scheduleInfo(const ScheduleRecord& record);
/// A queue and its use for clients (unlimited borrowing amounts as they are stored).
JobQueueInfo queueInfo(const Service::QueueState& state);

/// The `service.jobs` node type; submissions are checked against `registry`.
NodeType jobsServiceNodeType(const TypeRegistry& registry);

}  // namespace aimass::core::jobs
