// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aimass::core {

/// Left-aligned columns, two spaces apart: the text tables of the registry commands and of
/// `aimass plugins list`.
std::string textTable(const std::vector<std::vector<std::string>>& rows);

/// A Unix time in milliseconds as UTC ISO-8601 to the second, "2024-06-10T06:13:20Z": how the
/// command line and tracking's messages write times.
std::string formatUtcTime(std::int64_t unix_ms);

}  // namespace aimass::core
