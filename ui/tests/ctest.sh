#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The console's end-to-end suite (ctest ui_console_e2e, ui/CMakeLists.txt):
#
#   bash ui/tests/ctest.sh [BUILD_DIR [PLAYWRIGHT ARGUMENTS...]]     (BUILD_DIR: build/)
#
# makes real data with the build's aimass (two training runs of the pump classifier, which
# register two versions of pump_state, a sweep of 250 short runs, a run whose loss has
# 100,000 points, a tuning study of 12 trials, an evaluation of version 2, a Fashion-MNIST
# classifier that ranks an annotation project's images, and 100,000 seeded runs of experiment
# "scale", in a temporary SQLite store), serves it without authentication on a second server,
# and over HTTPS (a self-signed certificate made here) with auth on (API keys: reader, operator,
# admin, and three annotators), a job service, pump_state served and monitored (with traffic
# that drifts and its ground truth, tests/serve_traffic.mjs), four annotation projects (class,
# spans, boxes, value) and the build's console at /ui/. A small reverse proxy (tests/proxy.mjs) puts the
# same server under a path prefix. The Playwright tests (tests/*.spec.ts) run in headless
# /usr/bin/chromium twice: on the server itself (project "direct") and through the proxy
# ("prefix"). Screenshots of the direct run go to BUILD_DIR/ui-screenshots, the runs table's
# timings at 100,000 runs to BUILD_DIR/ui-timings.json (bench/ui_timings.py prints them).
# Everything it starts is stopped on exit.
#
# AIMASS_EXECUTABLE, AIMASS_CONSOLE_DIR and AIMASS_SEED_RUNS override BUILD_DIR/bin/aimass,
# BUILD_DIR/share/aimass/ui and BUILD_DIR/tests/seed_runs; AIMASS_E2E_KEEP=1 keeps the temporary folder. Without node,
# ui/node_modules or /usr/bin/chromium it skips (exit 77), or fails instead under
# AIMASS_REQUIRE_ALL=1 (scripts/test.sh sets it).
set -euo pipefail
ui_dir=$(cd "$(dirname "$0")/.." && pwd)
source_dir=$(cd "$ui_dir/.." && pwd)

unavailable() {
  if [ "${AIMASS_REQUIRE_ALL:-}" = 1 ]; then
    echo "FAIL: $1 (AIMASS_REQUIRE_ALL=1)" >&2
    exit 1
  fi
  echo "SKIP: $1"
  exit 77
}

build_dir=$(cd "${1:-$source_dir/build}" && pwd)
[ $# -ge 1 ] && shift
command -v node > /dev/null || unavailable "node is not installed (scripts/install-deps.sh installs nodejs and npm)"
[ -d "$ui_dir/node_modules/@playwright/test" ] ||
  unavailable "ui/node_modules is missing: run scripts/install-deps.sh (npm ci in ui/)"
[ -x /usr/bin/chromium ] || unavailable "/usr/bin/chromium is missing (scripts/install-deps.sh installs chromium)"

aimass=${AIMASS_EXECUTABLE:-$build_dir/bin/aimass}
console=${AIMASS_CONSOLE_DIR:-$build_dir/share/aimass/ui}
[ -x "$aimass" ] || { echo "FAIL: no aimass at $aimass" >&2; exit 1; }
[ -f "$console/index.html" ] || { echo "FAIL: no built console at $console (the aimass_ui target builds it)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/aimass-ui-e2e.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  if [ "${AIMASS_E2E_KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two training runs of the pump classifier (different learning rates): runs 1 and 2, versions 1
# and 2 of pump_state, metrics by epoch (val_loss, val_accuracy, ...) and by batch (loss).
cat > "$work/train.yaml" <<YAML
nodes:
  store: {type: storage.sqlite, path: $work/store.db}
  pumps: {type: dataset.csv, path: $source_dir/configs/data/pumps.csv, label: state}
  pump_state: {type: model.softmax}
  sgd: {type: optimizer.sgd, learning_rate: "\${LR}"}
  train:
    type: job.train
    model: pump_state
    dataset: pumps
    optimizer: sgd
    epochs: 15
    seed: 7
    validation_fraction: 0.2
    storage: store
YAML
LR=0.05 "$aimass" run "$work/train.yaml" > "$work/train1.log" 2>&1
LR=0.2 "$aimass" run "$work/train.yaml" > "$work/train2.log" 2>&1
# A sweep of 250 short runs (experiment "sweep", runs 3 to 252): more than the runs table's page
# of 100, for its paging and virtualised rows.
{
  echo "nodes:"
  echo "  store: {type: storage.sqlite, path: $work/store.db}"
  echo "  pumps: {type: dataset.csv, path: $source_dir/configs/data/pumps.csv, label: state}"
  for i in $(seq 0 249); do
    echo "  m$i: {type: model.softmax}"
    echo "  o$i: {type: optimizer.sgd, learning_rate: 0.0$((10 + i % 90))}"
    echo "  t$i: {type: job.train, model: m$i, dataset: pumps, optimizer: o$i, epochs: 2, seed: $i,"
    echo "        validation_fraction: 0.2, storage: store, register: false, experiment: sweep}"
  done
} > "$work/sweep.yaml"
"$aimass" run "$work/sweep.yaml" > "$work/sweep.log" 2>&1
# One long run (experiment "long"): 12,500 epochs of 8 batches, so its per-batch loss has
# 100,000 points, as long as the metric route's largest page.
cat > "$work/long.yaml" <<YAML
nodes:
  store: {type: storage.sqlite, path: $work/store.db}
  pumps: {type: dataset.csv, path: $source_dir/configs/data/pumps.csv, label: state}
  m: {type: model.softmax}
  sgd: {type: optimizer.sgd, learning_rate: 0.05}
  train: {type: job.train, model: m, dataset: pumps, optimizer: sgd, epochs: 12500, storage: store,
          validation_fraction: 0.2, experiment: long, register: false}
YAML
"$aimass" run "$work/long.yaml" > "$work/long.log" 2>&1
# A tuning study "pumps_tune" of 12 trials (TPE over the learning rate and the hidden width; the
# median pruner, after 5 complete trials, prunes some of the rest): the studies page
# (tests/pages.spec.ts).
cat > "$work/tune.yaml" <<YAML
nodes:
  store: {type: storage.sqlite, path: $work/store.db}
  pumps: {type: dataset.csv, path: $source_dir/configs/data/pumps.csv, label: state}
  scale: {type: transform.standardize}
  net: {type: model.mlp, hidden: [8], preprocess: [scale]}
  adam: {type: optimizer.adam}
  train: {type: job.train, model: net, dataset: pumps, optimizer: adam, epochs: 9, seed: 3,
          validation_fraction: 0.25, storage: store, register: false, experiment: tuning}
  tpe: {type: optimizer.tpe, seed: 5}
  tune:
    type: job.tune
    trial: train
    optimizer: tpe
    objective: val_accuracy
    trials: 12
    parallel: 1
    pruner: median
    study: pumps_tune
    space:
      adam.learning_rate: {log_uniform: [1.0e-4, 3.0e-1]}
      net.hidden: {choice: [[4], [8], [16]]}
YAML
"$aimass" run "$work/tune.yaml" > "$work/tune.log" 2>&1
# Three evaluations (job.evaluate with a storage records each as a run of experiment
# "evaluation" with its report; the run page draws it): pump_state trained again exactly as
# version 2 was (same data, seed and learning rate, not registered), so the report is of version 2
# (matched by the weights' SHA-256); a binary classifier of valves (ROC and PR curves); a linear
# regression of energy use (residuals).
cat > "$work/evaluate.yaml" <<YAML
nodes:
  store: {type: storage.sqlite, path: $work/store.db}
  pumps: {type: dataset.csv, path: $source_dir/configs/data/pumps.csv, label: state}
  pump_state: {type: model.softmax}
  sgd: {type: optimizer.sgd, learning_rate: 0.2}
  train:
    type: job.train
    model: pump_state
    dataset: pumps
    optimizer: sgd
    epochs: 15
    seed: 7
    validation_fraction: 0.2
    storage: store
    register: false
    experiment: retrained
  evaluate: {type: job.evaluate, model: pump_state, dataset: pumps, storage: store, after: train}
  valves: {type: dataset.csv, path: $source_dir/configs/data/valves_train.csv, label: state}
  valves_test: {type: dataset.csv, path: $source_dir/configs/data/valves_test.csv, label: state}
  valve_state: {type: model.softmax}
  valve_sgd: {type: optimizer.sgd, learning_rate: 0.1}
  valve_train: {type: job.train, model: valve_state, dataset: valves, optimizer: valve_sgd,
                epochs: 10, seed: 1, storage: store, register: false, experiment: retrained}
  valve_evaluate: {type: job.evaluate, model: valve_state, dataset: valves_test, storage: store,
                   after: valve_train}
  energy: {type: dataset.csv, path: $source_dir/configs/data/energy.csv, label: kwh,
           label_type: value}
  kwh: {type: model.linear, solver: closed_form}
  kwh_train: {type: job.train, model: kwh, dataset: energy, storage: store, register: false,
              experiment: retrained}
  kwh_evaluate: {type: job.evaluate, model: kwh, dataset: energy, storage: store, after: kwh_train}
YAML
"$aimass" run "$work/evaluate.yaml" > "$work/evaluate.log" 2>&1
# The annotation projects' data (tests/annotation.spec.ts): garment_classifier, a softmax
# classifier of 3,000 Fashion-MNIST training images (version 1, experiment "garments"), which
# ranks the garments project's tasks and suggests their classes; and notes.csv, short texts with
# markup, an emoji and accented letters, whose spans are counted in characters.
fashion=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
[ -f "$fashion/t10k-images-idx3-ubyte.gz" ] ||
  unavailable "no Fashion-MNIST at $fashion (scripts/install-deps.sh installs dataset-fashion-mnist)"
cat > "$work/garments.yaml" <<YAML
nodes:
  store: {type: storage.sqlite, path: $work/store.db}
  garments_train:
    type: dataset.idx
    images: $fashion/train-images-idx3-ubyte.gz
    labels: $fashion/train-labels-idx1-ubyte.gz
    limit: 3000
  garment_classifier: {type: model.softmax}
  sgd: {type: optimizer.sgd, learning_rate: 0.1}
  train: {type: job.train, model: garment_classifier, dataset: garments_train, optimizer: sgd,
          epochs: 3, seed: 1, storage: store, experiment: garments}
YAML
"$aimass" run "$work/garments.yaml" > "$work/garments.log" 2>&1
cat > "$work/notes.csv" <<'CSV'
id,note
1,🌧 <b>Ada Lovelace</b> met Charles Babbage in London <script>alert(1)</script>
2,🌧 <b>Zoë Brontë</b> walked from Haworth to Leeds
3,🌧 <b>Grace Hopper</b> worked in Arlington & Philadelphia
4,🌧 <b>Marie Curie</b> lived in Paris <i>and</i> Warsaw
5,🌧 <b>Alan Turing</b> was born in Maida Vale
6,🌧 <b>Émilie du Châtelet</b> studied in Cirey
7,🌧 <b>Ibn Battuta</b> sailed to Calicut <img src=x onerror=alert(2)>
8,🌧 <b>Hypatia</b> taught in Alexandria
CSV
# 100,000 finished runs of experiment "scale" (tests/tracking/seed_runs.cc: accuracy
# (i * 7919 % 1000) / 1000, loss 1 - accuracy, params lr and batch), written in one transaction
# before any server opens the store: the runs table's timings at that size (tests/scale.spec.ts).
seed_runs=${AIMASS_SEED_RUNS:-$build_dir/tests/seed_runs}
[ -x "$seed_runs" ] || { echo "FAIL: no seed_runs at $seed_runs (the seed_runs target builds it)" >&2; exit 1; }
"$seed_runs" "$work/store.db" scale 100000 > "$work/scale.log"

hash() { printf %s "$1" | sha256sum | cut -c1-64; }
export AIMASS_E2E_READER_KEY=e2e-reader-key-1 AIMASS_E2E_OPERATOR_KEY=e2e-operator-key-1 \
       AIMASS_E2E_ADMIN_KEY=e2e-admin-key-1
# Annotators (role annotator): alice and bob label, carol reviews.
export AIMASS_E2E_ALICE_KEY=e2e-alice-key-1 AIMASS_E2E_BOB_KEY=e2e-bob-key-1 \
       AIMASS_E2E_CAROL_KEY=e2e-carol-key-1
# The server also takes JWTs signed with this secret (the tests sign their own).
export AIMASS_E2E_JWT_SECRET=e2e-jwt-secret-of-at-least-32-bytes-0123456789
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/server.key" -out "$work/server.crt" 2> "$work/openssl.log"
cat > "$work/serve.yaml" <<YAML
nodes:
  store: {type: storage.sqlite, path: $work/store.db}
  jobs:
    type: service.jobs
    storage: store
    work_dir: $work/jobs
    threads: 2
    memory: 4GiB
    grace_period_ms: 2000
    queues:
      research: {threads: 1, memory: 2GiB, cohort: lab, ordering: fair_share}
      production: {threads: 1, memory: 2GiB, cohort: lab, max_running: 1}
  serving:
    type: serving.runtime
    repository: store
    load: [pump_state, garment_classifier]
    payload_sample: 1.0
  monitor:
    type: service.monitor
    model: pump_state
    repository: store
    window: 40
    interval_ms: 300
  # Annotation projects (tests/annotation.spec.ts): garments (200 test images, one class each,
  # ranked by garment_classifier's margin, reviewed by carol), notes (spans of texts), outlines
  # (boxes, two annotators each, accepted when they agree) and ratings (a value per row of
  # pumps.csv, bob's alone).
  fashion_pool:
    type: dataset.idx
    images: $fashion/t10k-images-idx3-ubyte.gz
    labels: $fashion/t10k-labels-idx1-ubyte.gz
    limit: 200
  garments:
    type: service.annotation
    dataset: fashion_pool
    repository: store
    task: class
    annotations_per_task: 1
    review: true
    annotators: [alice, bob]
    reviewers: [carol]
    sampling: margin
    model: garment_classifier
    export_dir: $work/exports
  notes_text: {type: dataset.csv, path: $work/notes.csv}
  notes:
    type: service.annotation
    dataset: notes_text
    repository: store
    task: spans
    text_column: note
    choices: [person, place]
    review: true
    annotators: [alice]
    reviewers: [carol]
    export_dir: $work/exports
  outlines:
    type: service.annotation
    dataset: fashion_pool
    repository: store
    task: boxes
    show: image
    choices: [garment, shoe, bag]
    annotations_per_task: 2
    annotators: [alice, bob]
    export_dir: $work/exports
  pump_readings: {type: dataset.csv, path: $source_dir/configs/data/pumps.csv, label: state}
  ratings:
    type: service.annotation
    dataset: pump_readings
    repository: store
    task: value
    value_min: 0
    value_max: 10
    show: table
    annotators: [bob]
    export_dir: $work/exports
  web:
    type: frontend.http
    host: 127.0.0.1
    port: 0
    auth: "on"
    console_dir: $console
    tls_certificate: $work/server.crt
    tls_private_key: $work/server.key
    jwt_secret_env: AIMASS_E2E_JWT_SECRET
    api_keys:
      - {name: rita, role: reader, sha256: $(hash "$AIMASS_E2E_READER_KEY")}
      - {name: otto, role: operator, sha256: $(hash "$AIMASS_E2E_OPERATOR_KEY")}
      - {name: ada, role: admin, sha256: $(hash "$AIMASS_E2E_ADMIN_KEY")}
      - {name: alice, role: annotator, sha256: $(hash "$AIMASS_E2E_ALICE_KEY")}
      - {name: bob, role: annotator, sha256: $(hash "$AIMASS_E2E_BOB_KEY")}
      - {name: carol, role: annotator, sha256: $(hash "$AIMASS_E2E_CAROL_KEY")}
YAML
"$aimass" serve "$work/serve.yaml" > "$work/serve.log" 2>&1 &
pids+=($!)

# Waits for a line "serving http://HOST:PORT" in a log; prints the URL.
url_of() {
  local log=$1 pid=$2 url=""
  for _ in $(seq 1 200); do
    url=$(grep -o 'serving https\?://[0-9.]*:[0-9]*' "$log" 2> /dev/null | head -1 | cut -d' ' -f2) || true
    [ -n "$url" ] && { echo "$url"; return 0; }
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  echo "FAIL: no server address in $log:" >&2
  cat "$log" >&2
  return 1
}
server=$(url_of "$work/serve.log" "${pids[-1]}")
# Requests to the served pump_state, half of them shifted, and their ground truth: the served
# state, the monitor's drift windows and its live accuracy (tests/serve_traffic.mjs).
NODE_EXTRA_CA_CERTS=$work/server.crt node "$ui_dir/tests/serve_traffic.mjs" "$server" \
  "$source_dir/configs/data/pumps.csv" "$AIMASS_E2E_OPERATOR_KEY"

# A second server on the same store without authentication (auth: auto on loopback, no
# credentials, plain HTTP, no job service): the console signs nobody in and its changes pass the
# same-origin checks (docs/security.md).
cat > "$work/open.yaml" <<YAML
nodes:
  store: {type: storage.sqlite, path: $work/store.db}
  web: {type: frontend.http, host: 127.0.0.1, port: 0, console_dir: $console}
YAML
"$aimass" serve "$work/open.yaml" > "$work/open.log" 2>&1 &
pids+=($!)
open_server=$(url_of "$work/open.log" "${pids[-1]}")

# The same server under a path prefix, behind a reverse proxy.
node "$ui_dir/tests/proxy.mjs" --upstream "$server" --prefix /tools/aimass --ca "$work/server.crt" \
  > "$work/proxy.log" 2>&1 &
pids+=($!)
proxy=$(url_of "$work/proxy.log" "${pids[-1]}")

export AIMASS_E2E_SERVER=$server
export AIMASS_E2E_DIRECT_URL=$server/ui/
export AIMASS_E2E_PREFIX_URL=$proxy/tools/aimass/ui/
export AIMASS_E2E_OPEN_URL=$open_server/ui/
export AIMASS_E2E_SOURCE_DIR=$source_dir
export AIMASS_E2E_WORK=$work
export AIMASS_E2E_SCREENSHOTS=$build_dir/ui-screenshots
export AIMASS_E2E_TIMINGS=$build_dir/ui-timings.json
# The tests' own API calls (Node's fetch) trust the certificate.
export NODE_EXTRA_CA_CERTS=$work/server.crt
mkdir -p "$AIMASS_E2E_SCREENSHOTS"
echo "aimass at $server, its console at $AIMASS_E2E_DIRECT_URL and $AIMASS_E2E_PREFIX_URL"
cd "$ui_dir"
status=0
node node_modules/@playwright/test/cli.js test --output "$work/test-results" "$@" || status=$?
if [ $status -ne 0 ]; then
  echo "--- aimass log ---"
  tail -50 "$work/serve.log"
fi
exit $status
