#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# seed_runs writes runs that `aimass runs list` reads back: the count, the order by a metric, a
# page by offset, and a run's params (ctest seed_runs_listed; tests/tracking/CMakeLists.txt).
#   seed_runs_listed.sh SEED_RUNS AIMASS
set -euo pipefail
seed=$1 aimass=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/aimass-seed-runs.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

ids=$("$seed" "$work/store.db" seeded 2000)
[ "$ids" = "1 2000" ] || fail "seed_runs printed '$ids', expected '1 2000'"
list() { "$aimass" runs list --storage "sqlite://$work/store.db" --json "$@"; }
python3 - "$(list --experiment seeded --limit 3)" "$(list --sort accuracy --desc --limit 2 --offset 1)" \
  "$(list --experiment seeded --filter 'accuracy>0.9' --limit 0)" <<'PY' || fail "listings differ from what seed_runs wrote"
import json, sys
newest, second_best, above = (json.loads(text) for text in sys.argv[1:])
assert newest["matched"] == 2000, newest["matched"]
assert [r["id"] for r in newest["runs"]] == [2000, 1999, 1998], newest["runs"]
run = newest["runs"][0]
assert run["params"] == {"lr": "0.001", "batch": "64"}, run["params"]  # run 2000 is i = 1999
assert abs(run["metrics"]["accuracy"] + run["metrics"]["loss"] - 1) < 1e-12, run["metrics"]
# i * 7919 % 1000 takes each value twice in 2000 runs: 0.999 twice, then 0.998.
assert [r["metrics"]["accuracy"] for r in second_best["runs"]] == [0.999, 0.998], second_best
assert above["matched"] == 198 and len(above["runs"]) == 198, above["matched"]
PY
# A bad count is refused before the store is touched.
if "$seed" "$work/other.db" seeded 0 2> "$work/err"; then fail "a count of 0 was accepted"; fi
grep -q "COUNT must be" "$work/err" || fail "no clear error for a count of 0"
[ ! -e "$work/other.db" ] || fail "a refused call made a store"
echo "seed_runs_listed: ok"
