// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// One `aimass tune list|show` command line, parsed.
struct TuneCommand {
  std::string action;        ///< list or show
  std::string study;         ///< show: the study's name
  std::string config;        ///< --config CONFIG (this or storage_uri)
  std::string storage_uri;   ///< --storage URI (this or config; see storage_uri.h)
  std::string storage_node;  ///< --storage-node NAME; empty: the first storage node
  bool json = false;         ///< --json
  std::size_t top = 0;       ///< show --top N: the N best trials only (0: all)
};

/// The full help of `aimass tune`.
extern const char kTuneHelp[];

/// The action word of the words after "tune": the first that is neither an option nor the value
/// of one ("" when there is none), for dispatching before a full parse.
std::string tuneAction(const std::vector<std::string>& words);

/// Parses the words after "tune" for `list` and `show` (options may come anywhere;
/// --log-level and --plugin-path with their values are skipped, the global parser has read
/// them). kInvalidArgument with a message fit for the user on any mistake: no or an unknown
/// action (naming list and show), an unknown option, a missing value, a bad study name or
/// --top, a missing or doubled store choice.
Expected<TuneCommand> parseTuneCommand(const std::vector<std::string>& words);

/// The JSON of `tune list --json` (and GET /api/v1/studies): {"studies": [{"study",
/// "optimizer", "objective", "direction", "trials", "complete", "pruned", "failed", "running",
/// "best": {"number", "value"} | null}]}. kDataLoss naming the key of a corrupt record; the
/// store's status when it fails. Reads the store only; safe from any thread.
Expected<std::string> studyListJson(const Storage& storage);
/// The JSON of `tune show NAME --json` (and GET /api/v1/studies/{name}): settings, space,
/// trials best first (the `top` best only when `top` > 0), importances and best. kNotFound for
/// an unknown study (naming the studies there), kDataLoss naming the key of a corrupt record.
/// `name` must have passed Tracking::validateName().
Expected<std::string> studyJson(const Storage& storage, const std::string& name,
                                std::size_t top = 0);

/// `tune list`: one row per study in `storage` (JSON when command.json: {"studies": [...]}).
/// kDataLoss naming the key of a corrupt record; the store's status when it fails.
Status printStudyList(const TuneCommand& command, const Storage& storage, std::ostream& out);
/// `tune show`: the study's settings, leaderboard and parameter importances (JSON when
/// command.json). kNotFound for an unknown study (naming the studies there), kDataLoss naming
/// the key of a corrupt record.
Status printStudy(const TuneCommand& command, const Storage& storage, std::ostream& out);

/// Runs a parsed command on `storage` (read only), printing results on `out` and errors on
/// `err`. Returns the exit code (storeCommandExit): 0 success; 2 an unknown study; 1 when the
/// store fails or a record is corrupt.
int runTuneCommand(const TuneCommand& command, Storage& storage, std::ostream& out,
                   std::ostream& err);

}  // namespace aimass::core
