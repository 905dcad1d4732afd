// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/host.h"
#include "aimass/node.h"
#include "aimass/status.h"

namespace aimass {

/// How a job reports progress. The host draws a progress bar on a terminal and writes plain
/// log lines otherwise.
class JobProgress {
 public:
  /// Starts a phase of `total` units ("epoch 2/5", 469 batches); total 0 when unknown.
  virtual void begin(std::string_view phase, std::uint64_t total) = 0;
  /// `done` units of the phase are complete; `figures` are shown beside the bar
  /// ("loss" 0.41, "samples/s" 51234).
  virtual void update(std::uint64_t done,
                      const std::vector<std::pair<std::string, double>>& figures) = 0;
  /// The phase is over; `summary` is logged.
  virtual void end(std::string_view summary) = 0;

 protected:
  ~JobProgress() = default;
};

/// Work that runs once the graph is built: training, evaluation, tuning, import.
///
/// Threading: run() is called on the host's main thread, one job at a time in the order they
/// appear in the graph (dependencies first). It must return promptly with kCancelled once
/// host.stopRequested() turns true.
class Job : public Node {
 public:
  NodeKind kind() const noexcept final { return NodeKind::kJob; }
  virtual Status run(Host& host, JobProgress& progress) = 0;
};

}  // namespace aimass
