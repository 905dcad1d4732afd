// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that plugins compile in themselves;
// nothing of it crosses the plugin boundary.
//
// Checks of the numeric options a factory receives beyond what ParamSpec ranges say (an
// exclusive bound, finiteness), with one wording for every plugin:
// "optimizer.adam: epsilon must be a positive number, got 0.000000".

#include <cmath>
#include <string>
#include <string_view>

#include "aimass/status.h"

namespace aimass {

/// OK when `value` is finite and above 0.
inline Status requirePositive(std::string_view type, std::string_view name, double value) {
  if (value > 0 && std::isfinite(value)) {
    return Status();
  }
  return invalidArgument(std::string(type) + ": " + std::string(name) +
                         " must be a positive number, got " + std::to_string(value));
}

/// OK when `value` is finite and at least 0.
inline Status requireNonNegative(std::string_view type, std::string_view name, double value) {
  if (value >= 0 && std::isfinite(value)) {
    return Status();
  }
  return invalidArgument(std::string(type) + ": " + std::string(name) + " must be >= 0, got " +
                         std::to_string(value));
}

/// OK when `value` lies in [0, 1) (a decay or momentum factor).
inline Status requireUnitFraction(std::string_view type, std::string_view name, double value) {
  if (value >= 0 && value < 1) {
    return Status();
  }
  return invalidArgument(std::string(type) + ": " + std::string(name) +
                         " must lie in [0, 1), got " + std::to_string(value));
}

}  // namespace aimass
