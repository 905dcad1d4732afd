// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "data_profile.h"

namespace aimass::core {

/// The profile as one JSON object, for `models show --json` and the REST route of a version's
/// profile:
///   {"rows": 600, "features": [
///     {"name": "pressure_kpa", "type": "number", "present": 582, "missing": 18,
///      "missing_rate": 0.03, "min": 301.2, "max": 512.9,
///      "quantiles": {"0.01": 305.1, ..., "0.99": 510.0}},
///     {"name": "vendor", "type": "category", "present": 552, "missing": 48,
///      "missing_rate": 0.08, "categories": ["Aquaflow", "Castell"], "complete": true}]}
std::string dataProfileJson(const DataProfile& profile);

}  // namespace aimass::core
