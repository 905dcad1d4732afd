#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what is needed, build everything and run
# every test suite (unit, plugin, integration, the out-of-tree plugin build, the fuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/check-deps.sh  # fails if the list above lacks a package the build reads
cmake --preset default
cmake --build --preset default
ctest --test-dir build --output-on-failure -j2 --timeout 900
