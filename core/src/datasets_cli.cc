// SPDX-License-Identifier: Apache-2.0
#include "datasets_cli.h"

#include <ostream>

#include "aimass/core/cli.h"
#include "aimass/core/registry_services.h"
#include "aimass/util/registry_json.h"
#include "models_cli.h"
#include "store_options.h"

namespace aimass::core {

const char kDatasetsHelp[] =
    "The dataset registry in the storage of a configuration: every distinct content of a\n"
    "dataset that job.train trained a registered model on, identified by its SHA-256. The same\n"
    "content trained on again keeps its version; changed data gets the next one. Only the\n"
    "configuration's storage node is created (the first one, or --storage-node NAME); or\n"
    "--storage URI opens a store directly (as for `aimass models`).\n"
    "\n"
    "  list                 every dataset: versions, latest version, its rows and SHA-256\n"
    "  show NAME            the dataset's versions (version, created, rows, SHA-256, type)\n"
    "  show NAME/3          one version: type, source, rows, SHA-256, the reader's\n"
    "                       fingerprint, created, by whom\n"
    "\n"
    "--json prints JSON instead of text.\n"
    "\n"
    "Exit code: 0 success; 1 the store failed (I/O error, corrupt record); 2 bad input: usage,\n"
    "an invalid configuration, no storage node, an unknown dataset or version, a bad name.\n"
    "\n"
    "Examples:\n"
    "  aimass datasets list --config configs/quickstart.yaml\n"
    "  aimass datasets show pumps/1 --json --config configs/quickstart.yaml\n"
    "  aimass datasets list --storage sqlite:///var/lib/aimass/store.db\n";

namespace {

std::string shortHash(const std::string& sha256) { return sha256.substr(0, 12); }

}  // namespace

Status printDatasetList(const DatasetRegistry& registry, bool as_json, std::ostream& out) {
  AIMASS_ASSIGN_OR_RETURN(auto datasets, datasetSummaries(registry));
  if (as_json) {
    out << datasetListJson(datasets);
    return Status();
  }
  if (datasets.empty()) {
    out << "no datasets registered\n";
    return Status();
  }
  std::vector<std::vector<std::string>> rows = {
      {"DATASET", "VERSIONS", "LATEST", "ROWS", "SHA256"}};
  for (const auto& dataset : datasets) {
    rows.push_back({dataset.name, std::to_string(dataset.versions),
                    std::to_string(dataset.latest.version), std::to_string(dataset.latest.rows),
                    shortHash(dataset.latest.sha256)});
  }
  out << textTable(rows);
  return Status();
}

Status printDataset(const DatasetRegistry& registry, const std::string& reference, bool as_json,
                    std::ostream& out) {
  if (reference.find('/') != std::string::npos) {
    AIMASS_ASSIGN_OR_RETURN(auto found, registry.resolve(reference));
    const DatasetVersionInfo v = datasetVersionInfo(found);
    if (as_json) {
      out << datasetVersionJson(v);
      return Status();
    }
    out << "dataset      " << v.name << "\n"
        << "version      " << v.version << "\n"
        << "type         " << (v.type.empty() ? "-" : v.type) << "\n"
        << "source       " << (v.source.empty() ? "-" : v.source) << "\n"
        << "rows         " << v.rows << "\n"
        << "sha256       " << v.sha256 << "\n"
        << "fingerprint  " << (v.fingerprint.empty() ? "-" : v.fingerprint) << "\n"
        << "created      " << formatUtcTime(v.created_unix_ms) << "\n"
        << "by           " << (v.created_by.empty() ? "-" : v.created_by) << "\n";
    return Status();
  }
  AIMASS_ASSIGN_OR_RETURN(auto versions, registry.listVersions(reference));
  if (as_json) {
    std::vector<DatasetVersionInfo> infos;
    for (const auto& v : versions) {
      infos.push_back(datasetVersionInfo(v));
    }
    out << datasetJson(reference, infos);
    return Status();
  }
  std::vector<std::vector<std::string>> rows = {
      {"VERSION", "CREATED", "ROWS", "SHA256", "TYPE", "BY"}};
  for (const auto& v : versions) {
    rows.push_back({std::to_string(v.version), formatUtcTime(v.created_unix_ms),
                    std::to_string(v.rows), shortHash(v.sha256), v.type.empty() ? "-" : v.type,
                    v.created_by.empty() ? "-" : v.created_by});
  }
  out << textTable(rows);
  return Status();
}

Expected<DatasetsCommand> parseDatasetsCommand(const std::vector<std::string>& words) {
  DatasetsCommand command;
  AIMASS_ASSIGN_OR_RETURN(
      StoreOptions options,
      parseStoreOptions(words, {.command = "datasets", .flags = {"--json"}, .valued = {}},
                        [&](const std::string&, const std::string&) {
                          command.json = true;
                          return Status();
                        }));
  assignStoreChoice(options, command);
  const auto& positional = options.positional;
  if (positional.empty()) {
    return invalidArgument("'datasets' needs a subcommand: list or show");
  }
  command.action = positional.front();
  command.arguments.assign(positional.begin() + 1, positional.end());
  if (command.action != "list" && command.action != "show") {
    return invalidArgument("unknown subcommand 'datasets " + command.action +
                           "': use list or show");
  }
  const std::size_t wanted = command.action == "list" ? 0 : 1;
  if (command.arguments.size() != wanted) {
    return invalidArgument("'aimass datasets " + command.action + "' takes " +
                           std::to_string(wanted) + " argument" + (wanted == 1 ? "" : "s") +
                           (wanted == 1 ? " (usage: aimass datasets show NAME[/VERSION] [--json] "
                                          "--config CONFIG)"
                                        : " (usage: aimass datasets list [--json] --config "
                                          "CONFIG)"));
  }
  AIMASS_RETURN_IF_ERROR(checkStoreChoice("datasets " + command.action, "registry", command.config,
                                          command.storage_uri, command.storage_node));
  return command;
}

int runDatasetsCommand(const DatasetsCommand& command, const DatasetRegistry& registry,
                       std::ostream& out, std::ostream& err) {
  Status status = command.action == "list"
                      ? printDatasetList(registry, command.json, out)
                      : printDataset(registry, command.arguments[0], command.json, out);
  return storeCommandExit(status, err);
}

}  // namespace aimass::core
