# SPDX-License-Identifier: Apache-2.0
"""W5 peer: PyTorch character-level GRU language model: nn.Embedding(256, 64) -> nn.GRU(64, 256,
1 layer) -> nn.Linear(256, 256), cross-entropy (mean nats per character), Adam lr 2e-3, on
THREADS threads (default 2), seeded with SEED (default 0). Data: the bytes of the regular files
of /usr/share/common-licenses sorted by name, cut into 32 contiguous streams; step b's batch
holds bytes [b*64, b*64+64) of every stream (labels: the next bytes); the hidden state is
carried from step to step (detached: truncated backpropagation through time) and reset when the
streams start over. 200 steps, timed from the first to the last optimizer step (the data is cut
before the clock starts).
Prints one JSON line: chars_per_s = 200*32*64/seconds, final_loss = the mean training loss of the
last 10 steps, steps, seconds, bytes."""
import json
import os
import time

import torch

FOLDER = os.environ.get("W5_FOLDER", "/usr/share/common-licenses")
threads = int(os.environ.get("THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(int(os.environ.get("SEED", "0")))
STREAMS, STEPS, TOTAL = 32, 64, int(os.environ.get("W5_STEPS", "200"))

names = sorted(n for n in os.listdir(FOLDER)
               if os.path.isfile(os.path.join(FOLDER, n))
               and not os.path.islink(os.path.join(FOLDER, n)))
data = b"".join(open(os.path.join(FOLDER, n), "rb").read() for n in names)
length = len(data) // STREAMS
per_epoch = (length - 1) // STEPS
streams = torch.tensor(list(data[:length * STREAMS]), dtype=torch.long).view(STREAMS, length)
batches = [(streams[:, b * STEPS:(b + 1) * STEPS].contiguous(),
            streams[:, b * STEPS + 1:(b + 1) * STEPS + 1].contiguous()) for b in range(per_epoch)]


class CharGru(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(256, 64)
        self.gru = torch.nn.GRU(64, 256, 1, batch_first=True)
        self.head = torch.nn.Linear(256, 256)

    def forward(self, x, h):
        y, h = self.gru(self.embedding(x), h)
        return self.head(y), h


model = CharGru()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
loss_fn = torch.nn.CrossEntropyLoss()
losses = []
h = None
start = time.perf_counter()
for step in range(TOTAL):
    if step % per_epoch == 0:
        h = None
    x, y = batches[step % per_epoch]
    logits, h = model(x, h)
    h = h.detach()
    loss = loss_fn(logits.reshape(-1, 256), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
seconds = time.perf_counter() - start
tail = losses[-10:]
print(json.dumps({"chars_per_s": TOTAL * STREAMS * STEPS / seconds,
                  "final_loss": sum(tail) / len(tail), "steps": TOTAL, "seconds": seconds,
                  "bytes": len(data)}))
