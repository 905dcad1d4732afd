# SPDX-License-Identifier: Apache-2.0
"""The registry and tracking workloads (issue 5's targets), which have no peer: the registry's
and tracking's operations on SQLite and PostgreSQL (bench/registry.cc), and what experiment
tracking adds to W1's training."""

import json
import os
import re
import statistics
import tempfile


# registry: issue 5's registry and tracking operations (bench/registry.cc) on SQLite and on a
# throwaway PostgreSQL server (scripts/postgres-test-server.sh). There is no peer: `ratio` is how
# many times alias resolution on SQLite is under its 1 ms target.
def workload_registry(args, h):
    """`h` is the harness module (its helpers)."""
    bench = os.path.join(args.build, "bench", "registry_bench")
    if not os.access(bench, os.X_OK):
        raise h.BenchError(f"{bench} is missing: build with -DAIMASS_BUILD_BENCH=ON")
    server = os.path.join(h.ROOT, "scripts", "postgres-test-server.sh")
    samples = []
    with tempfile.TemporaryDirectory(prefix="aimass-bench-pg-") as state:
        h.run(["bash", server, "start", state], dict(os.environ), "starting PostgreSQL")
        try:
            with open(os.path.join(state, "uri")) as f:
                uri = f.read().strip()
            with open(os.path.join(state, "password")) as f:
                env = dict(os.environ, PGPASSWORD=f.read().strip())
            for _ in range(args.runs):
                out, _, _ = h.run([bench, "--postgres", uri], env, "registry_bench")
                figures = {}
                for line in out.splitlines():
                    if line.startswith("{"):
                        figures_line = json.loads(line)
                        backend = figures_line.pop("backend")
                        figures_line.pop("workload", None)
                        figures.update(h.prefixed(backend, figures_line))
                samples.append(figures)
        finally:
            h.run(["bash", server, "destroy", state], dict(os.environ), "stopping PostgreSQL")
    a = h.medians(samples)
    return a, {}, {"sqlite_resolve_under_1ms": 1.0 / a["sqlite_resolve_alias_ms"]}


# tracking: what experiment tracking adds to the W1 training run (issue 5's target: under 1%).
# bench/configs/w1_mlp_tracked.yaml runs W1 with a storage.sqlite store, with AIMASS_TRACK=false
# and =true, on a fresh store each time, in alternating order. Two figures:
# - tracking_overhead_pct: the time job.train spent inside its tracking calls (its
#   "tracking_s=" log line: start, every step and epoch, the final flush) over the training
#   time of that run (all epochs' epoch_s), in percent. Measured inside one run, so the noise of
#   a shared machine between runs does not swamp it.
# - epoch_delta_pct: the tracked runs' s_per_epoch (epochs 2-5) over the untracked ones', minus
#   1, in percent, from the medians: the end-to-end cross-check, as noisy as the machine.
# metric_points is what `aimass runs show --json` reads back from the store (it must equal what
# the job logged, metric_points_logged).
TRACKED_LINE = re.compile(r"tracked run (\d+): (\d+) metric points in (\d+) batch records, "
                          r"tracking_s=([0-9.eE+-]+)")


def workload_tracking(args, h):
    """`h` is the harness module (its helpers)."""
    config = os.path.join(h.BENCH, "configs", "w1_mlp_tracked.yaml")
    samples = []
    for run_index in range(args.runs):
        figures = {}
        order = (False, True) if run_index % 2 == 0 else (True, False)
        for tracked in order:
            with tempfile.TemporaryDirectory(prefix="aimass-bench-tracking-") as folder:
                store = os.path.join(folder, "store.db")
                env = h.aimass_env(args.threads, run_index + 1)
                env.update({"AIMASS_BENCH_STORE": store,
                            "AIMASS_TRACK": "true" if tracked else "false"})
                what = f"aimass on {config} (AIMASS_TRACK={env['AIMASS_TRACK']})"
                _, err, _ = h.run([args.aimass, "eval", "--json", config], env, what)
                epochs = [float(m.group(3)) for m in map(h.EPOCH_LINE.search, err.splitlines())
                          if m]
                if len(epochs) < 2:
                    raise h.BenchError(f"{what} logged {len(epochs)} epochs, need 2 or more:\n"
                                     f"{err[-2000:]}")
                key = "tracked" if tracked else "untracked"
                figures[f"s_per_epoch_{key}"] = statistics.mean(epochs[1:])
                found = TRACKED_LINE.search(err)
                if not tracked:
                    if found:
                        raise h.BenchError(f"{what} tracked a run although tracking was off")
                    continue
                if not found:
                    raise h.BenchError(f"{what} logged no 'tracked run N: ... tracking_s=' line:\n"
                                     f"{err[-2000:]}")
                run_id, logged, batches, seconds = found.groups()
                out, _, _ = h.run([args.aimass, "runs", "show", run_id, "--json", "--storage",
                                 "sqlite://" + store], env, "aimass runs show")
                shown = json.loads(out)
                if shown.get("status") != "finished":
                    raise h.BenchError(f"{what}: run {run_id} is {shown.get('status')}, "
                                     "not finished")
                written = sum(m["points"] for m in shown["metrics"].values())
                if written != int(logged):
                    raise h.BenchError(f"{what}: the job logged {logged} metric points but the "
                                     f"store holds {written}")
                figures["tracking_s"] = float(seconds)
                figures["train_s"] = sum(epochs)
                figures["tracking_overhead_pct"] = 100 * float(seconds) / sum(epochs)
                figures["metric_points"] = written
                figures["metric_points_logged"] = int(logged)
                figures["batch_records"] = int(batches)
        samples.append(figures)
    a = h.medians(samples)
    a["epoch_delta_pct"] = round(
        100 * (a["s_per_epoch_tracked"] / a["s_per_epoch_untracked"] - 1), 2)
    return a, {}, {"under_1pct": 1.0 / max(a["tracking_overhead_pct"], 1e-9)}
