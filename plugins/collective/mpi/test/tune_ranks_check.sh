#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Usage: tune_ranks_check.sh MPIEXEC AIMASS SOURCE_DIR WORK_DIR [POSTGRES_STATE_DIR]
# job.tune shared by 2 ranks under mpirun (docs/tuning.md, "Tuning across ranks"):
#   1. on storage.fs, a study of 6 trials ends with exactly 6 trial records numbered 0..5, both
#      ranks ran some (each record names its rank), and the best model is registered once;
#   2. on storage.fs, a second study, with rank 1 killed (SIGKILL) once a trial has ended:
#      mpirun ends the job before the study is done, and running the configuration again
#      completes it with exactly 6 trials, running the ones left (the interrupted ones again);
#   3. with POSTGRES_STATE_DIR (scripts/postgres-test-server.sh's state: uri, password), check 1
#      again on storage.postgres, in a database of its own.
# Every mpirun is bounded by `timeout`, so a hang fails the test rather than waiting for ctest.
set -u
mpiexec=$1 aimass=$2 source=$3 work=$4 postgres=${5:-}
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work" || fail "cannot make $work"
store="{type: storage.fs, path: $work/store, fsync: false}"
config() {  # config FILE STUDY EPOCHS
  cat > "$1" <<YAML
nodes:
  comm: {type: collective.mpi, timeout_seconds: 120}
  store: $store
  pumps: {type: dataset.csv, path: $source/configs/data/pumps.csv, label: state}
  net: {type: model.mlp, hidden: [8]}
  adam: {type: optimizer.adam, learning_rate: 0.01}
  train: {type: job.train, model: net, dataset: pumps, optimizer: adam, epochs: $3, batch_size: 16, seed: 3, validation_fraction: 0.25, storage: store}
  search: {type: optimizer.random_search, seed: 1}
  tune:
    type: job.tune
    trial: train
    optimizer: search
    objective: val_accuracy
    trials: 6
    study: $2
    collective: comm
    lease_seconds: 5
    space:
      adam.learning_rate: {log_uniform: [1.0e-3, 0.1]}
YAML
}
# The trial records of study $1 (JSON, one after another).
trials_json() {
  if [ -n "$postgres" ]; then
    psql "$dburl" -At -c "SELECT convert_from(value, 'UTF8') FROM records WHERE
                          convert_from(key, 'UTF8') LIKE 'tune/$1/trials/%'"
  else
    cat "$work/store/data/tune/$1/trials/"*.val 2>/dev/null  # storage.fs: KEY.val under data/
  fi
}
numbers() { trials_json "$1" | grep -o '"number": *[0-9]*' | sed 's/.*: *//' | sort -n | tr '\n' ' '; }
count_state() { trials_json "$1" | grep -c "\"state\": *\"$2\""; }
ended() { echo $(( $(count_state "$1" complete) + $(count_state "$1" pruned) + $(count_state "$1" failed) )); }
mpi() { timeout -k 10 300 "$mpiexec" --oversubscribe -np 2 "$aimass" run "$1" > "$2" 2>&1; }

shared_study() {  # the study of check 1, in $store
  config "$work/shared.yaml" shared 3
  mpi "$work/shared.yaml" "$work/shared.log"
  rc=$?
  [ "$rc" = 0 ] || { cat "$work/shared.log"; fail "mpirun exited $rc"; }
  [ "$(numbers shared)" = "0 1 2 3 4 5 " ] || fail "expected trials 0..5, got: $(numbers shared)"
  [ "$(ended shared)" = 6 ] || fail "expected 6 ended trials, got $(ended shared)"
  for rank in 0 1; do
    trials_json shared | grep -q "\"worker\": *\"rank $rank," ||
      { cat "$work/shared.log"; fail "no trial ran on rank $rank"; }
  done
  registered=$(grep -c "its model is loaded and registered" "$work/shared.log")
  [ "$registered" = 1 ] || { cat "$work/shared.log"; fail "the best was registered $registered times"; }
  echo "shared study: 6 trials over 2 ranks, best registered once"
}

if [ -n "$postgres" ]; then
  export PGPASSWORD
  PGPASSWORD=$(cat "$postgres/password") || fail "no password in $postgres"
  uri=$(cat "$postgres/uri") || fail "no uri in $postgres"
  database=tune_ranks_$$
  psql "$uri" -q -c "CREATE DATABASE $database" || fail "cannot create database $database"
  dburl="${uri%/*}/$database"
  store="{type: storage.postgres, uri: \"$dburl\"}"  # libpq reads PGPASSWORD
  shared_study
  psql "$uri" -q -c "DROP DATABASE $database" || true
  echo PASS
  exit 0
fi

# 1. The ranks share one study.
shared_study

# 2. A rank killed mid-study; the rerun completes the study.
config "$work/killed.yaml" killed 1500  # trials of a few seconds: the kill lands mid-study
timeout -k 10 300 "$mpiexec" --oversubscribe -np 2 "$aimass" run "$work/killed.yaml" \
  > "$work/killed-1.log" 2>&1 &
job=$!
victim=
for _ in $(seq 1 600); do
  victim=$(trials_json killed | grep -o '"worker": *"rank 1, pid [0-9]*' | head -n 1 |
           sed 's/.*pid //')
  [ -n "$victim" ] && [ "$(ended killed)" -ge 1 ] && break
  sleep 0.2
done
[ -n "$victim" ] || { kill "$job"; fail "no trial started on rank 1"; }
kill -9 "$victim" || fail "cannot kill rank 1 (pid $victim)"
wait "$job"
rc=$?
[ "$rc" != 0 ] || fail "mpirun succeeded although rank 1 was killed"
echo "rank 1 (pid $victim) killed; mpirun exited $rc"
left=$(( 6 - $(ended killed) ))
[ "$left" -gt 0 ] || fail "the study ended before mpirun stopped it: nothing left to resume"
mpi "$work/killed.yaml" "$work/killed-2.log"
rc=$?
[ "$rc" = 0 ] || { cat "$work/killed-2.log"; fail "the rerun exited $rc"; }
[ "$(numbers killed)" = "0 1 2 3 4 5 " ] || fail "expected trials 0..5, got: $(numbers killed)"
[ "$(ended killed)" = 6 ] || fail "expected 6 ended trials, got $(ended killed)"
grep -q "trials ended so far" "$work/killed-2.log" || fail "the rerun did not continue the study"
grep -q "trial [0-9]* starts on rank" "$work/killed-2.log" || fail "the rerun ran no trial"
echo "killed study: $left trials left by the killed run, completed on the rerun with 6 trials"
echo PASS
