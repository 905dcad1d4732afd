// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace aimass::plugins::frontend {

/// What jsonOutline() finds in a JSON text without parsing it.
struct JsonOutline {
  std::size_t depth = 0;       ///< deepest nesting of lists and objects
  std::size_t values = 1;      ///< values and member names (see jsonOutline())
  std::size_t containers = 0;  ///< lists and objects
  std::size_t names = 0;       ///< member names
  /// Strings, numbers, true, false and null that are not member names.
  std::size_t scalars() const { return values - std::min(values, containers + names); }
};

/// Deepest nesting of JSON lists and objects in `json`, and a count of its values and member
/// names: one for the root and one after every '[', '{', ',' and ':' but an empty list's or
/// object's (exact for valid JSON), with the lists and objects and the member names among them.
/// Strings are skipped, so brackets and commas in them do not count. Stops as soon as a limit
/// is passed, with that count at its limit + 1. Never throws.
JsonOutline jsonOutline(std::string_view json, std::size_t depth_limit, std::size_t value_limit);

/// jsonOutline(json, limit, no value limit).depth.
std::size_t jsonNestingDepth(std::string_view json, std::size_t limit);

}  // namespace aimass::plugins::frontend
