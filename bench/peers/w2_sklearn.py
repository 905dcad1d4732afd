# SPDX-License-Identifier: Apache-2.0
"""W2 peer: scikit-learn LogisticRegression(lbfgs, max_iter=100) on Fashion-MNIST pixels / 255.
Prints one JSON line: seconds (the fit), test_accuracy. Threads come from OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS, which bench/run.sh sets."""
import json
import os
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402

x_train, y_train = fashion_mnist.load("train")
x_test, y_test = fashion_mnist.load("t10k")
model = LogisticRegression(solver="lbfgs", max_iter=100)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 100 iterations is the workload
    model.fit(x_train, y_train)
seconds = time.perf_counter() - start
accuracy = float((model.predict(x_test) == y_test).mean())
print(json.dumps({"seconds": round(seconds, 4), "test_accuracy": round(accuracy, 4)}))
