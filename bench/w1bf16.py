# SPDX-License-Identifier: Apache-2.0
"""W1bf16: W1 (bench/configs/w1_mlp.yaml) trained and scored in bf16 mixed precision.

aimass: bench/configs/w1_mlp_bf16.yaml, W1's network, data, optimizer and recipe with
`precision: bf16` on model.mlp (bf16 products, FP32 master weights, Adam state, loss and
softmax) and the test images scored in bf16 (job.evaluate `precision: bf16`). It needs a CPU
with AVX512-BF16 (aimass refuses the config elsewhere, and so the workload fails there).

Two peers, each the W1 peer (peers/w1_torch.py) with the same seed:
- torch_fp32: PyTorch in FP32, W1's peer as it is;
- torch_autocast_bf16: the same with torch.autocast("cpu", dtype=torch.bfloat16) around the
  forward pass and the loss (W1_AUTOCAST=bf16), PyTorch's own CPU mixed precision.

Figures: s_per_epoch (epochs 2-5, as W1) and test_accuracy. ratio: each peer's s_per_epoch over
aimass's (the target: at least 4 against torch_fp32, at test accuracy >= 0.870).
"""

import os
import statistics

CONFIG = "w1_mlp_bf16.yaml"
PEERS = {"torch_fp32": None, "torch_autocast_bf16": "bf16"}


def peer(h, args, seed, autocast):
    env = h.peer_env(args.threads, seed)
    if autocast:
        env["W1_AUTOCAST"] = autocast
    else:
        env.pop("W1_AUTOCAST", None)
    out, _, _ = h.run([h.PYTHON, os.path.join(h.PEERS, "w1_torch.py")], env,
                      f"peer w1_torch.py (W1_AUTOCAST={autocast or 'unset'})")
    return h.last_json_line(out, "peer w1_torch.py")


def workload_w1bf16(args, h):
    """`h` is the harness module (its run helpers)."""
    config = os.path.join(h.BENCH, "configs", CONFIG)
    mine, theirs = [], {name: [] for name in PEERS}
    for run_index in range(args.runs):
        epochs, accuracy = h.run_aimass_training(args.aimass, config, args.threads, run_index + 1)
        if len(epochs) < 2:
            raise h.BenchError(f"{config}: W1bf16 needs at least 2 epochs, got {len(epochs)}")
        mine.append({"s_per_epoch": statistics.mean(epochs[1:]), "test_accuracy": accuracy})
        for name, autocast in PEERS.items():
            theirs[name].append(peer(h, args, run_index + 1, autocast))
    a = h.medians(mine)
    p = {name: h.medians(samples) for name, samples in theirs.items()}
    return a, p, {name: p[name]["s_per_epoch"] / a["s_per_epoch"] for name in PEERS}
