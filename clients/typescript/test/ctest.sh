#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the typescript_client ctests run (clients/CMakeLists.txt), in clients/typescript:
#   ctest.sh build            npm run build (the package, dist/) and build:test (dist-test/), offline
#   ctest.sh test NAME...     node --test on dist-test/test/NAME.test.js
# Without node 18+, npm or node_modules (scripts/install-deps.sh runs `npm ci` here) it skips
# (exit 77), or fails under AIMASS_REQUIRE_ALL=1 (scripts/test.sh sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

unavailable() {
  if [ "${AIMASS_REQUIRE_ALL:-}" = 1 ]; then
    echo "FAIL: $1 (AIMASS_REQUIRE_ALL=1)" >&2
    exit 1
  fi
  echo "SKIP: $1"
  exit 77
}

command -v node > /dev/null || unavailable "node is not installed (scripts/install-deps.sh installs nodejs and npm)"
command -v npm > /dev/null || unavailable "npm is not installed (scripts/install-deps.sh installs it)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 18 ] || unavailable "node $(node --version) is older than 18, which has fetch and node:test"
[ -x node_modules/.bin/tsc ] && [ -d node_modules/@types/node ] ||
  unavailable "clients/typescript/node_modules is missing: run scripts/install-deps.sh (npm ci)"

case "${1:-}" in
  build)
    npm run --silent build
    npm run --silent build:test
    ;;
  test)
    shift
    [ $# -gt 0 ] || { echo "usage: $0 test NAME..." >&2; exit 2; }
    files=()
    for name in "$@"; do files+=("dist-test/test/$name.test.js"); done
    exec node --test "${files[@]}"
    ;;
  *)
    echo "usage: $0 build | test NAME..." >&2
    exit 2
    ;;
esac
