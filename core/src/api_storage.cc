// SPDX-License-Identifier: Apache-2.0
#include "api_storage.h"

#include <vector>

namespace aimass::core {

const GraphNode* apiStorageNode(const Graph& graph, std::string& why) {
  std::vector<const GraphNode*> storages;
  bool has_frontend = false;
  for (const auto& node : graph.nodes()) {
    if (node.type == nullptr) {
      continue;
    }
    if (node.type->type.kind == NodeKind::kStorage) {
      storages.push_back(&node);
    }
    has_frontend = has_frontend || node.type->type.kind == NodeKind::kFrontend;
  }
  if (!has_frontend) {
    why = "no frontend serves it";
    return nullptr;
  }
  for (const auto& node : graph.nodes()) {
    if (node.type == nullptr || node.type->type.kind != NodeKind::kServing) {
      continue;
    }
    for (const auto& [param_name, names] : node.refs) {
      if (param_name != "repository" || names.empty()) {
        continue;
      }
      for (const GraphNode* storage : storages) {
        if (storage->decl.name == names.front()) {
          return storage;
        }
      }
    }
  }
  if (storages.size() == 1) {
    return storages.front();
  }
  why = storages.empty() ? "the configuration has no storage node"
                         : "the configuration has several storage nodes and no serving.runtime "
                           "node names one as its `repository`";
  return nullptr;
}

}  // namespace aimass::core
