// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string_view>

#include "aimass/status.h"

namespace aimass::core {

/// Writes `text` to `path` whole or not at all: into "<path>.tmp" in the same folder, then
/// renamed over `path`, so a reader (a job's worker, a retraining, a report's consumer) never
/// sees half of it; the temporary is removed when either step fails. kUnavailable naming the
/// file and the system's reason.
Status writeFileWhole(const std::filesystem::path& path, std::string_view text);

}  // namespace aimass::core
