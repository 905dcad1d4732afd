#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Usage: missing_dependency.sh REASON
# The ctest that stands for tests CMake could not build because something is not installed (the
# fuzzers without clang's libFuzzer runtime): it prints REASON and skips (exit 77, the tests'
# SKIP_RETURN_CODE), or fails under AIMASS_REQUIRE_ALL=1 as scripts/test.sh runs the suites,
# like AIMASS_SKIP_OR_FAIL (skip_or_fail.h) does for a GoogleTest test.
echo "$1"
if [ "${AIMASS_REQUIRE_ALL:-}" = 1 ]; then
  echo "(a failure, not a skip, because AIMASS_REQUIRE_ALL=1; unset it to skip)"
  exit 1
fi
exit 77
