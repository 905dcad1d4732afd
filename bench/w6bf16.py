# SPDX-License-Identifier: Apache-2.0
"""W6bf16: W6's server with the model predicting in bf16, against the same server in FP32.

Each run trains W6's model (the W1 MLP, one epoch; bench/configs/w6bf16_train.yaml) and
registers it in a store of its own; then both sides, aimass both, serve that one model in turn
(bench/configs/w6bf16_serve.yaml: serving.runtime loads it from the registry, as a production
server would) with `precision: fp32` (the peer) and `precision: bf16` (needs a CPU with
AVX512-BF16); each side then:
- wrk sends W6's requests, the JSON and the binary form (W6's load: one test image a request,
  64 connections, W6_SECONDS), for req_per_s, p50_ms and p99_ms;
- the 10,000 Fashion-MNIST test images go through /v2/models/fashion/infer in binary batches
  of 500, for the served model's test_accuracy in that precision.

Figures: json_* and binary_* as W6, test_accuracy; accuracy_delta (aimass's side only): its
test accuracy in bf16 minus the FP32 server's, the same run. ratio: binary req/s in bf16 over
binary req/s in FP32 (BENCHMARKS.md asks for the figures, with no target).
"""

import json
import os
import sys
import urllib.request

BATCH = 500


def served_accuracy(base, input_name, images, labels):
    """The share of `images` whose served class equals the label, in binary batches."""
    correct = 0
    for start in range(0, len(images), BATCH):
        rows = images[start:start + BATCH]
        header = json.dumps({"inputs": [{"name": input_name, "datatype": "FP32",
                                         "shape": [len(rows), rows.shape[1]],
                                         "parameters": {"binary_data_size": rows.nbytes}}]})
        body = header.encode() + rows.astype("<f4").tobytes()
        request = urllib.request.Request(
            base + "/v2/models/fashion/infer", data=body, method="POST",
            headers={"Content-Type": "application/octet-stream",
                     "Inference-Header-Content-Length": str(len(header.encode()))})
        with urllib.request.urlopen(request, timeout=60) as answer:
            outputs = {o["name"]: o for o in json.loads(answer.read())["outputs"]}
        classes = [int(c) for c in outputs["class"]["data"]]
        correct += sum(int(c == l) for c, l in zip(classes, labels[start:start + BATCH]))
    return correct / len(images)


def serve_and_measure(args, h, precision, store, folder, run_index, test_set):
    env = {"W6BF16_STORE": store, "W6BF16_PRECISION": precision}
    process, base = h.start_aimass(args, "w6bf16_serve.yaml", folder, run_index, env)
    try:
        input_name = h.http_json(base + "/v2/models/fashion")["inputs"][0]["name"]
        figures = {}
        for form, path, content_type, header_length in h.w6_bodies(folder, input_name):
            figures.update(h.prefixed(form, h.wrk(base + "/v2/models/fashion/infer", path,
                                                  content_type, header_length,
                                                  f"aimass in {precision} ({form})")))
        figures["test_accuracy"] = round(served_accuracy(base, input_name, *test_set), 4)
        return figures
    finally:
        h.stop(process, f"aimass serving in {precision}")


def train_registered(args, h, folder, run_index, what):
    """Trains W6's model (w6bf16_train.yaml, one epoch, with its training-data profile) and
    registers it as "fashion" in a store of its own under `folder`; returns the store's path."""
    store = os.path.join(folder, f"store_{run_index}")
    env = h.aimass_env(args.threads, run_index + 1)
    env["W6BF16_STORE"] = store
    h.run([args.aimass, "run", os.path.join(h.BENCH, "configs", "w6bf16_train.yaml")], env,
          f"{what}'s training")
    return store


def workload_w6bf16(args, h):
    """`h` is the harness module (its serving helpers)."""
    import tempfile
    sys.path.insert(0, h.PEERS)
    import fashion_mnist  # noqa: E402 (numpy comes with the peers)
    test_set = fashion_mnist.load("t10k")
    mine, theirs = [], []
    with tempfile.TemporaryDirectory(prefix="aimass-w6bf16-") as folder:
        for run_index in range(args.runs):
            store = train_registered(args, h, folder, run_index, "W6bf16")
            fp32 = serve_and_measure(args, h, "fp32", store, folder, run_index, test_set)
            bf16 = serve_and_measure(args, h, "bf16", store, folder, run_index, test_set)
            bf16["accuracy_delta"] = round(bf16["test_accuracy"] - fp32["test_accuracy"], 4)
            mine.append(bf16)
            theirs.append(fp32)
    a, p = h.medians(mine), h.medians(theirs)
    return a, p, a["binary_req_per_s"] / p["binary_req_per_s"]
