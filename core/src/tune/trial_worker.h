// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "aimass/core/config.h"
#include "aimass/core/graph.h"
#include "aimass/host.h"
#include "aimass/status.h"
#include "tune/tune_space.h"

namespace aimass::core {

/// The options of `aimass tune worker`, the process job.tune starts for each trial (see
/// TrialCommand for how it is called). Not meant to be typed by hand.
struct TrialWorkerOptions {
  std::filesystem::path config;
  std::string node;  ///< the job.tune node
  std::uint64_t trial = 0;
  std::string values_json;
  int threads = 1;
  std::string study;
  std::string artifact;
  pid_t parent = 0;  ///< the tuner's pid: the worker ends when it goes
};

/// Reads `--config F --node N --trial K --values JSON --threads T --study S --parent P
/// [--artifact KEY]`; kInvalidArgument naming the first problem.
Expected<TrialWorkerOptions> parseTrialWorkerOptions(const std::vector<std::string>& words);

/// The configuration one trial runs: the nodes the trial job needs, with the trial's values
/// written over the parameters the space names (each at the place its space key is written,
/// so a value the graph refuses is reported there), and the trial job told to save its model
/// under `artifact` without registering it, to track its run in experiment `study`, not to
/// resume or checkpoint, and to use `threads` threads. `values` are the optimizer's values,
/// one per dimension of `tune_node`'s space (NaN: inactive, the configuration's value stays).
Expected<ConfigDocument> trialDocument(const Graph& graph, const std::string& tune_node,
                                       const std::vector<double>& values,
                                       const std::string& artifact, const std::string& study,
                                       int threads);

/// Runs one trial in this process (the worker's body): validates and creates the trial's
/// graph, runs its job with a callback that reports the objective after each epoch on fd 3
/// and asks the tuner whether to go on, and sends how it ended (TrialMessage). Returns the
/// process exit code: 0 when the outcome was sent (a failed trial included), 1 when fd 3 is
/// unusable or the tuner is gone.
int runTrialWorker(const TrialWorkerOptions& options, const Graph& graph, LogLevel log_level);

}  // namespace aimass::core
