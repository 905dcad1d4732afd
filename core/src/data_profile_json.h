// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "data_profile.h"

namespace aimass::core {

/// The profile as one JSON object, for `models show --json` and the REST route of a version's
/// profile:
///   {"format": 2, "rows": 600, "outlier_scores": true, "features": [
///     {"name": "pressure_kpa", "type": "number", "present": 582, "missing": 18,
///      "missing_rate": 0.03, "min": 301.2, "max": 512.9,
///      "quantiles": {"0.01": 305.1, ..., "0.99": 510.0},
///      "mean": 410.7, "std": 52.3, "sample_size": 582, "percentiles": [301.2, ..., 512.9]},
///     {"name": "vendor", "type": "category", "present": 552, "missing": 48,
///      "missing_rate": 0.08, "categories": ["Aquaflow", "Castell"], "complete": true,
///      "counts": [301, 251]}]}
/// mean, std, sample_size, percentiles (101: 0%, 1%, ..., 100%) and counts (per category, in
/// the categories' order) only for a profile of format 2.
std::string dataProfileJson(const DataProfile& profile);

}  // namespace aimass::core
