#!/usr/bin/env bash
# Installs the peers bench/run.sh compares aimass with, exactly as ../shared/BENCHMARKS.md sets
# them up: PyTorch, scikit-learn and Optuna for /usr/bin/python3, wrk and nginx-light for the
# HTTP workloads, Fashion-MNIST, and the OpenMP build of OpenBLAS that run.sh points the Python
# peers at (without it they fall back to the reference BLAS, ~100x slower). Debian 12; runs
# apt-get as root or through sudo. Safe to run again.
set -euo pipefail

packages=(
  python3-torch python3-sklearn python3-optuna
  wrk nginx-light
  dataset-fashion-mnist
  libopenblas0-openmp
)

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo > /dev/null; then
  as_root=(sudo)
else
  echo "install-peers: not root and no sudo: run as root to install ${packages[*]}" >&2
  exit 1
fi

"${as_root[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends \
  "${packages[@]}"
