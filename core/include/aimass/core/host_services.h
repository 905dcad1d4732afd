// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aimass/core/registry_services.h"
#include "aimass/core/serving.h"
#include "aimass/host.h"
#include "aimass/model.h"

namespace aimass::core {

/// The RouteTable nodes add their endpoints to.
class RouteTableImpl final : public RouteTable {
 public:
  Status add(Route route) override;
  std::vector<Route> routes() const override;

 private:
  mutable std::mutex mutex_;
  std::vector<Route> routes_;
};

/// Appends `text` to a log line with every byte that could break the line or drive a
/// terminal written visibly: "\n", "\r", "\t", and "\xNN" for the other C0 controls (ESC
/// among them), DEL, bytes that are not UTF-8 and the C1 controls U+0080-U+009F. Other UTF-8
/// is kept. Messages often carry what a client sent (paths, header values, model names).
void appendLogText(std::string& line, std::string_view text);

/// The host services handed to every node. Logs go to stderr as
/// "<time> <LEVEL> [<node>] <message>" (UTC ISO-8601 time, LEVEL one of DEBUG, INFO, WARNING,
/// ERROR; "[host]" when no node is named), one whole line at a time: node and message are
/// written with appendLogText(), so a message can never start a line of its own or carry a
/// terminal escape sequence.
class HostServices final : public Host {
 public:
  /// `threads` below 1 means every core of the machine.
  HostServices(std::filesystem::path base_dir, int threads);

  void log(LogLevel level, std::string_view node, std::string_view message) override;
  int threads() const override { return threads_; }
  std::filesystem::path baseDir() const override { return base_dir_; }
  RouteTable& routes() override { return routes_; }
  ModelServing* serving() override { return &serving_; }
  std::string_view version() const override;
  bool stopRequested() const override { return stop_requested_.load(); }
  ModelRegistryService* registry() override { return model_registry_.get(); }
  DatasetRegistryService* datasets() override { return dataset_registry_.get(); }
  TrackingService* tracking() override { return tracking_.get(); }
  JobService* jobs() override { return jobs_; }
  /// Offers `service` (the graph's service.jobs node, or null) as jobs(). Call before any
  /// frontend starts; the service must outlive them.
  void setJobService(JobService* service) { jobs_ = service; }

  /// Offers the registry, dataset registry and tracking of `storage` as registry(), datasets()
  /// and tracking(); null offers none. Call before any frontend starts (frontends read them
  /// when they start), from one thread.
  void setApiStorage(std::shared_ptr<Storage> storage);

  /// The serving runtime behind serving(): the graph's models are add()ed to it.
  ServingRuntime& servingRuntime() { return serving_; }
  void requestStop() { stop_requested_.store(true); }
  /// Only messages at this level or above are written (default kInfo).
  void setLogLevel(LogLevel level) { min_level_.store(level); }
  /// In a job of several ranks: every line names this process's rank ("[rank 1]"). Call
  /// before other threads log.
  void setLogRank(int rank) { log_rank_ = rank; }

 private:
  std::filesystem::path base_dir_;
  int threads_;
  RouteTableImpl routes_;
  ServingRuntime serving_;
  std::unique_ptr<StorageModelRegistry> model_registry_;
  std::unique_ptr<StorageDatasetRegistry> dataset_registry_;
  std::unique_ptr<StorageTracking> tracking_;
  JobService* jobs_ = nullptr;
  std::atomic<bool> stop_requested_{false};
  std::atomic<LogLevel> min_level_{LogLevel::kInfo};
  std::mutex log_mutex_;
  int log_rank_ = -1;  ///< >= 0: lines carry "[rank N]"
};

/// The host version string, from the CMake project version.
std::string_view hostVersion();

}  // namespace aimass::core
