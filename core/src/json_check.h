// SPDX-License-Identifier: Apache-2.0
#pragma once

// Whether a text is well-formed JSON of a given shape, without building it: one pass, no
// allocation beyond a stack of open containers, for texts the host checks before it stores them
// (a monitoring event's details run to 100 kB and more for a window of 784 features; Poco's
// parser built the whole document to answer the same question, a tenth of the monitor's time
// on W13's server).

#include <cstddef>
#include <string_view>

namespace aimass::core {

/// Containers a checked text may nest; a deeper one is refused.
constexpr std::size_t kMaxJsonCheckDepth = 512;

/// Whether `text` is exactly one JSON object (RFC 8259), surrounded by nothing but white space:
/// strings with valid escapes and no raw control characters, numbers in JSON's grammar, literals
/// true, false and null, containers nested at most kMaxJsonCheckDepth deep. The UTF-8 of strings
/// is not checked (the JSON the host writes escapes nothing above U+007F). Thread-safe.
bool isJsonObjectText(std::string_view text);

}  // namespace aimass::core
