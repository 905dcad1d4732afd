// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"
#include "monitoring/drift_tests.h"

/// `aimass models drift NAME[/VERSION|@ALIAS] --data FILE.csv [--json] [--number-test T]
/// [--category-test T] [--alpha A] [--correction C] [--threads N]`: a batch drift report of a
/// CSV of rows (columns named after the version's profile features) against the version's
/// training-data profile, with the tests the monitor runs (drift_tests.h). The CSV is read
/// (drift_window_csv.h) and its features tested on N threads, by default the host's hardware
/// threads; the report does not depend on N.
namespace aimass::core {

struct DriftReportCommand {
  std::string reference;  ///< NAME, NAME/VERSION or NAME@ALIAS
  std::string data;       ///< --data FILE.csv
  DriftOptions options;
  bool json = false;
  std::string config;
  std::string storage_uri;
  std::string storage_node;
};

/// True when the first word of `words` (after `models`) that is not an option is "drift".
bool isDriftReportCommand(const std::vector<std::string>& words);
/// kInvalidArgument naming the bad word (a missing reference or --data, an unknown test).
Expected<DriftReportCommand> parseDriftReportCommand(const std::vector<std::string>& words);
/// Reads the CSV, tests it as one window and prints the report: a table per feature (test,
/// statistic, p-value, adjusted p-value, PSI, verdict) and the verdict, or with --json the
/// object the monitor records for a window. Exit code 0 whether it drifted or not (the verdict
/// is in the report), 1 when the store fails, 2 for bad input (no profile, a missing column, a
/// cell that is not a number).
int runDriftReportCommand(const DriftReportCommand& command, Storage& storage, std::ostream& out,
                          std::ostream& err);

/// Which logged requests a monitor's window held: the first and the last, by their request ids
/// and the times they were answered (unix ns).
struct WindowSpan {
  std::string first_request_id;
  std::string last_request_id;
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
};

/// The JSON object of a window's result, as the monitor stores it under
/// monitoring/<model>/windows/ and records in its drift and drift_cleared events; with a span
/// (the monitor's windows), also "first_request_id", "last_request_id", "first_unix_ns" and
/// "last_unix_ns".
std::string windowDriftJson(const WindowDrift& drift, std::size_t rows,
                            const WindowSpan* span = nullptr);

}  // namespace aimass::core
