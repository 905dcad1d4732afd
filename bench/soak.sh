#!/usr/bin/env bash
# Soak test of frontend.http (not run in CI): serves the W6 model (bench/configs/w6_serve.yaml)
# and keeps 64 connections busy with OIP v2 inference requests for 10 minutes, then prints one
# JSON line with the request count, the errors (connect, read and write errors, answers slower
# than 2 s or other than 2xx) and the server's resident memory when the load started and ended:
#   {"seconds": 600, "connections": 64, "form": "json", "requests": ..., "req_per_s": ...,
#    "p99_ms": ..., "errors": 0, "rss_start_mib": ..., "rss_end_mib": ...}
# Exits 1 when there was any error or the server did not exit 0 on SIGTERM afterwards.
#
#   bench/soak.sh [--seconds N] [--connections N] [--binary]
#
# --binary sends the binary tensor data form instead of JSON. Uses the aimass of
# $AIMASS_BENCH_BUILD (default build-bench, which bench/run.sh builds); needs wrk and
# the Fashion-MNIST files (bench/install-peers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: bench/soak.sh [--seconds N] [--connections N] [--binary]"
seconds=600
connections=64
form=json
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds|--connections)
      if [ $# -lt 2 ] || ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
        echo "bench/soak.sh: $1 needs a positive whole number"$'\n'"$usage" >&2
        exit 2
      fi
      if [ "$1" = --seconds ]; then seconds="$2"; else connections="$2"; fi
      shift
      ;;
    --binary) form=binary ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "bench/soak.sh: unknown argument '$1'"$'\n'"$usage" >&2; exit 2 ;;
  esac
  shift
done

build="${AIMASS_BENCH_BUILD:-build-bench}"
aimass="$build/bin/aimass"
if [ ! -x "$aimass" ]; then
  echo "bench/soak.sh: no $aimass: build it (bench/run.sh builds build-bench) or set" \
       "AIMASS_BENCH_BUILD to a build folder" >&2
  exit 2
fi
if ! command -v wrk > /dev/null; then
  echo "bench/soak.sh: wrk is not installed: run bench/install-peers.sh as root" >&2
  exit 2
fi

work="$(mktemp -d -t aimass-soak-XXXXXX)"
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2> /dev/null; then
    kill -TERM "$server" 2> /dev/null || true
    wait "$server" 2> /dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

AIMASS_HTTP_PORT=0 AIMASS_THREADS="${AIMASS_THREADS:-2}" \
  "$aimass" run bench/configs/w6_serve.yaml > "$work/aimass.log" 2>&1 &
server=$!
base=""
for _ in $(seq 1 6000); do
  base="$(grep -o 'serving the Open Inference Protocol v2 on http://[0-9.:]*' "$work/aimass.log" |
          head -1 | sed 's/.* on //')" || true
  if [ -n "$base" ]; then break; fi
  if ! kill -0 "$server" 2> /dev/null; then
    tail -30 "$work/aimass.log" >&2
    echo "bench/soak.sh: aimass run bench/configs/w6_serve.yaml exited before serving" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "bench/soak.sh: aimass did not start serving within 10 minutes (log: $work/aimass.log)" >&2
  exit 1
fi

# The request bodies for the first test image, named after the model's input.
/usr/bin/python3 - "$work" "$base" << 'PY'
import json, sys, urllib.request
sys.path.insert(0, "bench")
import harness
folder, base = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(base + "/v2/models/fashion", timeout=30) as answer:
    name = json.loads(answer.read())["inputs"][0]["name"]
with open(folder + "/forms.txt", "w") as f:
    for form, path, content_type, header_length in harness.w6_bodies(folder, name):
        f.write(f"{form} {path} {content_type} {header_length or ''}\n")
PY
read -r _ body content_type header_length < <(grep "^$form " "$work/forms.txt")

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server/status"; }
rss_start=$(rss_kib)
wrk_args=(-t2 "-c$connections" "-d${seconds}s" --timeout 2s --latency -s bench/wrk/w6_request.lua
          "$base/v2/models/fashion/infer" -- "$body" "$content_type")
if [ -n "$header_length" ]; then wrk_args+=("$header_length"); fi
wrk "${wrk_args[@]}" > "$work/wrk.out"
rss_end=$(rss_kib)

kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
figures="$(grep '^{' "$work/wrk.out" | tail -1)"
if [ -z "$figures" ]; then
  cat "$work/wrk.out" >&2
  echo "bench/soak.sh: wrk printed no figures" >&2
  exit 1
fi
/usr/bin/python3 - "$figures" "$seconds" "$connections" "$form" "$rss_start" "$rss_end" \
    "$status" << 'PY'
import json, sys
figures = json.loads(sys.argv[1])
seconds, connections, form, rss_start, rss_end, status = sys.argv[2:]
print(json.dumps({"seconds": int(seconds), "connections": int(connections), "form": form,
                  "requests": figures["requests"], "req_per_s": figures["req_per_s"],
                  "p99_ms": figures["p99_ms"], "errors": figures["errors"],
                  "rss_start_mib": round(int(rss_start) / 1024, 1),
                  "rss_end_mib": round(int(rss_end) / 1024, 1), "server_exit": int(status)}))
PY
if [ "$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' \
        "$figures")" != 0 ]; then
  echo "bench/soak.sh: FAILED: requests failed (see errors)" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  tail -20 "$work/aimass.log" >&2
  echo "bench/soak.sh: FAILED: the server exited $status on SIGTERM, not 0" >&2
  exit 1
fi
