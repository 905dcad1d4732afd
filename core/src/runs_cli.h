// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "aimass/core/tracking.h"
#include "aimass/registry_service.h"
#include "aimass/status.h"

namespace aimass::core {

/// One `aimass runs ...` command line, parsed.
struct RunsCommand {
  std::string action;                  ///< list, show or metric
  std::vector<std::string> arguments;  ///< the positional words after the action
  std::string config;                  ///< --config CONFIG (this or storage_uri)
  std::string storage_uri;             ///< --storage URI (this or config; see storage_uri.h)
  std::string storage_node;            ///< --storage-node NAME; empty: the first storage node
  bool json = false;                   ///< --json
  RunQuery query;                      ///< list: --experiment, --filter, --status, --sort,
                                       ///< --desc, --limit (default 100; 0 for all)
  std::int64_t run_id = 0;             ///< show: the run
  /// metric: the metric, --after-step and --limit (default 0: every value)
  RunMetricQuery metric_query;
};

/// `runs list`: the runs matching command.query (JSON when command.json: the body of
/// GET /api/v1/runs). kNotFound for an unknown experiment, the store's status on failure.
Status printRunList(const RunsCommand& command, Tracking& tracking, std::ostream& out);
/// `runs show`: the run command.run_id with its metric summaries (JSON when command.json).
/// With `storage` (the tracking's), a run a job.evaluate recorded also shows its evaluation
/// (evaluation_record.h): a summary, or with --json the whole report as "evaluation".
/// kNotFound for an unknown run.
Status printRun(const RunsCommand& command, Tracking& tracking, std::ostream& out,
                Storage* storage = nullptr);

/// `runs metric`: the values of command.metric_query (JSON when command.json: the body of
/// GET /api/v1/runs/{id}/metrics/{name}). kNotFound for an unknown run.
Status printMetricHistory(const RunsCommand& command, Tracking& tracking, std::ostream& out);

/// The full help of `aimass runs`.
extern const char kRunsHelp[];

/// Parses the words after "runs" (options may come anywhere; --log-level and --plugin-path
/// with their values are skipped, the global parser has read them). kInvalidArgument with a
/// message fit for the user on any mistake: unknown action or option, a missing value, a bad
/// filter (naming the bad token), status, limit or run id.
Expected<RunsCommand> parseRunsCommand(const std::vector<std::string>& words);

/// A store's tracking with the store itself, which `runs show` reads evaluations from.
struct RunsStore {
  explicit RunsStore(Storage& store) : storage(store), tracking(store) {}
  Storage& storage;
  Tracking tracking;
};

/// Runs a parsed command on `store`'s tracking, printing results on `out` and errors on `err`. Runs
/// whose process died without finishing them are marked failed first (a warning on `err`
/// when the store cannot be written). Returns the exit code: 0 success; 2 a mistake of the
/// caller (unknown run or experiment, bad name); 1 when the store fails.
int runRunsCommand(const RunsCommand& command, RunsStore& store, std::ostream& out,
                   std::ostream& err);

}  // namespace aimass::core
