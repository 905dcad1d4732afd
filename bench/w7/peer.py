# SPDX-License-Identifier: Apache-2.0
"""W7 peer: Optuna's samplers on Branin (2-D) and Hartmann6 (6-D), 50 trials, seeds 0-4.

For each sampler (TPESampler and CmaEsSampler with default settings and seed=s, RandomSampler
with seed=s) and each seed s, one in-memory study minimises each function for 50 trials. Prints
one JSON line: per sampler the median over seeds of the best value found
(`branin_best_value`, `hartmann6_best_value`) and `ms_per_trial`, the median over seeds and
functions of study.optimize's wall time divided by the trials (the objective is a few
microseconds of arithmetic, so this is the sampler's and the study's overhead). Run with
/usr/bin/python3 (Optuna 3.1). Options: --trials N, --seeds N (defaults 50 and 5)."""
import argparse
import json
import math
import statistics
import time
import warnings

import optuna

ALPHA = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8],
     [0.05, 10, 17, 0.1, 8, 14],
     [3, 3.5, 1.7, 10, 17, 8],
     [17, 8, 0.05, 10, 0.1, 14]]
P = [[1312, 1696, 5569, 124, 8283, 5886],
     [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650],
     [4047, 8828, 8732, 5743, 1091, 381]]


def branin(trial):
    """Branin-Hoo on x1 in [-5, 10], x2 in [0, 15]; minimum 0.397887."""
    x1 = trial.suggest_float("x1", -5, 10)
    x2 = trial.suggest_float("x2", 0, 15)
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann6(trial):
    """Hartmann6 on [0, 1]^6; minimum -3.32237."""
    x = [trial.suggest_float(f"x{j + 1}", 0, 1) for j in range(6)]
    total = 0.0
    for i in range(4):
        inner = sum(A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2 for j in range(6))
        total += ALPHA[i] * math.exp(-inner)
    return -total


SAMPLERS = {
    "tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
    "cmaes": lambda seed: optuna.samplers.CmaEsSampler(seed=seed),
    "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
}


def run(make_sampler, objective, seed, trials):
    """One study: (best value, wall seconds of study.optimize)."""
    study = optuna.create_study(sampler=make_sampler(seed), direction="minimize")
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return study.best_value, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")  # CmaEsSampler's experimental-feature warnings
    out = {}
    for name, make_sampler in SAMPLERS.items():
        figures, ms = {}, []
        for fname, objective in (("branin", branin), ("hartmann6", hartmann6)):
            bests = []
            for seed in range(args.seeds):
                best, seconds = run(make_sampler, objective, seed, args.trials)
                bests.append(best)
                ms.append(seconds * 1000 / args.trials)
            figures[f"{fname}_best_value"] = round(statistics.median(bests), 4)
        figures["ms_per_trial"] = round(statistics.median(ms), 3)
        out[name] = figures
    print(json.dumps(out))


if __name__ == "__main__":
    main()
