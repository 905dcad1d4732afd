// SPDX-License-Identifier: Apache-2.0
// What the nodes that retrain a model through the job service share: the monitor
// (service.monitor) and the annotation projects (service.annotation) both submit a graph file
// read at start, to a queue, with a thread count.
#pragma once

#include <string>
#include <vector>

#include "aimass/node.h"
#include "aimass/params.h"
#include "aimass/status.h"

namespace aimass::core {

/// The parameters `queue` and `retrain_threads`.
std::vector<ParamSpec> retrainJobParams();

/// A retrain graph, read once at start so that a bad path fails the configuration.
struct RetrainGraph {
  std::string text;
  std::string path;  ///< where it was read from (relative paths against the config's folder)
};

/// Reads the graph file `given`; kInvalidArgument naming the path when it cannot be read or
/// is empty.
Expected<RetrainGraph> readRetrainGraph(const NodeConfig& config, const std::string& given);

}  // namespace aimass::core
