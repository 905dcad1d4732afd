// SPDX-License-Identifier: Apache-2.0
#pragma once

// For the benchmark programs that drive plugins directly (w4, w5): a node made by its
// registered factory, as the host makes graph nodes.

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "aimass/core/type_registry.h"
#include "aimass/node.h"

namespace aimass::bench {

/// A node of `type` made by its factory with its defaults and `values`; `label` names the
/// node in its config. kNotFound when no plugin registered `type`. The node keeps its plugin
/// library loaded.
inline Expected<std::shared_ptr<Node>> makeNode(
    const core::TypeRegistry& registry, Host& host, const std::string& label,
    const std::string& type, const std::vector<std::pair<std::string, ParamValue>>& values) {
  const auto* registered = registry.find(type);
  if (registered == nullptr) {
    return notFound("no node type " + type + " (is its plugin built?)");
  }
  NodeConfig config(label, type, &host);
  for (const auto& param : registered->type.params) {
    if (!std::holds_alternative<std::monostate>(param.default_value)) {
      config.setValue(param.name, param.default_value);
    }
  }
  for (const auto& [name, value] : values) {
    config.setValue(name, value);
  }
  auto node = registered->type.factory(config);
  if (!node.ok()) {
    return node.status();
  }
  return std::shared_ptr<Node>(std::move(node).value().release(),
                               [library = registered->library](Node* n) { delete n; });
}

}  // namespace aimass::bench
