# SPDX-License-Identifier: Apache-2.0
"""W13's throughput part: W6's JSON load on a server that monitors (payload logging at 10% and
input validation warn) against the same server with monitoring off, the same run.

Each run trains W6's model (the W1 MLP, one epoch; bench/configs/w6bf16_train.yaml, which also
saves its training-data profile) and registers it in a store of its own; then both sides serve
it in turn from the registry (bench/configs/w13_serve.yaml): the peer with payload_sample 0 and
input_validation off, aimass with payload_sample 0.1 and input_validation warn. wrk sends W6's
JSON request (one test image, 64 connections, W6_SECONDS) to each for req_per_s, p50_ms and
p99_ms. After the monitored side's load, /metrics gives how many requests were logged and
dropped (payload_logged, payload_dropped).

ratio: monitored req/s over unmonitored req/s (BENCHMARKS.md asks for >= 0.9). The drift monitor
and the detection half of W13 are not built yet, so W13 is never recorded (harness.NOT_RECORDED).
"""

import re
import urllib.request

from w6bf16 import train_registered


def metric(base, name):
    """The sum of every sample of metric `name` in base's /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=30) as answer:
        text = answer.read().decode()
    return sum(float(m.group(1)) for m in
               re.finditer(r"^" + re.escape(name) + r"(?:\{[^}]*\})? ([0-9.e+-]+)$", text,
                           re.MULTILINE))


def serve_and_measure(args, h, store, folder, run_index, monitored):
    env = {"W13_STORE": store,
           "W13_PAYLOAD_SAMPLE": "0.1" if monitored else "0",
           "W13_INPUT_VALIDATION": "warn" if monitored else "off"}
    what = "monitored" if monitored else "unmonitored"
    process, base = h.start_aimass(args, "w13_serve.yaml", folder, run_index, env)
    try:
        input_name = h.http_json(base + "/v2/models/fashion")["inputs"][0]["name"]
        form, path, content_type, header_length = h.w6_bodies(folder, input_name)[0]
        figures = h.prefixed(form, h.wrk(base + "/v2/models/fashion/infer", path, content_type,
                                         header_length, f"aimass {what} ({form})"))
        if monitored:
            figures["payload_logged"] = metric(base, "aimass_payload_log_logged_total")
            figures["payload_dropped"] = metric(base, "aimass_payload_log_dropped_total")
        return figures
    finally:
        h.stop(process, f"aimass serving {what}")


def workload_w13(args, h):
    """`h` is the harness module (its serving helpers)."""
    import tempfile
    mine, theirs = [], []
    with tempfile.TemporaryDirectory(prefix="aimass-w13-") as folder:
        for run_index in range(args.runs):
            store = train_registered(args, h, folder, run_index, "W13")
            theirs.append(serve_and_measure(args, h, store, folder, run_index, False))
            mine.append(serve_and_measure(args, h, store, folder, run_index, True))
    a, p = h.medians(mine), h.medians(theirs)
    return a, p, a["json_req_per_s"] / p["json_req_per_s"]
