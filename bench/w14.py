# SPDX-License-Identifier: Apache-2.0
"""W14: active learning (../shared/BENCHMARKS.md) with a simulated annotator, Fashion-MNIST's
true labels. bench/w14 (w14/w14.cc) starts from 100 random labels of the pool, queries batches
of 100 and trains model.mlp (W1's shape, Adam lr 1e-3, batch 128, 3 epochs) after each, and
prints the accuracy of the models trained on 500, 1,000 and 2,000 labels.

- aimass: the uncertainty strategy W14_STRATEGY (core/src/annotation/selection.h);
- peer: `--strategy random`, the same program, data, first 100 labels, trainings and seeds, the
  rows labelled in a seeded random order.

Both sides train the same way, W14_START: `scratch` (a fresh model after every batch) or `warm`
(one model trained 3 more epochs over all the labels after every batch). The start and the
strategy are chosen by W14select on a validation split, never on the test images.

Run k uses seed k on both sides (seeds 0-2 with the default 3 runs). Figures, medians over the
runs: test_accuracy_500, test_accuracy_1000, test_accuracy_2000, seconds (the loop, data reading
not included); aimass also gain_at_1000, its median test accuracy at 1,000 labels less the
peer's, in points. `ratio` gain_over_target: gain_at_1000 over the target's 1.5 points (at
least 1: met).

W14select (never recorded): with `--eval validation` (the pool is training images 0-49,999, the
accuracy is on training images 50,000-59,999), seeds 0 to runs - 1, both starts and every
strategy, random included. The start is the one whose random order reaches the better median
validation accuracy at 1,000 labels (the checkpoint of the target; a property of the training
alone, whatever the strategy; ties: scratch); then the model-driven strategy (least confidence,
margin, entropy, or diversity: margin's most uncertain rows clustered by k-means) with the best
median at 1,000 labels under that start (choose_w14_strategy).
"""
import os
import sys

from rows import BenchError

W14_START = "warm"  # chosen by W14select: bench/README.md, W14
W14_STRATEGY = "diversity"  # chosen by W14select: bench/README.md, W14
W14_STARTS = ("scratch", "warm")
# The strategies W14select measures and chooses from: every one the annotation project offers
# that the model drives (diversity chooses among the rows of highest margin uncertainty); not
# random, the peer.
W14_STRATEGIES = ("least_confidence", "margin", "entropy", "diversity")
W14_UNCERTAINTY = W14_STRATEGIES
W14_LABELS = (500, 1000, 2000)
W14_TARGET_POINTS = 1.5


def w14_run(args, h, strategy, start, seed, evaluation):
    """One bench/w14 run: {"<test|val>_accuracy_<labels>": ..., "seconds": ...}."""
    w14 = os.path.join(args.build, "bench", "w14")
    command = [w14, "--strategy", strategy, "--start", start, "--seed", str(seed),
               "--threads", str(args.threads), "--eval", evaluation]
    out, _, _ = h.run(command, h.aimass_env(args.threads, seed),
                      f"bench/w14 {strategy} ({start})")
    raw = h.last_json_line(out, "bench/w14")
    prefix = "test" if evaluation == "test" else "val"
    figures = {f"{prefix}_accuracy_{n}": raw[f"accuracy_{n}"] for n in W14_LABELS}
    figures["seconds"] = raw["seconds"]
    return figures


def workload_w14(args, h):
    mine, theirs = [], []
    for seed in range(args.runs):
        mine.append(w14_run(args, h, W14_STRATEGY, W14_START, seed, "test"))
        theirs.append(w14_run(args, h, "random", W14_START, seed, "test"))
    a, p = h.medians(mine), h.medians(theirs)
    a["gain_at_1000"] = round((a["test_accuracy_1000"] - p["test_accuracy_1000"]) * 100, 2)
    return a, p, {"gain_over_target": a["gain_at_1000"] / W14_TARGET_POINTS}


def choose_w14_start(random_by_start):
    """The start whose random order has the higher median validation accuracy at 1,000 labels;
    ties to the earlier in W14_STARTS (scratch)."""
    starts = [s for s in W14_STARTS if s in random_by_start]
    if not starts:
        raise BenchError("W14select: no start to choose from")
    return max(starts, key=lambda s: (random_by_start[s]["val_accuracy_1000"],
                                      -W14_STARTS.index(s)))


def choose_w14_strategy(medians_by_strategy):
    """The model-driven strategy (W14_UNCERTAINTY: not random) with the highest median
    validation accuracy at 1,000 labels; ties to the earlier in W14_UNCERTAINTY."""
    candidates = [s for s in W14_UNCERTAINTY if s in medians_by_strategy]
    if not candidates:
        raise BenchError("W14select: no strategy to choose from")
    return max(candidates, key=lambda s: (medians_by_strategy[s]["val_accuracy_1000"],
                                          -W14_UNCERTAINTY.index(s)))


def workload_w14select(args, h):
    results = {}
    for start in W14_STARTS:
        results[start] = {}
        for strategy in ("random",) + W14_STRATEGIES:
            samples = [w14_run(args, h, strategy, start, seed, "validation")
                       for seed in range(args.runs)]
            results[start][strategy] = h.medians(samples)
            print(f"harness: W14select: {start} {strategy}: {results[start][strategy]}",
                  file=sys.stderr, flush=True)
    start = choose_w14_start({s: results[s]["random"] for s in W14_STARTS})
    strategy = choose_w14_strategy(results[start])
    gain = round((results[start][strategy]["val_accuracy_1000"] -
                  results[start]["random"]["val_accuracy_1000"]) * 100, 2)
    print(f"harness: W14select: chosen start {start}, strategy {strategy} (validation gain at "
          f"1,000 labels {gain} points)", file=sys.stderr, flush=True)
    mine = {f"{s}_{k}": results[s][k] for s in W14_STARTS for k in W14_STRATEGIES}
    mine["chosen"] = {"start": start, "strategy": strategy, "val_gain_at_1000": gain}
    theirs = {f"{s}_random": results[s]["random"] for s in W14_STARTS}
    return mine, theirs, {"val_gain_over_target": gain / W14_TARGET_POINTS}
