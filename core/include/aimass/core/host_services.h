// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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

/// The models of a graph offered for serving: each model node under its node name, version
/// "1". (The serving runtime will add registry versions and hot swap behind this interface.)
class GraphModelCatalog final : public ModelCatalog {
 public:
  void add(std::string name, std::string version, std::shared_ptr<const Model> model);
  /// Drops every entry. The host calls it after stopping the frontends and before destroying
  /// the graph, so the graph's reverse-order destruction is not held up by the catalog.
  void clear();
  std::vector<ServedModel> list() const override;
  Expected<ServedModel> find(std::string_view name, std::string_view version) const override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, std::shared_ptr<const Model>>> models_;
};

/// The host services handed to every node. Logs go to stderr as
/// "<time> <LEVEL> [<node>] <message>" (UTC ISO-8601 time, LEVEL one of DEBUG, INFO, WARNING,
/// ERROR; "[host]" when no node is named), one whole line at a time.
class HostServices final : public Host {
 public:
  /// `threads` below 1 means every core of the machine.
  HostServices(std::filesystem::path base_dir, int threads);

  void log(LogLevel level, std::string_view node, std::string_view message) override;
  int threads() const override { return threads_; }
  std::filesystem::path baseDir() const override { return base_dir_; }
  RouteTable& routes() override { return routes_; }
  const ModelCatalog& models() const override { return catalog_; }
  std::string_view version() const override;
  bool stopRequested() const override { return stop_requested_.load(); }

  GraphModelCatalog& catalog() { return catalog_; }
  void requestStop() { stop_requested_.store(true); }
  /// Only messages at this level or above are written (default kInfo).
  void setLogLevel(LogLevel level) { min_level_.store(level); }

 private:
  std::filesystem::path base_dir_;
  int threads_;
  RouteTableImpl routes_;
  GraphModelCatalog catalog_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<LogLevel> min_level_{LogLevel::kInfo};
  std::mutex log_mutex_;
};

/// The host version string, from the CMake project version.
std::string_view hostVersion();

}  // namespace aimass::core
