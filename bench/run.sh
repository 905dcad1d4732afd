#!/usr/bin/env bash
# Runs benchmark workloads of ../shared/BENCHMARKS.md, aimass and its peer side by side on the
# same machine, threads and data, and prints one JSON line per workload:
#   {"workload": "W1", "aimass": {...figures...}, "peer": {...figures...}, "ratio": ...}
# ratio: how many times aimass is ahead on the workload's main speed figure (> 1: ahead).
# Each run also appends a row to bench/RESULTS.md unless --no-record is given; it refuses to
# record when the tree has uncommitted changes (untracked files included) other than
# bench/RESULTS.md itself. Every row carries the machine's GEMM ceiling (W0) measured beside it
# and whether the workload's quality targets were met.
#
#   bench/run.sh [--no-record] [--runs N] WORKLOAD...     WORKLOAD: W0 W1 W1bf16 W2 W3 W4 W5 W6 W6bf16 W7 W9 W10 W11
#                                                         W12 W13 W14 registry tracking, or all;
#                                                         also W2select and W14select (choose
#                                                         W2's recipe and W14's strategy; never
#                                                         recorded)
#
# Builds an optimised tree (RelWithDebInfo, the flags the tests run with: -O2 -g) with the
# benchmark programs first (build-bench/), or uses the tree named by $AIMASS_BENCH_BUILD as it
# is. The peers come from bench/install-peers.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

implemented=(W0 W1 W1bf16 W2 W3 W4 W5 W6 W6bf16 W7 W8 W9 W10 W11 W12 W13 W14 registry tracking)
not_in_all=(W2select W14select)
usage="usage: bench/run.sh [--no-record] [--runs N] WORKLOAD...
  (WORKLOAD: ${implemented[*]} ${not_in_all[*]} or all)"

record=1
runs=3
workloads=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-record) record=0 ;;
    --runs)
      if [ $# -lt 2 ] || ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
        echo "bench/run.sh: --runs needs a positive whole number" >&2
        exit 2
      fi
      runs="$2"
      shift
      ;;
    -h|--help) echo "$usage"; exit 0 ;;
    all) workloads+=("${implemented[@]}") ;;
    -*) echo "bench/run.sh: unknown option '$1'"$'\n'"$usage" >&2; exit 2 ;;
    *)
      known=0
      for w in "${implemented[@]}" "${not_in_all[@]}"; do
        if [ "$1" = "$w" ]; then known=1; fi
      done
      if [ $known -eq 0 ]; then
        echo "bench/run.sh: unknown workload '$1': implemented are ${implemented[*]} ${not_in_all[*]} (or all)" >&2
        exit 2
      fi
      workloads+=("$1")
      ;;
  esac
  shift
done
if [ ${#workloads[@]} -eq 0 ]; then
  echo "bench/run.sh: name at least one workload"$'\n'"$usage" >&2
  exit 2
fi

# Rows come from committed trees only: refuse before building anything.
if [ $record -eq 1 ] && ! /usr/bin/python3 bench/harness.py --check-clean; then
  echo "bench/run.sh: not recording from a tree with uncommitted changes; commit them or use" \
       "--no-record" >&2
  exit 2
fi

# W14's peer is bench/w14 itself (the random order): it needs Fashion-MNIST, no Python peer.
python_peers=0
for w in "${workloads[@]}"; do
  case "$w" in
    W14|W14select) ;;
    *) python_peers=1 ;;
  esac
done
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
   { [ $python_peers -eq 1 ] &&
     { ! /usr/bin/python3 -c 'import torch, sklearn, numpy' 2> /dev/null ||
       [ ! -d /usr/lib/x86_64-linux-gnu/openblas-openmp ]; }; }; then
  echo "bench/run.sh: the peers are not installed (PyTorch, scikit-learn, OpenBLAS-OpenMP," \
       "Fashion-MNIST): run bench/install-peers.sh as root" >&2
  exit 2
fi
for w in "${workloads[@]}"; do
  if [ "$w" = W11 ] && ! /usr/bin/python3 -c 'import optuna' 2> /dev/null; then
    echo "bench/run.sh: W11 needs Optuna: run bench/install-peers.sh as root" >&2
    exit 2
  fi
  if { [ "$w" = W6 ] || [ "$w" = W10 ] || [ "$w" = W13 ]; } &&
     { ! command -v wrk > /dev/null || [ ! -x /usr/sbin/nginx ]; }; then
    echo "bench/run.sh: $w needs wrk and nginx-light: run bench/install-peers.sh as root" >&2
    exit 2
  fi
done

if [ -n "${AIMASS_BENCH_BUILD:-}" ]; then
  # A tree you built yourself (with -DAIMASS_BUILD_BENCH=ON), used as it is.
  build="$AIMASS_BENCH_BUILD"
  needed=("$build/bin/aimass")
  # A recorded row carries the GEMM ceiling (W0), so recording needs bench/gemm.
  if [ $record -eq 1 ]; then needed+=("$build/bench/gemm"); fi
  for w in "${workloads[@]}"; do
    if [ "$w" = W0 ]; then needed+=("$build/bench/gemm"); fi
    if [ "$w" = W3 ]; then needed+=("$build/bench/w3"); fi
    if [ "$w" = W4 ]; then needed+=("$build/bench/w4"); fi
    if [ "$w" = W5 ]; then needed+=("$build/bench/w5"); fi
    if [ "$w" = W7 ]; then needed+=("$build/bench/w7"); fi
    if [ "$w" = W14 ] || [ "$w" = W14select ]; then needed+=("$build/bench/w14"); fi
    if [ "$w" = registry ]; then needed+=("$build/bench/registry_bench"); fi
    if [ "$w" = W10 ]; then needed+=("$build/bench/attack"); fi
  done
  for f in "${needed[@]}"; do
    if [ ! -x "$f" ]; then
      echo "bench/run.sh: AIMASS_BENCH_BUILD=$build has no $f: build it with" \
           "-DAIMASS_BUILD_BENCH=ON, or unset AIMASS_BENCH_BUILD" >&2
      exit 2
    fi
  done
else
  build=build-bench
  launcher=()
  if command -v ccache > /dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  echo "bench/run.sh: building $build (RelWithDebInfo)" >&2
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIMASS_BUILD_BENCH=ON \
    -DAIMASS_BUILD_TESTS=OFF -DAIMASS_WERROR=ON "${launcher[@]}" > /dev/null
  cmake --build "$build" -j2 > "$build/bench-build.log" 2>&1 || {
    tail -30 "$build/bench-build.log" >&2
    echo "bench/run.sh: the build failed (log: $build/bench-build.log)" >&2
    exit 1
  }
fi

flags=(--build "$build" --runs "$runs")
if [ $record -eq 0 ]; then
  flags+=(--no-record)
fi
exec /usr/bin/python3 bench/harness.py "${flags[@]}" "${workloads[@]}"
