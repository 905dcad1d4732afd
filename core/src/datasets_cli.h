// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "aimass/core/dataset_registry.h"
#include "aimass/status.h"

namespace aimass::core {

/// One `aimass datasets ...` command line, parsed.
struct DatasetsCommand {
  std::string action;                  ///< list or show
  std::vector<std::string> arguments;  ///< the positional words after the action
  std::string config;                  ///< --config CONFIG (this or storage_uri)
  std::string storage_uri;             ///< --storage URI (this or config; see storage_uri.h)
  std::string storage_node;            ///< --storage-node NAME; empty: the first storage node
  bool json = false;                   ///< --json
};

/// `datasets list`: every dataset with its version count and latest version (JSON when
/// `as_json`: the body of GET /api/v1/datasets). The store's status on failure.
Status printDatasetList(const DatasetRegistry& registry, bool as_json, std::ostream& out);
/// `datasets show REFERENCE`: NAME lists its versions, NAME/VERSION shows one (JSON when
/// `as_json`). kNotFound for an unknown dataset or version, kInvalidArgument for a bad name.
Status printDataset(const DatasetRegistry& registry, const std::string& reference, bool as_json,
                    std::ostream& out);

/// The full help of `aimass datasets`.
extern const char kDatasetsHelp[];

/// Parses the words after "datasets" (options may come anywhere; --log-level and --plugin-path
/// with their values are skipped, the global parser has read them). kInvalidArgument with a
/// message fit for the user on any mistake.
Expected<DatasetsCommand> parseDatasetsCommand(const std::vector<std::string>& words);

/// Runs a parsed command on `registry`, printing results on `out` and errors on `err`.
/// Returns the exit code: 0 success; 2 an unknown dataset or version, or a bad name; 1 when
/// the store fails (I/O, a corrupt record).
int runDatasetsCommand(const DatasetsCommand& command, const DatasetRegistry& registry,
                       std::ostream& out, std::ostream& err);

}  // namespace aimass::core
