// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/http.h"
#include "aimass/status.h"

namespace aimass {

class DatasetRegistryService;
class JobService;
class ModelRegistryService;
class ModelServing;
class TrackingService;

enum class LogLevel { kDebug, kInfo, kWarning, kError };

/// Services the host offers every node. Implemented by the host; outlives every node.
///
/// Threading: all methods are thread-safe.
class Host {
 public:
  /// Writes a structured log line attributed to `node`. The message may carry what a client
  /// sent: the host writes control characters (newlines, ESC, ...) visibly escaped, so one
  /// call is always one line and never drives a terminal.
  virtual void log(LogLevel level, std::string_view node, std::string_view message) = 0;
  /// How many compute threads a node may use (the graph's `threads:` setting, default: cores).
  virtual int threads() const = 0;
  /// The folder relative paths in the configuration are resolved against.
  virtual std::filesystem::path baseDir() const = 0;
  /// Routes contributed by nodes, served by frontends.
  virtual RouteTable& routes() = 0;
  /// The host's version ("0.1.0").
  virtual std::string_view version() const = 0;
  /// True once SIGINT/SIGTERM asked the process to stop; long jobs poll it and return
  /// kCancelled.
  virtual bool stopRequested() const = 0;
  /// The serving runtime (aimass/serving.h): the models that can be served, pinned versions,
  /// batching, the model repository, statistics and metrics. Null when the host offers none
  /// (frontends then answer 503). Since ABI 4.0 the only way to the served models: the
  /// catalog of earlier versions (list, find) is part of ModelServing.
  virtual ModelServing* serving() { return nullptr; }
  /// The model registry (aimass/registry_service.h) of the storage the graph's frontends
  /// serve: the storage a frontend names as its `repository`, else the graph's only storage
  /// node. Null when the host has none (no such storage); frontends then offer no registry
  /// API. Set before any frontend starts and valid until the last one has stopped.
  /// Added in ABI 3.3, at the end of the interface, which only the host implements.
  virtual ModelRegistryService* registry() { return nullptr; }
  /// The dataset registry of the same storage as registry(); null when that is null.
  /// Added in ABI 3.3.
  virtual DatasetRegistryService* datasets() { return nullptr; }
  /// The experiment tracking of the same storage as registry(); null when that is null.
  /// Added in ABI 3.3.
  virtual TrackingService* tracking() { return nullptr; }
  /// The job service (aimass/job_service.h) of the graph's `service.jobs` node; null when the
  /// graph has none. Valid until the last frontend has stopped. Added in ABI 8.0.
  virtual JobService* jobs() { return nullptr; }

 protected:
  ~Host() = default;
};

}  // namespace aimass
