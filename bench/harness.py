# SPDX-License-Identifier: Apache-2.0
"""Runs benchmark workloads, aimass and its peer side by side, and reports them (see
../shared/BENCHMARKS.md). bench/run.sh builds what is needed and calls this; run that instead.

For every workload: RUNS pairs (aimass, then the peer), the median of each figure, and
ratio = how many times aimass is ahead on the workload's main speed figure, computed from the
medians (peer time / aimass time, or aimass throughput / peer throughput). Prints one JSON line
per workload and, unless --no-record, appends a row to bench/RESULTS.md.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
PEERS = os.path.join(BENCH, "peers")
PYTHON = "/usr/bin/python3"
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


class BenchError(Exception):
    pass


def peer_env(threads, seed=0):
    """The Python peers' setup from BENCHMARKS.md: the OpenMP OpenBLAS with the SkylakeX kernels,
    `threads` threads everywhere."""
    env = dict(os.environ)
    env.update({
        "SEED": str(seed),
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "THREADS": str(threads),
        "OPENBLAS_CORETYPE": "SkylakeX",
        "LD_LIBRARY_PATH": OPENBLAS + (":" + env["LD_LIBRARY_PATH"]
                                       if env.get("LD_LIBRARY_PATH") else ""),
    })
    return env


def aimass_env(threads, seed=1):
    """aimass's threads and seed, read by bench/configs/*.yaml."""
    env = dict(os.environ)
    env.update({"AIMASS_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
                "AIMASS_SEED": str(seed)})
    return env


def run(command, env, what):
    """Runs `command`; returns (stdout, stderr, seconds). BenchError naming `what` on failure."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"{what} failed (exit {done.returncode}): {' '.join(command)}\n"
                         f"{done.stderr[-3000:]}{done.stdout[-2000:]}")
    return done.stdout, done.stderr, seconds


def last_json_line(text, what):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise BenchError(f"{what} printed no JSON line:\n{text[-2000:]}")


def run_peer(script, threads, seed=0):
    out, _, _ = run([PYTHON, os.path.join(PEERS, script)], peer_env(threads, seed),
                    f"peer {script}")
    return last_json_line(out, f"peer {script}")


EPOCH_LINE = re.compile(r"epoch (\d+)/(\d+): .*?\bepoch_s=([0-9.eE+-]+)")


def find_accuracy(report):
    """The test accuracy in `aimass eval --json` output (an array of evaluation reports)."""
    if isinstance(report, dict):
        if "accuracy" in report and isinstance(report["accuracy"], (int, float)):
            return float(report["accuracy"])
        for value in report.values():
            found = find_accuracy(value)
            if found is not None:
                return found
    elif isinstance(report, list):
        for value in report:
            found = find_accuracy(value)
            if found is not None:
                return found
    return None


def run_aimass_training(aimass, config, threads, seed):
    """`aimass eval --json CONFIG`: the per-epoch training times from its log lines and the
    test accuracy from its report."""
    out, err, _ = run([aimass, "eval", "--json", config], aimass_env(threads, seed),
                      f"aimass on {config}")
    epochs = {}
    for line in err.splitlines():
        match = EPOCH_LINE.search(line)
        if match:
            epochs[int(match.group(1))] = float(match.group(3))
    if not epochs:
        raise BenchError(f"aimass on {config} logged no 'epoch N/M: ... epoch_s=' line:\n"
                         f"{err[-2000:]}")
    accuracy = find_accuracy(json.loads(out))
    if accuracy is None:
        raise BenchError(f"aimass on {config} reported no accuracy:\n{out[-2000:]}")
    return [epochs[k] for k in sorted(epochs)], accuracy


def medians(samples):
    return {key: round(statistics.median(s[key] for s in samples), 4) for key in samples[0]}


def workload_w0(args):
    gemm = os.path.join(args.build, "bench", "gemm")
    mine, theirs = [], []
    for _ in range(args.runs):
        out, _, _ = run([gemm, str(args.threads)], aimass_env(args.threads), "bench/gemm")
        mine.append({"gflop_per_s": last_json_line(out, "bench/gemm")["gflop_per_s"]})
        theirs.append(run_peer("w0_matmul.py", args.threads))
    a, p = medians(mine), medians(theirs)
    return a, p, a["gflop_per_s"] / p["gflop_per_s"]


def workload_w1(args):
    config = os.path.join(BENCH, "configs", "w1_mlp.yaml")
    mine, theirs = [], []
    # Run k trains both sides with seed k: test accuracy moves by about +-0.005 with the seed,
    # so the median over seeds is the figure, not one lucky or unlucky draw.
    for run_index in range(args.runs):
        epochs, accuracy = run_aimass_training(args.aimass, config, args.threads, run_index + 1)
        if len(epochs) < 2:
            raise BenchError(f"{config}: W1 needs at least 2 epochs, got {len(epochs)}")
        # Epochs 2 onwards, as for the peer: the first builds primitives and warms caches.
        mine.append({"s_per_epoch": statistics.mean(epochs[1:]), "test_accuracy": accuracy})
        theirs.append(run_peer("w1_torch.py", args.threads, run_index + 1))
    a, p = medians(mine), medians(theirs)
    return a, p, p["s_per_epoch"] / a["s_per_epoch"]


def workload_w2(args):
    config = os.path.join(BENCH, "configs", "w2_softmax.yaml")
    mine, theirs = [], []
    for run_index in range(args.runs):
        epochs, accuracy = run_aimass_training(args.aimass, config, args.threads, run_index + 1)
        # Every epoch counts: W2 is the time to reach the accuracy.
        mine.append({"seconds": sum(epochs), "test_accuracy": accuracy})
        theirs.append(run_peer("w2_sklearn.py", args.threads))
    a, p = medians(mine), medians(theirs)
    return a, p, p["seconds"] / a["seconds"]


def workload_w9(args):
    config = os.path.join(ROOT, "configs", "quickstart.yaml")
    mine, theirs = [], []
    # Start-up times are short and noisy: five pairs per run.
    for _ in range(5 * args.runs):
        _, _, seconds = run([args.aimass, "validate", config], aimass_env(args.threads),
                            "aimass validate")
        mine.append({"seconds": seconds})
        _, _, seconds = run([PYTHON, "-c", "import torch"], peer_env(args.threads),
                            "python3 -c 'import torch'")
        theirs.append({"seconds": seconds})
    a, p = medians(mine), medians(theirs)
    return a, p, p["seconds"] / a["seconds"]


WORKLOADS = {"W0": workload_w0, "W1": workload_w1, "W2": workload_w2, "W9": workload_w9}

RESULTS_HEADER = """# Benchmark results

Rows are appended by `bench/run.sh` (never edited by hand): one per workload and run of the
script, with the date (UTC), the commit (`-dirty` when the tree had uncommitted changes), the
medians of the aimass and peer figures over the runs (`runs` pairs, aimass then peer, 2 threads
each, peers set up as ../shared/BENCHMARKS.md says) and `ratio`, how many times aimass is ahead
on the workload's main speed figure (above 1: aimass is faster). Only rows measured on a quiet
machine belong here; use `bench/run.sh --no-record` while developing.

| date (UTC) | commit | workload | runs | aimass | peer | ratio |
|---|---|---|---|---|---|---|
"""


def commit():
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(workload, runs, mine, theirs, ratio):
    path = os.path.join(BENCH, "RESULTS.md")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(RESULTS_HEADER)
    figures = lambda d: ", ".join(f"{k} {v}" for k, v in d.items())  # noqa: E731
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    with open(path, "a") as f:
        f.write(f"| {date} | {commit()} | {workload} | {runs} | {figures(mine)} | "
                f"{figures(theirs)} | {ratio:.2f} |\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True, help="the build folder bench/run.sh made")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("workloads", nargs="+")
    args = parser.parse_args()
    args.aimass = os.path.join(args.build, "bin", "aimass")
    if args.runs < 1 or args.threads < 1:
        sys.exit("harness: --runs and --threads must be at least 1")
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        sys.exit(f"harness: unknown workload {', '.join(unknown)}; implemented: "
                 f"{', '.join(WORKLOADS)}")
    failed = False
    for workload in args.workloads:
        try:
            mine, theirs, ratio = WORKLOADS[workload](args)
        except BenchError as e:
            print(f"harness: {workload}: {e}", file=sys.stderr)
            failed = True
            continue
        print(json.dumps({"workload": workload, "aimass": mine, "peer": theirs,
                          "ratio": round(ratio, 2)}), flush=True)
        if not args.no_record:
            record(workload, args.runs, mine, theirs, ratio)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
