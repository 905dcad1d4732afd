// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/host.h"
#include "aimass/plugin.h"
#include "aimass/status.h"

namespace aimass::testing {

/// What a plugin's register callback added, and how the callback ended.
struct RegisteredTypes {
  Status status;
  std::vector<NodeType> types;
  std::vector<StorageUriScheme> uri_schemes;  ///< what addStorageUriScheme() received
  std::vector<CliCommand> commands;           ///< what addCommand() received
};

/// Runs a plugin's register callback against a registrar that accepts every type, for plugin
/// unit tests that compile the plugin's sources into the test (the host's own checks on the
/// types are tested with the loader).
inline RegisteredTypes collectRegisteredTypes(const AimassPluginDescriptor& descriptor) {
  class Collector final : public Registrar {
   public:
    Status add(NodeType type) override {
      types.push_back(std::move(type));
      return Status();
    }
    Status addStorageUriScheme(StorageUriScheme scheme) override {
      uri_schemes.push_back(std::move(scheme));
      return Status();
    }
    Status addCommand(CliCommand command) override {
      commands.push_back(std::move(command));
      return Status();
    }
    std::vector<NodeType> types;
    std::vector<StorageUriScheme> uri_schemes;
    std::vector<CliCommand> commands;
  } collector;
  RegisteredTypes result;
  result.status = descriptor.register_types != nullptr
                      ? descriptor.register_types(collector)
                      : failedPrecondition("the descriptor has no register callback");
  result.types = std::move(collector.types);
  result.uri_schemes = std::move(collector.uri_schemes);
  result.commands = std::move(collector.commands);
  return result;
}

/// The host a factory sees in a plugin's unit test: `threads` threads, logs dropped, no routes,
/// the current folder as base, never asked to stop. Outlive every node made with it.
class FactoryHost final : public Host {
 public:
  explicit FactoryHost(int threads = 1) : threads_(threads) {}
  void log(LogLevel, std::string_view, std::string_view) override {}
  int threads() const override { return threads_; }
  std::filesystem::path baseDir() const override { return "."; }
  RouteTable& routes() override { return routes_; }
  std::string_view version() const override { return "test"; }
  bool stopRequested() const override { return false; }

 private:
  class NoRoutes final : public RouteTable {
   public:
    Status add(Route) override { return unimplemented("no routes in a factory test"); }
    std::vector<Route> routes() const override { return {}; }
  };
  int threads_;
  NoRoutes routes_;
};

}  // namespace aimass::testing
