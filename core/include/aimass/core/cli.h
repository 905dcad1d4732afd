// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "aimass/status.h"

namespace aimass::core {

/// Exit codes of the `aimass` command.
inline constexpr int kExitOk = 0;
/// A runtime failure: a job failed or was cancelled, a frontend could not start, a conformance
/// check failed.
inline constexpr int kExitFailure = 1;
/// Bad input: usage, an unreadable or invalid configuration, an unknown type, a library that
/// `plugin check` refused.
inline constexpr int kExitBadInput = 2;

/// How a store command (`aimass models|datasets|runs ...`) ends: 0 for OK; otherwise the
/// message goes to `err` as "aimass: MESSAGE" and the code is kExitBadInput for what the user
/// can fix (kNotFound: an unknown model, version, alias, dataset or run; kInvalidArgument: a
/// bad name, filter or number; kFailedPrecondition: a refused change, such as deleting a
/// version an alias points at) and kExitFailure for the rest (the store failed).
int storeCommandExit(const Status& status, std::ostream& err);

/// Checks how a store command (`command`, e.g. "models list") names its store: exactly one of
/// --config CONFIG and --storage URI, and --storage-node only with --config. kInvalidArgument
/// saying what to write; `holds` names what the store holds ("registry", "runs").
Status checkStoreChoice(const std::string& command, std::string_view holds,
                        const std::string& config, const std::string& storage_uri,
                        const std::string& storage_node);

/// Runs the `aimass` command line (`validate`, `run`, `plugins list|describe|reference`,
/// `plugin check`; see `aimass --help`) and returns the process exit code. Output goes to
/// stdout, diagnostics and progress to stderr.
///
/// Callable in-process (tests do). Every command but `run` leaves process state alone; `run`
/// blocks SIGINT and SIGTERM while it runs (a dedicated thread waits for them and asks the
/// graph to stop) and restores the signal mask before returning.
/// Never throws.
int runCli(int argc, char** argv);

}  // namespace aimass::core
