# SPDX-License-Identifier: Apache-2.0
"""W0 peer: fp32 C = A B with n = 2048 through numpy (OpenBLAS) and torch.matmul, on THREADS
threads (default 2). Prints one JSON line: gflop_per_s (the faster of the two, best of
REPEATS after a warm-up), numpy_gflop_per_s, torch_gflop_per_s."""
import json
import os
import time

import numpy as np
import torch

threads = int(os.environ.get("THREADS", "2"))
repeats = int(os.environ.get("REPEATS", "10"))
torch.set_num_threads(threads)
n = 2048
flops = 2.0 * n * n * n
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)


def best_rate(multiply):
    multiply()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        multiply()
        best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


numpy_rate = best_rate(lambda: a @ b)
ta, tb = torch.from_numpy(a), torch.from_numpy(b)
torch_rate = best_rate(lambda: torch.matmul(ta, tb))
print(json.dumps({"gflop_per_s": round(max(numpy_rate, torch_rate), 1),
                  "numpy_gflop_per_s": round(numpy_rate, 1),
                  "torch_gflop_per_s": round(torch_rate, 1)}))
