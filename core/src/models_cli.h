// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/graph.h"
#include "aimass/core/registry.h"
#include "aimass/host.h"
#include "aimass/status.h"
#include "aimass/storage.h"
#include "text_format.h"

namespace aimass::core {

/// One `aimass models ...` command line, parsed.
struct ModelsCommand {
  std::string action;                  ///< list, show, promote, rollback, delete, tag or gc
  std::vector<std::string> arguments;  ///< the positional words after the action
  std::string config;                  ///< --config CONFIG (this or storage_uri)
  std::string storage_uri;             ///< --storage URI (this or config; see storage_uri.h)
  std::string storage_node;            ///< --storage-node NAME; empty: the first storage node
  std::string alias;                   ///< --alias ALIAS (promote, rollback)
  bool json = false;                   ///< --json (list, show)
  bool force = false;                  ///< --force (delete)
  std::vector<std::string> remove_tags;  ///< --remove KEY, repeatable (tag)
  bool dry_run = false;                  ///< --dry-run (gc)
  std::int64_t min_age_seconds = 3600;   ///< --min-age SECONDS (gc)
};


/// `models list`: every model with its version count, latest version and aliases; JSON when
/// `as_json` (the body of GET /api/v1/models). The registry's status on failure.
Status printModelList(ModelRegistry& registry, bool as_json, std::ostream& out);
/// `models show REFERENCE`: NAME lists the model's versions and aliases (kInvalidArgument for a
/// bad name); NAME/VERSION or NAME@ALIAS shows one version after re-hashing its artifact
/// (kDataLoss when it no longer matches or is missing). JSON when `as_json`.
Status printModel(ModelRegistry& registry, const std::string& reference, bool as_json,
                  std::ostream& out);
/// `models history NAME`: the model's events, oldest first; JSON (the body of GET
/// /api/v1/models/{name}/events) when `as_json`. kNotFound for a model with neither versions,
/// aliases nor events.
Status printModelHistory(ModelRegistry& registry, const std::string& model, bool as_json,
                         std::ostream& out);

/// The full help of `aimass models`.
extern const char kModelsHelp[];

/// Parses the words after "models" (options may come anywhere; --log-level and --plugin-path
/// with their values are skipped, the global parser has read them). kInvalidArgument with a
/// message fit for the user on any mistake: unknown action or option, missing value, wrong
/// number of arguments.
Expected<ModelsCommand> parseModelsCommand(const std::vector<std::string>& words);

/// Creates only the storage node named `storage_node` (the first storage node of the graph
/// when empty) and returns it; other nodes are not created, so no dataset is read. kNotFound
/// when there is no such storage node, kInvalidArgument when it references other nodes, the
/// factory's status when it fails. The returned node keeps its plugin loaded; the graph and its
/// type registry must outlive it.
Expected<std::shared_ptr<Storage>> openGraphStorage(const Graph& graph, Host& host,
                                                    std::string_view storage_node);

/// Runs a parsed command on `registry`, printing results on `out` and errors on `err`.
/// Returns the exit code: 0 success; 2 for a mistake of the caller (unknown model, version or
/// alias, a bad name, a delete refused while an alias points at the version, a rollback with no
/// earlier target); 1 when the store fails (I/O, a corrupt record).
int runModelsCommand(const ModelsCommand& command, ModelRegistry& registry, std::ostream& out,
                     std::ostream& err);

}  // namespace aimass::core
