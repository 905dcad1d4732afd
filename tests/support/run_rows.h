// SPDX-License-Identifier: Apache-2.0
// Many finished runs written straight into a store's records, in Tracking's layout
// (aimass/core/tracking.h), for the listings that must stay fast at 100,000 runs: writing them
// through Tracking costs about ten transactions a run. Used by bench/registry.cc and by
// tests/support/seed_runs.cc (the web console's runs-table test). A listing of the runs written
// is how both check that this still matches Tracking's layout.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/core/tracking.h"
#include "aimass/storage.h"

namespace aimass::testing {

/// Reserves `count` run ids through Tracking's own counter (compare-and-set), so runs started
/// later never collide with them; the first id.
inline Expected<std::int64_t> reserveRunIds(Storage& storage, std::size_t count) {
  const std::string counter = "tracking/next-run";
  for (;;) {
    auto current = storage.get(counter);
    if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
      return current.status().withContext("reading " + counter);
    }
    const std::int64_t first = current.ok() ? std::stoll(*current) : 1;
    const std::string desired = std::to_string(first + static_cast<std::int64_t>(count));
    auto set = current.ok() ? storage.compareAndSet(counter, std::string_view(*current), desired)
                            : storage.compareAndSet(counter, std::nullopt, desired);
    if (!set.ok()) {
      return set.status().withContext("reserving run ids");
    }
    if (*set) {
      return first;
    }
  }
}

/// The records (key, value) of `count` finished runs of `experiment` with ids from `first`:
/// each run's record and its index entries (experiment, status, one per metric). `fill` sets
/// run i's metrics (their last values) and params; everything else is filled here.
inline std::vector<std::pair<std::string, std::string>> finishedRunRows(
    const std::string& experiment, std::int64_t first, std::size_t count,
    const std::function<void(std::size_t i, core::RunRecord& run)>& fill) {
  const std::string root = "tracking/experiments/" + experiment + "/";
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  std::vector<std::pair<std::string, std::string>> rows;
  rows.emplace_back("tracking/experiment-names/" + experiment, "");
  for (std::size_t i = 0; i < count; ++i) {
    core::RunRecord run;
    run.id = first + static_cast<std::int64_t>(i);
    run.experiment = experiment;
    run.node = "train";
    run.node_type = "job.train";
    run.status = core::RunStatus::kFinished;
    run.start_unix_ms = run.end_unix_ms = run.updated_unix_ms = now_ms;
    run.pid = 1;
    run.host = "seeded";
    fill(i, run);
    char id[32];
    std::snprintf(id, sizeof id, "%010lld", static_cast<long long>(run.id));
    rows.emplace_back(std::string("tracking/runs/") + id, core::encodeRunRecord(run));
    rows.emplace_back(root + "runs/" + id, "");
    rows.emplace_back(root + "status/finished/" + id, "");
    for (const auto& [metric, value] : run.metrics) {
      rows.emplace_back(root + "metric/" + metric + "/" + core::sortableNumber(value) + "/" + id,
                        "");
    }
  }
  return rows;
}

}  // namespace aimass::testing
