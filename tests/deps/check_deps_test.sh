#!/usr/bin/env bash
# Usage: check_deps_test.sh SOURCE_DIR
# scripts/check-deps.sh accepts install-deps.sh's own list and refuses one that lacks a package
# the configure reads, naming the package and the CMake file that pulled it in.
set -euo pipefail
cd "$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash scripts/check-deps.sh

bash scripts/install-deps.sh --list | grep -vx ocl-icd-opencl-dev > "$work/packages"
status=0
bash scripts/check-deps.sh --packages "$work/packages" > "$work/out" 2>&1 || status=$?
cat "$work/out"
if [ "$status" -ne 1 ]; then
  echo "expected check-deps to fail (exit 1) without ocl-icd-opencl-dev, got exit $status"
  exit 1
fi
for expected in "Debian package 'ocl-icd-opencl-dev'" "libOpenCL.so" "dnnl-config.cmake"; do
  if ! grep -qF "$expected" "$work/out"; then
    echo "expected the failure to mention: $expected"
    exit 1
  fi
done
echo "check-deps: names ocl-icd-opencl-dev when the list lacks it"
