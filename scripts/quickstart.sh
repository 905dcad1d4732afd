#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what is needed, build, and run the
# quickstart graph (train a classifier, save it to the store, serve it over HTTP).
# Stop serving with Ctrl-C. AIMASS_HTTP_PORT (default 8080) picks the port.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset default
cmake --build --preset default
exec build/bin/aimass run configs/quickstart.yaml
