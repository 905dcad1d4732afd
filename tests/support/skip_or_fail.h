// SPDX-License-Identifier: Apache-2.0
// A test that cannot run because something it needs is not installed (Fashion-MNIST, promtool,
// sqlite3, ...) skips with AIMASS_SKIP_OR_FAIL(reason) instead of GTEST_SKIP(). With the
// environment variable AIMASS_REQUIRE_ALL=1 the skip is a failure instead: scripts/test.sh and
// CI set it, since scripts/install-deps.sh installs everything, so that no area goes untested
// while the run passes. Tests that need hardware (a CUDA device) keep GTEST_SKIP().
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

namespace aimass::testing {

/// True when AIMASS_REQUIRE_ALL is "1": a missing dependency fails the test that needs it.
inline bool missingDependencyFails() {
  const char* value = std::getenv("AIMASS_REQUIRE_ALL");
  return value != nullptr && std::string_view(value) == "1";
}

inline constexpr const char* kFashionMnistMissing =
    "Fashion-MNIST is not installed (Debian package dataset-fashion-mnist; "
    "scripts/install-deps.sh installs it)";
inline constexpr const char* kPromtoolMissing =
    "promtool is not installed (scripts/install-deps.sh installs prometheus)";

}  // namespace aimass::testing

/// Skips the current test saying `reason` (anything `<<` prints), or fails it when
/// AIMASS_REQUIRE_ALL=1. Like GTEST_SKIP(), it returns from the function: use it in a test body
/// or SetUp().
#define AIMASS_SKIP_OR_FAIL(reason)                                                         \
  do {                                                                                      \
    if (::aimass::testing::missingDependencyFails()) {                                      \
      GTEST_FAIL() << (reason)                                                              \
                   << " (a failure, not a skip, because AIMASS_REQUIRE_ALL=1; unset it to " \
                      "skip)";                                                              \
    }                                                                                       \
    GTEST_SKIP() << (reason);                                                               \
  } while (false)
