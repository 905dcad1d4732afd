#!/usr/bin/env bash
# Installs the Debian 12 packages aimass needs to build, test and run. Runs apt-get only when
# something is missing (as root, or through sudo). Then, when node is there, installs the npm
# packages of the TypeScript client and the web console (`npm ci` in clients/typescript and ui/,
# from their package-lock.json) when a node_modules is missing or older than its lock file.
# Safe to run again. `--list` prints the Debian packages, one a line, and installs nothing
# (scripts/check-deps.sh checks the list against what the build reads).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake git pkg-config python3
  ccache                      # rebuilds from a clean build folder reuse earlier compiles
  libboost-dev libboost-program-options-dev
  libyaml-cpp-dev libpoco-dev
  libssl-dev                  # OpenSSL: the frontends' TLS (plugins/frontend/common/tls.cc) links libssl
  libgrpc++-dev               # gRPC++ (and its reflection service) for frontend.grpc and bench/grpc_load
  libprotobuf-dev             # protobuf's runtime for the generated OIP v2 gRPC messages
  protobuf-compiler           # protoc: generates C++ from plugins/frontend/grpc/proto/grpc_service.proto
  protobuf-compiler-grpc      # grpc_cpp_plugin: protoc's gRPC service generator
  libdnnl-dev                 # oneDNN for libaimass_compute
  ocl-icd-opencl-dev          # dnnl-config.cmake calls find_package(OpenCL); libdnnl-dev only recommends it
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev    # libFuzzer for tests/fuzz
  zlib1g-dev                  # gzipped IDX files (dataset.idx)
  libpng-dev                  # libpng: PNG images (dataset.images)
  libjpeg-dev                 # libjpeg-turbo: JPEG images (dataset.images)
  libpq-dev                   # storage.postgres (libpoco-dev's Poco::DataPostgreSQL needs it)
  postgresql                  # the real server storage.postgres's tests run against
  dataset-fashion-mnist       # Fashion-MNIST for configs/quickstart.yaml, fashion_mnist_softmax.yaml and tests
  prometheus                  # promtool: frontend.http's /metrics test checks the format
  sqlite3                     # online backups of storage.sqlite (docs/operations.md)
  libsqlite3-dev              # storage.sqlite's record statements use SQLite's C API (FindSQLite3)
  python3-numpy               # the Python client's tests (clients/python) with numpy arrays
  openssl                     # the Python client's TLS test makes its certificates with it
  libcurl4-openssl-dev        # libcurl for the C client (clients/c, libaimass_client) and the C++ one over it
  libopenmpi-dev              # Open MPI for collective.mpi (plugins/collective/mpi); CMake's FindMPI
  openmpi-bin                 # mpirun: runs distributed jobs and collective.mpi's multi-rank tests
  slurmctld slurmd            # a real single-node Slurm for the job service's launcher: slurm tests
  slurm-client                # sbatch, scontrol, scancel, sinfo (scripts/slurm-test-server.sh)
  munge                       # Slurm's authentication daemon, which the test Slurm starts with its own key
  chromium                    # headless browser the web console's Playwright tests drive (ui/tests)
  fonts-liberation            # fonts for the console's pages and screenshots in that browser
)

# Node.js 18+ and npm build and test the TypeScript client (clients/typescript). Debian 12's
# nodejs and npm, unless a node (or npm) from elsewhere is already on PATH: that one is kept,
# not replaced. Listed while Debian's package is the one installed, so the list stays the same
# after the first run.
for tool in node:nodejs npm:npm; do
  if ! command -v "${tool%%:*}" > /dev/null ||
     dpkg-query -W -f='${Status}' "${tool#*:}" 2>/dev/null | grep -q "install ok installed"; then
    packages+=("${tool#*:}")
  fi
done

if [ "${1:-}" = --list ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo > /dev/null; then
    as_root=(sudo)
  else
    echo "install-deps: missing packages (${missing[*]}) and not root: run as root or install sudo" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  "${as_root[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends \
    "${missing[@]}"
fi

# The npm packages of the TypeScript client (typescript, @types/node) and of the web console
# (ui/: its build tools, framework and Playwright), each from its lock file.
for project in clients/typescript ui; do
  if [ ! -f "$project/package-lock.json" ]; then
    continue
  elif ! command -v npm > /dev/null; then
    echo "install-deps: no npm: $project's packages are not installed" >&2
  elif [ ! -f "$project/node_modules/.package-lock.json" ] ||
       [ "$project/package-lock.json" -nt "$project/node_modules/.package-lock.json" ]; then
    echo "install-deps: npm ci in $project"
    (cd "$project" && npm ci --no-audit --no-fund)
  else
    echo "install-deps: $project/node_modules is up to date"
  fi
done
