// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace aimass::core {

/// Left-aligned columns, two spaces apart: the text tables of the registry commands and of
/// `aimass plugins list`.
std::string textTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace aimass::core
