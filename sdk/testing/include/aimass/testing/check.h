// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "aimass/aimass.h"

namespace aimass::testing {

/// The outcome of one conformance check.
struct CheckResult {
  std::string name;  ///< "put then get returns the value"
  bool passed = false;
  std::string detail;  ///< why it failed (empty when passed)
};

using CheckResults = std::vector<CheckResult>;

/// Appends a check; `detail` is kept only on failure.
inline void expectThat(CheckResults& results, std::string name, bool passed,
                       std::string detail = {}) {
  results.push_back({std::move(name), passed, passed ? std::string() : std::move(detail)});
}

/// Appends a check that `status` is OK.
inline void expectOk(CheckResults& results, std::string name, const Status& status) {
  expectThat(results, std::move(name), status.ok(), status.toString());
}

/// True when every check passed.
inline bool allPassed(const CheckResults& results) {
  for (const auto& r : results) {
    if (!r.passed) {
      return false;
    }
  }
  return true;
}

}  // namespace aimass::testing
