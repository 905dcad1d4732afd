#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what is needed (Fashion-MNIST included),
# build, and run the quickstart graph (configs/quickstart.yaml: train an MLP on Fashion-MNIST
# for a few seconds, score it on the test images, save and register it, serve it over HTTP).
# Stop serving with Ctrl-C. AIMASS_HTTP_PORT (default 8080) picks the port; for a CSV file of
# your own, run configs/csv_classifier.yaml instead.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/check-deps.sh  # fails if the list above lacks a package the build reads
cmake --preset default
cmake --build --preset default
exec build/bin/aimass run configs/quickstart.yaml
