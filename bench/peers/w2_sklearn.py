# SPDX-License-Identifier: Apache-2.0
"""W2 peer: scikit-learn LogisticRegression(lbfgs, max_iter=100) on Fashion-MNIST pixels / 255.
Prints one JSON line: seconds (the fit), test_accuracy. Threads come from OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS, which bench/run.sh sets.

With W2_VALIDATION=1 (the harness's W2select, which chooses aimass's recipe) it fits on the
first 50,000 training images and prints val_accuracy on the other 10,000 instead: the same split
the aimass recipes are judged on, so the test images play no part in the choice."""
import json
import os
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402

FIT_ROWS = 50000  # harness.W2_FIT_ROWS
x_train, y_train = fashion_mnist.load("train")
if os.environ.get("W2_VALIDATION") == "1":
    x_train, y_train, x_eval, y_eval = (x_train[:FIT_ROWS], y_train[:FIT_ROWS],
                                        x_train[FIT_ROWS:], y_train[FIT_ROWS:])
    name = "val_accuracy"
else:
    x_eval, y_eval = fashion_mnist.load("t10k")
    name = "test_accuracy"
model = LogisticRegression(solver="lbfgs", max_iter=100)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 100 iterations is the workload
    model.fit(x_train, y_train)
seconds = time.perf_counter() - start
accuracy = float((model.predict(x_eval) == y_eval).mean())
print(json.dumps({"seconds": round(seconds, 4), name: round(accuracy, 4)}))
