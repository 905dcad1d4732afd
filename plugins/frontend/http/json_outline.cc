// SPDX-License-Identifier: Apache-2.0
#include "json_outline.h"

namespace aimass::plugins::frontend {

JsonOutline jsonOutline(std::string_view json, std::size_t depth_limit, std::size_t value_limit) {
  JsonOutline outline;
  std::size_t depth = 0;
  bool in_string = false;
  char previous = 0;  // the last character outside strings and whitespace
  for (std::size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    }
    const char before = previous;
    previous = c;
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c == '[' || c == '{') {
      ++outline.containers;
      outline.depth = std::max(outline.depth, ++depth);
      if (outline.depth > depth_limit) {
        outline.depth = depth_limit + 1;
        return outline;
      }
    } else if (c == ']' || c == '}') {
      depth -= depth > 0 ? 1 : 0;
      // An empty list or object: no value followed its opening bracket after all.
      outline.values -= (before == '[' || before == '{') && outline.values > 1 ? 1 : 0;
      continue;
    } else if (c == ':') {
      ++outline.names;
    } else if (c != ',') {
      continue;
    }
    if (++outline.values > value_limit) {
      outline.values = value_limit + 1;
      return outline;
    }
  }
  return outline;
}

std::size_t jsonNestingDepth(std::string_view json, std::size_t limit) {
  return jsonOutline(json, limit, static_cast<std::size_t>(-1)).depth;
}

}  // namespace aimass::plugins::frontend
