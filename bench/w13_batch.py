# SPDX-License-Identifier: Apache-2.0
"""W13's batch part: `aimass models drift NAME/1 --data FILE.csv --json`, a drift report of
300,000 rows x 1,000 number columns against the version's training-data profile (BENCHMARKS.md
asks for <= 10 s).

The data is made up, in a temporary folder, by plain Python (no numpy): cells are normal draws
written with 4 decimals. To keep generating 2 GB of text short, a row is 10 segments of 100
columns, each segment picked at random from a pool of SEGMENTS pre-formatted ones (so every
column takes SEGMENTS distinct values, and rows are not repeats of one another). The training
set (TRAIN_ROWS rows and a two-class label) comes from the same pools; a model.softmax trained
on it for one epoch with `storage:` saves its profile and registers it as "wide" (version 1).
The batch's first segment comes from a pool shifted by SHIFT standard deviations in its first
SHIFTED columns, so the report has drifted features (checked: it must flag every one of them
and at most MAX_FALSE others).

Figures: batch_rows, batch_columns, batch_generate_s (making the pools, the training set and the
batch CSV, about 2.2 GB), batch_report_s (the `models drift` command's wall time on
args.threads threads, median over the runs), batch_drifted (features the report flagged) and
batch_false_drifted (unshifted ones among them). Called by w13.py as batch_figures(args, h); runs on
its own too: python3 bench/w13_batch.py --build build.
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

ROWS = 300_000
COLUMNS = 1_000
SEGMENT = 100  # columns a segment
SEGMENTS = 16_384  # pre-formatted segments in each pool
TRAIN_ROWS = 20_000
SHIFTED = 50  # columns of the first segment that are shifted in the batch
SHIFT = 0.25  # by this many standard deviations
MAX_FALSE = 10  # unshifted features the report may flag (about 2.6 expected at 5% FDR)


def segment_pool(rng, shift_columns=0, shift=0.0):
    """SEGMENTS strings of SEGMENT comma-separated normal draws; the first `shift_columns`
    columns of each are moved by `shift`."""
    pool = []
    for _ in range(SEGMENTS):
        values = [rng.gauss(0.0, 1.0) for _ in range(SEGMENT)]
        for c in range(shift_columns):
            values[c] += shift
        pool.append(",".join(f"{v:.4f}" for v in values))
    return pool


def write_rows(path, rows, pools, rng, label=False):
    """Writes a header and `rows` rows: segment i of a row from pools[i] (and a label)."""
    header = [f"x{c}" for c in range(COLUMNS)] + (["label"] if label else [])
    chunk = 2_000
    with open(path, "w") as out:
        out.write(",".join(header) + "\n")
        for start in range(0, rows, chunk):
            lines = []
            for _ in range(min(chunk, rows - start)):
                row = ",".join(rng.choice(pool) for pool in pools)
                lines.append(row + (",a\n" if rng.random() < 0.5 else ",b\n") if label
                             else row + "\n")
            out.write("".join(lines))


def train_config(folder):
    store = os.path.join(folder, "store")
    path = os.path.join(folder, "train.yaml")
    with open(path, "w") as out:
        out.write(
            "nodes:\n"
            f"  store: {{type: storage.fs, path: {store}}}\n"
            f"  data: {{type: dataset.csv, path: {os.path.join(folder, 'train.csv')}, "
            "label: label}\n"
            "  wide: {type: model.softmax}\n"
            "  sgd: {type: optimizer.sgd, learning_rate: 0.01}\n"
            "  train: {type: job.train, model: wide, dataset: data, optimizer: sgd, epochs: 1,\n"
            "          batch_size: 256, seed: 1, storage: store}\n")
    return path


def build_data(folder, rng):
    """The training set, the registered model and the batch CSV; returns (config, batch,
    generate_s)."""
    start = time.perf_counter()
    plain = [segment_pool(rng) for _ in range(COLUMNS // SEGMENT)]
    shifted = [segment_pool(rng, SHIFTED, SHIFT)] + plain[1:]
    write_rows(os.path.join(folder, "train.csv"), TRAIN_ROWS, plain, rng, label=True)
    config = train_config(folder)
    batch = os.path.join(folder, "batch.csv")
    write_rows(batch, ROWS, shifted, rng)
    return config, batch, time.perf_counter() - start


def report_once(h, args, config, batch):
    """Runs the report; returns (seconds, the parsed JSON report)."""
    command = [args.aimass, "models", "drift", "wide/1", "--data", batch,
               "--json", "--threads", str(args.threads), "--config", config]
    out, _, seconds = h.run(command, h.aimass_env(args.threads), "W13's batch drift report")
    return seconds, json.loads(out)


def check_report(h, report):
    """The report's drifted features, checked: every shifted one, and few others (the
    Benjamini-Hochberg correction keeps the share of false ones among those flagged near 5%).
    Returns (drifted, falsely drifted)."""
    drifted = {f["feature"] for f in report["features"] if f["drifted"]}
    shifted = {f"x{c}" for c in range(SHIFTED)}
    if report["rows"] != ROWS or report["tested"] != COLUMNS:
        raise h.BenchError(f"W13's batch report covers {report['rows']} rows and "
                           f"{report['tested']} tested features, not {ROWS} and {COLUMNS}")
    missed, false = shifted - drifted, drifted - shifted
    if missed or len(false) > MAX_FALSE:
        raise h.BenchError(f"W13's batch report missed {sorted(missed)[:10]} of the {SHIFTED} "
                           f"shifted features and flagged {len(false)} unshifted ones "
                           f"({sorted(false)[:10]}; at most {MAX_FALSE} expected)")
    return len(drifted), len(false)


def figures_in(args, h, folder):
    """W13's batch figures with the data and model built in `folder`."""
    config, batch, generate_s = build_data(folder, random.Random(13))
    h.run([args.aimass, "run", config], h.aimass_env(args.threads),
          "W13's batch model training")
    times, drifted, false = [], 0, 0
    for _ in range(max(1, args.runs)):
        seconds, report = report_once(h, args, config, batch)
        drifted, false = check_report(h, report)
        times.append(seconds)
    return {"batch_rows": ROWS, "batch_columns": COLUMNS,
            "batch_report_s": round(statistics.median(times), 3),
            "batch_generate_s": round(generate_s, 3), "batch_drifted": drifted,
            "batch_false_drifted": false}


def batch_figures(args, h):
    """Builds the data and the model in a temporary folder, times the report `args.runs` times
    on `args.threads` threads; returns W13's batch figures. `h` is the harness module (run,
    aimass_env, BenchError); `args.aimass` is the aimass binary, as h.run finds it."""
    with tempfile.TemporaryDirectory(prefix="aimass-w13-batch-") as folder:
        return figures_in(args, h, folder)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.environ.get("AIMASS_BENCH_BUILD", "build"),
                        help="a build folder with bin/aimass")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", help="build the data in this (empty) folder and keep it")
    args = parser.parse_args()
    args.aimass = os.path.abspath(os.path.join(args.build, "bin", "aimass"))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import harness  # noqa: E402
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        print(json.dumps(figures_in(args, harness, args.keep)))
    else:
        print(json.dumps(batch_figures(args, harness)))


if __name__ == "__main__":
    main()
