#!/usr/bin/env bash
# Usage: build_consumer.sh BUILD_DIR CONSUMER_DIR CMAKE [EXPECT_GRPC]
# Installs only the aimass_client component into a fresh prefix, checks the library's ABI
# surface (SONAME, only aimass_client_* exported), then builds the consumer against that prefix
# with find_package(aimass_client) and, for C, with pkg-config; runs what it built. With
# EXPECT_GRPC=ON the package must have aimass_client::grpc, whose consumer is built and run too.
set -euo pipefail
build_dir=$1 consumer_dir=$2 cmake=$3 expect_grpc=${4:-OFF}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

"$cmake" --install "$build_dir" --prefix "$prefix" --component aimass_client > "$work/install.log"
library=$(find "$prefix" -name 'libaimass_client.so.1' | head -n 1)
test -n "$library" || { echo "libaimass_client.so.1 was not installed"; exit 1; }
libdir=$(dirname "$library")

soname=$(objdump -p "$library" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = libaimass_client.so.1 ] || { echo "SONAME is '$soname'"; exit 1; }
others=$(nm -D --defined-only "$library" | awk '{print $3}' | grep -v '^aimass_client_' |
         grep -v '^AIMASS_CLIENT_1$' | grep -v '^$' || true)
[ -z "$others" ] || { echo "exported beyond aimass_client_*:"; echo "$others"; exit 1; }

# CMake: find_package(aimass_client) from the prefix alone.
"$cmake" -S "$consumer_dir" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release -DAIMASS_EXPECT_GRPC="$expect_grpc" > "$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; exit 1; }
"$cmake" --build "$work/build" -j2 > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/build/consumer_c"
"$work/build/consumer_cpp"
if [ "$expect_grpc" = ON ]; then
  "$work/build/consumer_grpc"
fi

# pkg-config: the .pc file alone gives the flags.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror "$consumer_dir/consumer.c" -o "$work/consumer_pc" \
  $(pkg-config --cflags --libs aimass_client) -Wl,-rpath,"$libdir"
"$work/consumer_pc"
echo "client package: installed, found by CMake and pkg-config, built and run"
