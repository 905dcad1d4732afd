#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Computes scikit-learn's metrics for fixed prediction sets and writes sklearn_fixtures.json,
which evaluation_test.cc compares aimass's metrics against (the test needs no Python).

Run with Debian's python3 (python3-sklearn): /usr/bin/python3 make_fixtures.py > sklearn_fixtures.json
"""
import json
import sys

import numpy as np
import sklearn
from sklearn import metrics


def classification_case(name, classes, truth, proba, predicted=None):
    proba = np.asarray(proba, dtype=np.float64)
    # Rounded to what a float32 holds exactly, so the C++ side sees the same numbers.
    proba = proba.astype(np.float32).astype(np.float64)
    if predicted is None:
        predicted = proba.argmax(axis=1)
    labels = list(range(classes))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0)
    macro = metrics.precision_recall_fscore_support(
        truth, predicted, labels=labels, average="macro", zero_division=0)
    if classes == 2:
        auc = metrics.roc_auc_score(truth, proba[:, 1])
    else:
        auc = metrics.roc_auc_score(truth, proba, multi_class="ovr", average="macro",
                                    labels=labels)
    return {
        "name": name,
        "task": "classification",
        "classes": classes,
        "truth": [int(t) for t in truth],
        "predicted": [int(p) for p in predicted],
        "probabilities": [float(v) for v in proba.ravel()],
        "accuracy": metrics.accuracy_score(truth, predicted),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.tolist(),
        "macro_precision": macro[0],
        "macro_recall": macro[1],
        "macro_f1": macro[2],
        "confusion": metrics.confusion_matrix(truth, predicted, labels=labels).tolist(),
        "log_loss": metrics.log_loss(truth, proba, labels=labels),
        "roc_auc": auc,
    }


def regression_case(name, truth, predicted):
    truth = np.asarray(truth, dtype=np.float32).astype(np.float64)
    predicted = np.asarray(predicted, dtype=np.float32).astype(np.float64)
    targets = 1 if truth.ndim == 1 else truth.shape[1]
    return {
        "name": name,
        "task": "regression",
        "targets": targets,
        "truth": [float(v) for v in truth.ravel()],
        "predicted": [float(v) for v in predicted.ravel()],
        "rmse": metrics.mean_squared_error(truth, predicted, squared=False),
        "mae": metrics.mean_absolute_error(truth, predicted),
        "r2": metrics.r2_score(truth, predicted),
    }


def main():
    rng = np.random.default_rng(20261128)
    cases = []

    # Binary, with tied scores.
    truth = [0, 0, 1, 1, 0, 1, 1, 0, 1, 0]
    p1 = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.6, 0.2, 0.4, 0.7]
    cases.append(classification_case("binary_with_ties", 2, truth,
                                     [[1 - p, p] for p in p1]))

    # Three classes, one never predicted (zero_division) and imperfect probabilities.
    truth = [0, 1, 2, 2, 1, 0, 2, 1, 0, 2, 2, 1]
    proba = [[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6],
             [0.5, 0.3, 0.2], [0.6, 0.3, 0.1], [0.3, 0.3, 0.4], [0.2, 0.6, 0.2],
             [0.4, 0.35, 0.25], [0.25, 0.45, 0.3], [0.1, 0.2, 0.7], [0.3, 0.5, 0.2]]
    predicted = [0, 1, 1, 2, 0, 0, 2, 1, 0, 1, 2, 1]
    cases.append(classification_case("three_classes", 3, truth, proba, predicted))
    # The same truth with a class that is never predicted.
    never = [0, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1]
    cases.append(classification_case("class_never_predicted", 3, truth, proba, never))

    # Ten classes, 200 random rows with a signal.
    n, c = 200, 10
    truth = rng.integers(0, c, size=n)
    logits = rng.normal(size=(n, c))
    logits[np.arange(n), truth] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    cases.append(classification_case("ten_classes_random", c, truth.tolist(), proba))

    # Regression: one target, and two targets.
    y = rng.normal(3, 2, size=50)
    cases.append(regression_case("one_target", y, y + rng.normal(0, 0.5, size=50)))
    y2 = rng.normal(0, 1, size=(40, 2)) * [1, 10]
    cases.append(regression_case("two_targets", y2, y2 * 0.9 + rng.normal(0, 1, size=(40, 2))))

    # One case a line keeps the committed file short and its diffs readable.
    sys.stdout.write('{"sklearn_version": %s, "cases": [\n' % json.dumps(sklearn.__version__))
    sys.stdout.write(",\n".join(json.dumps(case) for case in cases))
    sys.stdout.write("\n]}\n")


if __name__ == "__main__":
    main()
