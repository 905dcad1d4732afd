// SPDX-License-Identifier: Apache-2.0
// What the monitors of a store have recorded, read back for the web console's JSON API
// (GET /api/v1/monitoring...; docs/monitoring.md). A monitor (monitor_node.h) keeps, per model:
//   monitoring/<model>/windows/<20-digit unix ns>  each drift window's result (windowDriftJson)
//   monitoring/<model>/state                       what it remembers across restarts
//   monitoring/<model>/live/<version>              the live accuracy or RMSE of a version
//   monitoring/<model>/labelled/...                labelled rows from ground truth
// These functions only read the store: they work whether or not the monitor runs in this
// process. Thread-safe (the store is). Errors: the store's status, or kDataLoss naming the key
// of a record that does not read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// "monitoring/<model>/windows/": the prefix of a model's window records.
std::string windowRecordsPrefix(std::string_view model);
/// "monitoring/<model>/state": the monitor's memory (monitor_memory.cc).
std::string monitorStateKey(std::string_view model);

/// Default and largest `limit` of GET /api/v1/monitoring/{model}/windows.
inline constexpr std::size_t kDefaultWindowRecords = 500;
inline constexpr std::size_t kMostWindowRecords = 5000;
/// The records' bytes an answer stops at (a window of 784 features is some 100 kB).
inline constexpr std::size_t kMostWindowBytes = std::size_t{32} << 20;

/// Which window records a reader asks for: those recorded after `after_ns` (every one when
/// nullopt), oldest first, at most `limit`, and no more once they hold `max_bytes` (at least
/// one is returned).
struct WindowRecordsQuery {
  std::optional<std::int64_t> after_ns;
  std::size_t limit = kDefaultWindowRecords;
  std::size_t max_bytes = kMostWindowBytes;
};

/// {"models": [summary, ...]}: every model with monitoring records in `storage`, by name; each
/// summary as monitoringSummaryJson() without "features". One listing of the keys, then a few
/// records a model (its last window, its state, its live metrics).
Expected<std::string> monitoringListJson(const Storage& storage);

/// One model's summary: {"model", "windows" (records kept), "last_window_unix_ns" (or null),
/// "last_drifted" (or null), "last_window" ({"rows", "tested", "drifted_features"} or null),
/// "live": [{"version", "metric", "value", "window_rows", "labelled_rows", "unix_ms"}],
/// "state" (the monitor's memory or null)}; with `features`, also "features": the last window's
/// per-feature results ([] before the first). kNotFound when the model has no monitoring
/// records. `model` must be a valid model name (ModelRegistry::validateName()).
Expected<std::string> monitoringSummaryJson(const Storage& storage, const std::string& model,
                                            bool features);

/// {"model", "windows": [{"unix_ns", ...the stored window object...}], "more"}: the window
/// records `query` asks for, oldest first; "more" is true when later ones were left out (by
/// the limit or the bytes), for a client to ask again after the last "unix_ns". Lists the keys
/// once and reads only the records it returns.
/// kNotFound when the model has no monitoring records.
Expected<std::string> monitoringWindowsJson(const Storage& storage, const std::string& model,
                                            const WindowRecordsQuery& query);

}  // namespace aimass::core
