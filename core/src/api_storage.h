// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "aimass/core/graph.h"

namespace aimass::core {

/// The storage node whose model registry, dataset registry and tracking a graph's frontends
/// serve (the host's registry(), datasets() and tracking() services): the `repository` of the
/// graph's serving.runtime node, else the graph's only storage node. nullptr when the graph has
/// no frontend, no storage node, or several storage nodes and no serving.runtime `repository`
/// (the reason is written to `why`).
const GraphNode* apiStorageNode(const Graph& graph, std::string& why);

}  // namespace aimass::core
