# SPDX-License-Identifier: Apache-2.0
"""W3 peer: scikit-learn KMeans on Fashion-MNIST train (60000 x 784, pixels / 255), k = 10 from
../shared/data/kmeans_init_centers_seed0.csv (or $W3_CENTERS), n_init=1, max_iter=50, tol=0,
algorithm='lloyd': exactly 50 Lloyd iterations. Prints one JSON line: s_per_iter (the fit's
wall time over n_iter_), inertia, iterations. Threads come from OMP_NUM_THREADS, which
bench/run.sh sets."""
import json
import os
import sys
import time

import numpy as np
from sklearn.cluster import KMeans

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CENTERS = os.environ.get("W3_CENTERS",
                         os.path.join(ROOT, "..", "shared", "data",
                                      "kmeans_init_centers_seed0.csv"))

x_train, _ = fashion_mnist.load("train")
centers = np.loadtxt(CENTERS, delimiter=",", dtype=np.float32)
model = KMeans(n_clusters=10, init=centers, n_init=1, max_iter=50, tol=0, algorithm="lloyd")
start = time.perf_counter()
model.fit(x_train)
seconds = time.perf_counter() - start
print(json.dumps({"s_per_iter": round(seconds / model.n_iter_, 5),
                  "inertia": round(float(model.inertia_), 1), "iterations": int(model.n_iter_)}))
