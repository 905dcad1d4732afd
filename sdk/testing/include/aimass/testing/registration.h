// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <utility>
#include <vector>

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

}  // namespace aimass::testing
