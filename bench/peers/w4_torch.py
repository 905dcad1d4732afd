# SPDX-License-Identifier: Apache-2.0
"""W4 peer: PyTorch biased matrix factorisation, rank 32: global mean (the training mean,
fixed) + user bias + item bias + p_u.q_i, with nn.Embedding for the factors (init N(0, 0.1))
and the biases (init 0); MSE loss, Adam lr 0.01 with weight_decay 1e-4, batch 1024, reshuffled
every epoch, 20 epochs, on THREADS threads (default 2), seeded with SEED (default 0). Trains on
ratings_train.csv and reports the RMSE on ratings_test.csv (ids the training file never saw
fall back to the mean plus the known bias, as model.mf does).
Prints one JSON line: s_per_epoch (mean of epochs 2-20, the first warms up), test_rmse."""
import csv
import json
import os
import time

import torch

DATA = os.environ.get("W4_DATA", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "..", "..", "..", "shared", "data"))
threads = int(os.environ.get("THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(int(os.environ.get("SEED", "0")))


def read(name):
    with open(os.path.join(DATA, name), newline="") as f:
        return [(row["user"], row["item"], float(row["rating"])) for row in csv.DictReader(f)]


train, test = read("ratings_train.csv"), read("ratings_test.csv")
users = {u: k for k, u in enumerate(dict.fromkeys(r[0] for r in train))}
items = {i: k for k, i in enumerate(dict.fromkeys(r[1] for r in train))}
u_train = torch.tensor([users[r[0]] for r in train])
i_train = torch.tensor([items[r[1]] for r in train])
y_train = torch.tensor([r[2] for r in train])
rank = 32


class BiasedMF(torch.nn.Module):
    def __init__(self, n_users, n_items, mean):
        super().__init__()
        self.p = torch.nn.Embedding(n_users, rank)
        self.q = torch.nn.Embedding(n_items, rank)
        self.bu = torch.nn.Embedding(n_users, 1)
        self.bi = torch.nn.Embedding(n_items, 1)
        for e in (self.p, self.q):
            torch.nn.init.normal_(e.weight, std=0.1)
        for e in (self.bu, self.bi):
            torch.nn.init.zeros_(e.weight)
        self.mean = mean

    def forward(self, u, i):
        return (self.mean + self.bu(u).squeeze(1) + self.bi(i).squeeze(1)
                + (self.p(u) * self.q(i)).sum(1))


model = BiasedMF(len(users), len(items), float(y_train.mean()))
# weight_decay 1e-4 reproduces BENCHMARKS.md's reference run (RMSE 0.6147); without it this
# model overfits to about 0.93.
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
loss_fn = torch.nn.MSELoss()
epochs, batch = 20, 1024
times = []
for epoch in range(epochs):
    start = time.perf_counter()
    order = torch.randperm(len(train))
    for begin in range(0, len(train), batch):
        rows = order[begin:begin + batch]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(u_train[rows], i_train[rows]), y_train[rows])
        loss.backward()
        optimizer.step()
    times.append(time.perf_counter() - start)

with torch.no_grad():
    known = [(users.get(r[0]), items.get(r[1])) for r in test]
    u_test = torch.tensor([u if u is not None else 0 for u, _ in known])
    i_test = torch.tensor([i if i is not None else 0 for _, i in known])
    u_known = torch.tensor([u is not None for u, _ in known])
    i_known = torch.tensor([i is not None for _, i in known])
    full = model(u_test, i_test)
    partial = (model.mean + torch.where(u_known, model.bu(u_test).squeeze(1), torch.tensor(0.0))
               + torch.where(i_known, model.bi(i_test).squeeze(1), torch.tensor(0.0)))
    scores = torch.where(u_known & i_known, full, partial)
    y_test = torch.tensor([r[2] for r in test])
    squares = float(((scores - y_test) ** 2).sum())
print(json.dumps({"s_per_epoch": sum(times[1:]) / (epochs - 1),
                  "test_rmse": (squares / len(test)) ** 0.5}))
