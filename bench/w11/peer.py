# SPDX-License-Identifier: Apache-2.0
"""W11 peer: Optuna's TPESampler with a pruner tuning a PyTorch MLP on Fashion-MNIST.

The same study as configs/tune_mlp.yaml: train on the first 20,000 training images, judge each
trial by its accuracy on the next 10,000 after every epoch (the value Optuna sees, reported per
epoch for pruning), maximise it over 40 trials of at most 6 epochs; the space is the learning
rate log-uniform in [1e-4, 3e-2], the first hidden width in {64, 128, 256, 512}, one or two
hidden layers (the second half as wide as the first, as in the aimass config), dropout uniform
in [0, 0.5] after each hidden ReLU, and the batch size in {64, 128, 256}; Adam, cross-entropy,
rows reshuffled every epoch. Two trials run at once (study.optimize(n_jobs=2)) with
torch.set_num_threads(1), so the study uses 2 threads in all, as aimass's parallel: 2 with
threads_per_trial: 1. The best trial's model (kept in memory) is then scored on the 10,000 test
images.

Prints one JSON line: best_val_accuracy, test_accuracy, complete, pruned, study_s (the study
alone; bench/run.sh times the whole process as wall_s). Environment: SEED (default 0, the
sampler's seed and each trial's torch seed base), FASHION_MNIST (the data folder). Options:
--pruner median|successive_halving (default median), --trials, --epochs, --jobs, --threads."""
import argparse
import copy
import json
import os
import sys
import threading
import time
import warnings

import optuna
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
import fashion_mnist  # noqa: E402

FIT_ROWS, VAL_ROWS = 20000, 10000


def make_model(width, layers, dropout):
    """784 -> width [-> width // 2] -> 10, ReLU and dropout after each hidden layer."""
    parts, inputs = [], 784
    for units in [width, width // 2][:layers]:
        parts += [torch.nn.Linear(inputs, units), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
        inputs = units
    parts.append(torch.nn.Linear(inputs, 10))
    return torch.nn.Sequential(*parts)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(1) == y).sum().item()
    model.train()
    return correct / x.shape[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pruner", choices=["median", "successive_halving"], default="median")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (shared by jobs)")
    args = parser.parse_args()
    seed = int(os.environ.get("SEED", "0"))
    torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")

    images, labels = fashion_mnist.load("train")
    x_fit = torch.from_numpy(images[:FIT_ROWS].copy())
    y_fit = torch.from_numpy(labels[:FIT_ROWS].copy())
    x_val = torch.from_numpy(images[FIT_ROWS:FIT_ROWS + VAL_ROWS].copy())
    y_val = torch.from_numpy(labels[FIT_ROWS:FIT_ROWS + VAL_ROWS].copy())
    x_test, y_test = (torch.from_numpy(a) for a in fashion_mnist.load("t10k"))

    models = {}
    lock = threading.Lock()

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-4, 3e-2, log=True)
        width = trial.suggest_categorical("width", [64, 128, 256, 512])
        layers = trial.suggest_categorical("layers", [1, 2])
        dropout = trial.suggest_float("dropout", 0.0, 0.5)
        batch = trial.suggest_categorical("batch_size", [64, 128, 256])
        generator = torch.Generator().manual_seed(seed * 1000 + trial.number)
        torch.manual_seed(seed * 1000 + trial.number)
        model = make_model(width, layers, dropout)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        value = 0.0
        for epoch in range(args.epochs):
            order = torch.randperm(FIT_ROWS, generator=generator)
            for begin in range(0, FIT_ROWS, batch):
                rows = order[begin:begin + batch]
                optimizer.zero_grad(set_to_none=True)
                loss_fn(model(x_fit[rows]), y_fit[rows]).backward()
                optimizer.step()
            value = accuracy(model, x_val, y_val)
            trial.report(value, epoch + 1)
            if trial.should_prune():
                raise optuna.TrialPruned()
        with lock:
            models[trial.number] = copy.deepcopy(model.state_dict()), (width, layers, dropout)
        return value

    pruner = (optuna.pruners.MedianPruner() if args.pruner == "median"
              else optuna.pruners.SuccessiveHalvingPruner())
    study = optuna.create_study(direction="maximize", pruner=pruner,
                                sampler=optuna.samplers.TPESampler(seed=seed))
    start = time.perf_counter()
    study.optimize(objective, n_trials=args.trials, n_jobs=args.jobs)
    study_s = time.perf_counter() - start

    best = study.best_trial
    state, (width, layers, dropout) = models[best.number]
    model = make_model(width, layers, dropout)
    model.load_state_dict(state)
    states = [t.state for t in study.trials]
    print(json.dumps({
        "best_val_accuracy": round(best.value, 4),
        "test_accuracy": round(accuracy(model, x_test, y_test), 4),
        "complete": states.count(optuna.trial.TrialState.COMPLETE),
        "pruned": states.count(optuna.trial.TrialState.PRUNED),
        "study_s": round(study_s, 2),
    }))


if __name__ == "__main__":
    main()
