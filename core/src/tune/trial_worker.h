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

/// The options of `aimass tune worker`, a process job.tune starts to run trials (see
/// TrialCommand for how it is called). Not meant to be typed by hand.
struct TrialWorkerOptions {
  std::filesystem::path config;
  std::string node;  ///< the job.tune node
  int threads = 1;
  std::string study;
  pid_t parent = 0;  ///< the tuner's pid: the worker ends when it goes
};

/// Reads `--config F --node N --threads T --study S --parent P`; kInvalidArgument naming the
/// first problem.
Expected<TrialWorkerOptions> parseTrialWorkerOptions(const std::vector<std::string>& words);

/// The configuration one trial runs: the nodes the trial job needs, with the trial's values
/// written over the parameters the space names (each at the place its space key is written,
/// so a value the graph refuses is reported there), and the trial job told to save its model
/// under `artifact` without registering it, to track its run in experiment `study`, not to
/// resume or checkpoint, and to use `threads` threads. `values` are the optimizer's values,
/// one per dimension of `tune_node`'s space `dimensions` (tuneSpaceOf(); NaN: inactive, the
/// configuration's value stays).
Expected<ConfigDocument> trialDocument(const Graph& graph, const std::string& tune_node,
                                       const std::vector<TuneDimension>& dimensions,
                                       const std::vector<double>& values,
                                       const std::string& artifact, const std::string& study,
                                       int threads);

/// The worker's body: runs the trials the tuner assigns on fd 3 ("trial N ARTIFACT VALUES", see
/// TrialProcess::assign()), one after another, until the tuner closes the socket. For each it
/// validates and creates the trial's graph (keeping the dataset nodes of earlier trials whose
/// settings are the same, so their files are read once per worker), runs its job with a
/// callback that reports the objective after each epoch and asks the tuner whether to go on,
/// and sends how it ended (TrialMessage). Returns the process exit code: 0 when the tuner
/// closed the socket, 1 when it is gone or sent something else.
int runTrialWorker(const TrialWorkerOptions& options, const Graph& graph, LogLevel log_level);

}  // namespace aimass::core
