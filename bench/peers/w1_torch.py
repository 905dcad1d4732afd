# SPDX-License-Identifier: Apache-2.0
"""W1 peer: PyTorch MLP 784-256-128-10 ReLU on Fashion-MNIST, softmax cross-entropy, Adam
lr 1e-3, batch 128, reshuffled every epoch, 5 epochs, on THREADS threads (default 2), seeded
with SEED (default 0). With W1_AUTOCAST=bf16, the forward pass and the loss run under
torch.autocast("cpu", dtype=torch.bfloat16) (W1bf16's second peer), the test pass too.
Prints one JSON line: s_per_epoch (mean of epochs 2-5, the first warms up), test_accuracy."""
import json
import os
import sys
import contextlib
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402

threads = int(os.environ.get("THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(int(os.environ.get("SEED", "0")))
x_train, y_train = (torch.from_numpy(a) for a in fashion_mnist.load("train"))
x_test, y_test = (torch.from_numpy(a) for a in fashion_mnist.load("t10k"))

model = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, 128), torch.nn.ReLU(),
    torch.nn.Linear(128, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()
autocast_to = os.environ.get("W1_AUTOCAST", "")
if autocast_to not in ("", "bf16"):
    sys.exit(f"w1_torch.py: W1_AUTOCAST must be bf16 or unset, got {autocast_to!r}")


def precision():
    return (torch.autocast("cpu", dtype=torch.bfloat16) if autocast_to
            else contextlib.nullcontext())


epochs, batch = 5, 128
times = []
for epoch in range(epochs):
    start = time.perf_counter()
    order = torch.randperm(x_train.shape[0])
    for begin in range(0, x_train.shape[0], batch):
        rows = order[begin:begin + batch]
        optimizer.zero_grad(set_to_none=True)
        with precision():
            loss = loss_fn(model(x_train[rows]), y_train[rows])
        loss.backward()
        optimizer.step()
    times.append(time.perf_counter() - start)
with torch.no_grad(), precision():
    accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
print(json.dumps({"s_per_epoch": round(sum(times[1:]) / len(times[1:]), 4),
                  "test_accuracy": round(accuracy, 4)}))
