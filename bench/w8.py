# SPDX-License-Identifier: Apache-2.0
"""W8: data-parallel training (docs/distributed.md), W1's workload on MPI ranks.

bench/configs/w8_mlp.yaml (W1's MLP, data and Adam; 5 epochs) runs twice per run index, both
under mpirun with collective.mpi and 1 thread a rank, bound to cores:
- 2 ranks x W8_BATCH=64 (aimass's side),
- 1 rank x W8_BATCH=128 (the peer: aimass itself on one process), the same global batch.

Figures (rank 0's log lines, epochs 2 onwards as in W1: the first builds primitives):
- s_per_epoch: the training steps' wall time of an epoch (epoch_s);
- comm_share: the share of it spent in the collective's calls (the trainer's comm_share line);
- loss_max_diff: the largest difference of the per-epoch training loss between the two runs
  (printed to 4 decimals), over all 5 epochs.
ratio: the 1-rank s_per_epoch over the 2-rank one: the speed-up (target >= 1.7).
"""

import os
import re
import shutil
import statistics

COMM_LINE = re.compile(r"epoch (\d+): communication [0-9.]+ of [0-9.]+ s of training steps "
                       r"\(comm_share=([0-9.]+)\)")
LOSS_LINE = re.compile(r"epoch (\d+)/\d+: loss=([0-9.]+)")


def mpirun_command(h, ranks):
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        raise h.BenchError("W8 needs mpirun (Debian: openmpi-bin; scripts/install-deps.sh)")
    return [mpirun, "--oversubscribe", "--bind-to", "core", "-np", str(ranks)]


def train(args, h, ranks, batch, run_index):
    """One mpirun of w8_mlp.yaml: (seconds per epoch from epoch 2, comm shares, losses)."""
    env = h.aimass_env(1, run_index + 1)
    env.update({"W8_BATCH": str(batch), "OMPI_MCA_btl_vader_single_copy_mechanism": "none"})
    if os.geteuid() == 0:
        env.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"})
    config = os.path.join(h.BENCH, "configs", "w8_mlp.yaml")
    _, err, _ = h.run(mpirun_command(h, ranks) + [args.aimass, "run", config], env,
                      f"W8 on {ranks} rank(s)")
    rank0 = "\n".join(line for line in err.splitlines() if "[rank 1]" not in line)
    epochs = {int(m.group(1)): float(m.group(3)) for m in h.EPOCH_LINE.finditer(rank0)}
    losses = {int(m.group(1)): float(m.group(2)) for m in LOSS_LINE.finditer(rank0)}
    shares = [float(m.group(2)) for m in COMM_LINE.finditer(rank0) if int(m.group(1)) > 1]
    if len(epochs) < 2 or len(losses) != len(epochs):
        raise h.BenchError(f"W8 on {ranks} rank(s) logged {len(epochs)} epochs:\n{err[-2000:]}")
    seconds = statistics.mean(epochs[k] for k in sorted(epochs) if k > 1)
    return seconds, shares, [losses[k] for k in sorted(losses)]


def workload_w8(args, h):
    mine, theirs = [], []
    for run_index in range(args.runs):
        two_s, shares, two_losses = train(args, h, 2, 64, run_index)
        one_s, _, one_losses = train(args, h, 1, 128, run_index)
        if len(two_losses) != len(one_losses):
            raise h.BenchError(f"W8: {len(two_losses)} epochs on 2 ranks, {len(one_losses)} on 1")
        diff = max(abs(a - b) for a, b in zip(two_losses, one_losses))
        mine.append({"s_per_epoch": two_s, "comm_share": statistics.mean(shares) if shares else 0,
                     "loss_max_diff": diff, "final_loss": two_losses[-1]})
        theirs.append({"s_per_epoch": one_s, "final_loss": one_losses[-1]})
    a, p = h.medians(mine), h.medians(theirs)
    return a, p, p["s_per_epoch"] / a["s_per_epoch"]
