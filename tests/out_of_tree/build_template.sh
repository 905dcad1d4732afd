#!/usr/bin/env bash
# Usage: build_template.sh BUILD_DIR TEMPLATE_DIR CMAKE
# Installs the aimass build into a fresh prefix, builds the template plugin against that
# prefix only, and checks that the installed host loads it and its conformance suite passes.
set -euo pipefail
build_dir=$1 template_dir=$2 cmake=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$cmake" --install "$build_dir" --prefix "$work/prefix" > "$work/install.log"
# The vendor sees only the prefix: no source tree, no build tree.
"$cmake" -S "$template_dir" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
"$cmake" --build "$work/build" -j2 > "$work/build.log"

plugin="$work/build/libaimass_model_nearest_centroid.so"
test -f "$plugin" || { echo "template did not produce $plugin"; exit 1; }

# Only the entry point is exported.
exported=$(nm -D --defined-only "$plugin" | awk '{print $3}' | grep -v '^$' | sort -u)
if [ "$exported" != "aimass_plugin_entry" ]; then
  echo "expected only aimass_plugin_entry to be exported, got:"; echo "$exported"; exit 1
fi

host="$work/prefix/bin/aimass"
"$host" plugin check "$plugin"
# The installed host also finds the plugin through AIMASS_PLUGIN_PATH and lists its type.
AIMASS_PLUGIN_PATH="$work/build" "$host" plugins list --json | grep -q '"model.nearest_centroid"'
# ... and finds its own installed plugins without any environment variable.
"$host" plugins list --json | grep -q '"storage.fs"'
echo "out-of-tree template: built against the installed package, loaded and checked"
