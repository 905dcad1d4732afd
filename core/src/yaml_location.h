// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "aimass/core/diagnostics.h"

namespace aimass::core {

/// The 1-based location of a yaml-cpp mark (which is 0-based) in `file`. A null mark (nodes built
/// in code rather than parsed) gives line and column 0.
inline SourceLocation locationOf(const YAML::Mark& mark, const std::string& file) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) {
    return {file, 0, 0};
  }
  return {file, mark.line + 1, mark.column + 1};
}

/// Where `node` starts, or `fallback` when the node has no usable mark. Null values get the
/// fallback too: yaml-cpp marks an empty value at the token after it, which misleads.
inline SourceLocation locationOf(const YAML::Node& node, const SourceLocation& fallback) {
  if (!node.IsDefined() || node.IsNull() || node.Mark().is_null()) {
    return fallback;
  }
  return locationOf(node.Mark(), fallback.file);
}

/// Sorts diagnostics[first, end) by file, line and column, keeping the order of equal places.
inline void sortDiagnostics(Diagnostics& diagnostics, std::size_t first) {
  std::stable_sort(diagnostics.begin() + static_cast<std::ptrdiff_t>(first), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.where.file, a.where.line, a.where.column) <
                            std::tie(b.where.file, b.where.line, b.where.column);
                   });
}

/// "a map", "a list", "a scalar", "empty": what a node is, for messages.
inline const char* describeNodeType(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "empty";
  }
  return "empty";
}

}  // namespace aimass::core
