# SPDX-License-Identifier: Apache-2.0
"""How bench/harness.py turns runs into figures and rows of bench/RESULTS.md, kept apart from the
workloads so that bench/harness_test.py can check it on hand-made figures: the medians over runs
with error counts summed, wrk's req/s of 2xx answers only, the quality targets of
../shared/BENCHMARKS.md checked and written into the row, the row itself (with the machine's
GEMM ceiling), and the rule that rows come from trees without uncommitted changes. Plain
functions of their arguments; nothing here runs a benchmark."""
import json
import statistics
import subprocess


class BenchError(Exception):
    pass


def is_error_count(key):
    """Figures that count errors: `errors` and `*_errors`."""
    return key == "errors" or key.endswith("_errors")


def medians(samples):
    """One figure per key from the runs' `samples` (dicts with the same keys): the median, except
    for error counts (is_error_count), which are summed, so that errors in one run of three do
    not vanish in a median of 0."""
    return {key: (sum(s[key] for s in samples) if is_error_count(key)
                  else round(statistics.median(s[key] for s in samples), 4))
            for key in samples[0]}


def wrk_figures(raw, what):
    """The figures of wrk/w6_request.lua's JSON line `raw`, with req_per_s counting only the 2xx
    answers: (requests - non_2xx) / seconds, where non_2xx is what wrk counts as status errors
    (answers of 400 and above; none of the servers here answers 1xx or 3xx). BenchError naming
    `what` when a figure is missing or the counts do not add up."""
    try:
        requests, non_2xx, seconds = int(raw["requests"]), int(raw["non_2xx"]), raw["seconds"]
        figures = {key: raw[key] for key in ("p50_ms", "p99_ms", "errors")}
    except (KeyError, TypeError, ValueError) as e:
        raise BenchError(f"{what}: wrk's figures lack {e}: {json.dumps(raw)}")
    if non_2xx < 0 or non_2xx > requests or non_2xx > figures["errors"]:
        raise BenchError(f"{what}: {non_2xx} non-2xx answers do not fit {requests} answers and "
                         f"{figures['errors']} errors")
    figures["requests"] = requests
    figures["non_2xx"] = non_2xx
    figures["req_per_s"] = round((requests - non_2xx) / seconds, 1) if seconds > 0 else 0.0
    return figures


# Quality targets of ../shared/BENCHMARKS.md (the speed targets are read from `ratio`), checked on
# every row's medians: (figure, comparison, bound, what the bound is), where bound(theirs) gives
# the number from the peer's medians (a constant for a fixed target).
TARGETS = {
    "W1": [("test_accuracy", ">=", lambda p: 0.870, "0.870")],
    "W1bf16": [("test_accuracy", ">=", lambda p: 0.870, "0.870")],
    "W2": [("test_accuracy", ">=", lambda p: 0.844, "0.844"),
           ("test_accuracy", ">=", lambda p: p["test_accuracy"], "the peer's")],
    # Within 0.01% of scikit-learn's inertia from the same centres and 50 iterations.
    "W3": [("inertia", "<=", lambda p: p["inertia"] * 1.0001, "the peer's + 0.01%"),
           ("inertia", ">=", lambda p: p["inertia"] * 0.9999, "the peer's - 0.01%")],
    "W4": [("test_rmse", "<=", lambda p: 0.600, "0.600")],
    "W5": [("final_loss", "<=", lambda p: 1.61, "1.61")],
    "W7": [("branin_best_value", "<=", lambda p: 0.50, "0.50"),
           ("hartmann6_best_value", "<=", lambda p: -2.90, "-2.90")],
    # Data-parallel: the loss curve of 2 ranks equals 1 rank's (4 printed decimals, float noise).
    "W8": [("loss_max_diff", "<=", lambda p: 0.002, "0.002")],
    # The job service: scheduling latency and the quota (never more than 2 running).
    "W12": [("sched_p99_ms", "<=", lambda p: 50.0, "50 ms"),
            ("max_running", "<=", lambda p: 2, "the quota of 2")],
    # Monitoring: detection within 1,000 shifted requests, at most 1 false alarm in 100
    # unshifted windows, the batch report of 300,000 x 1,000 in 10 s.
    "W13": [("detect_requests", "<=", lambda p: 1000, "1000"),
            ("false_alarms", "<=", lambda p: 1, "1"),
            ("batch_report_s", "<=", lambda p: 10.0, "10 s")],
    # Active learning: uncertainty sampling's median test accuracy at 1,000 labels at least
    # 1.5 points above the random order's (the same figure as W14's gain_at_1000 >= 1.5).
    "W14": [("test_accuracy_1000", ">=", lambda p: p["test_accuracy_1000"] + 0.015,
             "random's + 0.015")],
    "W11": [("best_val_accuracy", ">=",
             lambda p: max(v["best_val_accuracy"] for v in p.values()) - 0.003,
             "the better peer's - 0.003")],
}


def check_targets(workload, mine, theirs):
    """The quality targets of `workload` (TARGETS) checked on aimass's figures `mine` against the
    peer's `theirs`: a list of {"target", "value", "bound", "met"}, empty for a workload without
    one. A figure or peer figure that is missing counts as a miss (value or bound None)."""
    checks = []
    for figure, comparison, bound_of, what in TARGETS.get(workload, []):
        value = mine.get(figure)
        try:
            bound = round(bound_of(theirs), 4)
        except (KeyError, TypeError, ValueError):
            bound = None
        met = (value is not None and bound is not None and
               (value >= bound if comparison == ">=" else value <= bound))
        checks.append({"target": f"{figure} {comparison} {what}", "value": value,
                       "bound": bound, "met": met})
    return checks


def targets_text(checks):
    """The row's targets cell: "met (...)", "MISSED: ..." naming each miss, or "-" for none."""
    if not checks:
        return "-"
    missed = [c for c in checks if not c["met"]]
    if not missed:
        return "met (" + "; ".join(f"{c['target']}: {c['value']} vs {c['bound']}"
                                   for c in checks) + ")"
    return "**MISSED**: " + "; ".join(f"{c['target']}: {c['value']} vs {c['bound']}"
                                      for c in missed)


RESULTS_HEADER = """# Benchmark results

Rows are appended by `bench/run.sh` (never edited by hand): one per workload and run of the
script, with the date (UTC), the commit, the medians of the aimass and peer figures over the
runs (`runs` pairs, aimass then peer, 2 threads each, peers set up as ../shared/BENCHMARKS.md
says; error counts are summed over the runs), `ratio`, how many times aimass is ahead on the
workload's main speed figure (above 1: aimass is faster), the machine's GEMM ceiling (W0's
GFLOP/s, measured just before the workload) and the workload's quality targets (accuracy, RMSE,
loss...), `met` or `**MISSED**` with the figures. `bench/run.sh` records only from a tree
without uncommitted changes (other than this file). Only rows measured on a quiet machine
belong here; use `bench/run.sh --no-record` while developing.

| date (UTC) | commit | workload | runs | aimass | peer | ratio | W0 GFLOP/s | targets |
|---|---|---|---|---|---|---|---|---|
"""


def tree_changes(root):
    """What `git status` lists under `root` other than bench/RESULTS.md (which this script
    appends to between workloads): modified, staged, deleted, and untracked files that are not
    ignored (sources are globbed, so a new file changes the build). BenchError when git cannot
    tell, so an unknown tree is never recorded."""
    try:
        done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--",
                               ".", ":(exclude)bench/RESULTS.md"],
                              cwd=root, capture_output=True, text=True)
    except OSError as e:
        raise BenchError(f"cannot tell whether {root} has uncommitted changes: {e}")
    if done.returncode != 0:
        raise BenchError(f"cannot tell whether {root} has uncommitted changes: git status "
                         f"failed: {done.stderr.strip()}")
    return [line for line in done.stdout.splitlines() if line.strip()]


def require_clean_tree(root):
    """BenchError listing the changes when `root` has any (tree_changes): rows come from
    committed trees only."""
    changes = tree_changes(root)
    if changes:
        listed = "\n  ".join(changes[:20]) + ("\n  ..." if len(changes) > 20 else "")
        raise BenchError(f"refusing to record: {root} has uncommitted changes other than "
                         f"bench/RESULTS.md:\n  {listed}\ncommit them (or stash them), or run "
                         "with --no-record")


def figures_text(d):
    """"k v, k v" (W6's peer figures are one dict per peer: "nginx: req_per_s 1, ...; ...")."""
    if d and all(isinstance(v, dict) for v in d.values()):
        return "; ".join(f"{name}: {figures_text(v)}" for name, v in d.items())
    return ", ".join(f"{k} {v}" for k, v in d.items())


def results_row(date, commit_id, workload, runs, mine, theirs, ratio, gflop_per_s, checks):
    """One row of RESULTS.md (a line with its newline)."""
    ratio_text = (", ".join(f"{k} {v:.2f}" for k, v in ratio.items()) if isinstance(ratio, dict)
                  else f"{ratio:.2f}")
    ceiling = "-" if gflop_per_s is None else f"{gflop_per_s:.1f}"
    return (f"| {date} | {commit_id} | {workload} | {runs} | {figures_text(mine)} | "
            f"{figures_text(theirs)} | {ratio_text} | {ceiling} | {targets_text(checks)} |\n")
