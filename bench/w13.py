# SPDX-License-Identifier: Apache-2.0
"""W13, monitoring: W6's JSON load on a server that monitors against the same server with
monitoring off, the same run; then how fast the drift monitor finds a shift and how often it
raises a false alarm.

Each run trains W6's model (the W1 MLP, one epoch; bench/configs/w6bf16_train.yaml, which also
saves its training-data profile), registers it in a store of its own and points alias
"champion" at it. Then:

- Throughput. Both sides serve it from the registry: the peer with w13_serve.yaml (payload
  logging and input validation off, no monitor), aimass with w13_monitored.yaml (payload logging
  at 10%, input validation warn, a service.monitor testing windows of 1,000 logged rows). wrk
  sends W6's JSON request (one test image, 64 connections, W6_SECONDS) to each: req_per_s,
  p50_ms, p99_ms; after each monitored load, /metrics gives payload_logged and payload_dropped.
  Each run measures the two sides in four phases, unmonitored, monitored, monitored,
  unmonitored, and each side's figures are the means of its two phases. This shared machine's
  speed drifts by up to half within minutes; with one phase each, always unmonitored first, a
  drift during the run counted wholly against one side (the unmonitored req/s of the recorded
  rows moved by a quarter between runs while the monitored one held). In this order a drift
  that is linear over the run weighs on both sides alike. The ratio is the median, over the
  runs, of each run's ratio of its monitored to its unmonitored mean req/s, so that a side is
  only ever compared with the phases measured around it.
- Detection, on w13_monitored.yaml with every request logged (payload_sample 1) and windows of
  50 rows: 5,000 requests of the test images 0-4999, one image each with its request id, then
  the test images 5000-6999 brightened by +0.2 (clipped to 1). Each drift window's result (the
  monitor's window record, monitoring/fashion/windows/<unix ns> in the store, read from the
  storage.fs folder after the server stops: drift events mark only where an episode starts and
  ends) names the last request it held, so false_alarms counts the drifted windows among the
  100 windows of unshifted requests, and detect_requests is how many shifted requests had been
  sent when the first drifted window holding shifted ones closed.
- The batch report: bench/w13_batch.py (`aimass models drift` on 300,000 rows x 1,000 number
  columns against a registered model's training profile): batch_report_s and its checks.

ratio: monitored req/s over unmonitored req/s (BENCHMARKS.md asks for >= 0.9); the detection
and batch bounds are the row's quality targets (rows.TARGETS).
"""

import http.client
import json
import os
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request

from w13_batch import batch_figures
from w6bf16 import train_registered

DETECT_WINDOW = 50         # logged rows per drift window in the detection part
UNSHIFTED = 5000           # 100 windows
SHIFTED = 2000
BRIGHTEN = 0.2


def metric(base, name):
    """The sum of every sample of metric `name` in base's /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=30) as answer:
        text = answer.read().decode()
    return sum(float(m.group(1)) for m in
               re.finditer(r"^" + re.escape(name) + r"(?:\{[^}]*\})? ([0-9.e+-]+)$", text,
                           re.MULTILINE))


def champion_registered(args, h, folder, run_index):
    """W6's model trained and registered (train_registered), with "champion" pointing at it."""
    store = train_registered(args, h, folder, run_index, "W13")
    env = h.aimass_env(args.threads, run_index + 1)
    env["W6BF16_STORE"] = store
    h.run([args.aimass, "models", "promote", "fashion", "1", "--alias", "champion", "--config",
           os.path.join(h.BENCH, "configs", "w6bf16_train.yaml")], env, "W13's promotion")
    return store


def throughput(args, h, store, folder, run_index, monitored):
    what = "monitored" if monitored else "unmonitored"
    env = {"W13_STORE": store, "W13_PAYLOAD_SAMPLE": "0.1", "W13_WINDOW": "1000"}
    config = "w13_monitored.yaml" if monitored else "w13_serve.yaml"
    process, base = h.start_aimass(args, config, folder, run_index, env)
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


def send_images(h, connection, input_name, images, prefix):
    """One request per image, in order, with request ids PREFIX-00000, PREFIX-00001, ..."""
    for i, image in enumerate(images):
        body = json.dumps({"id": f"{prefix}-{i:05d}",
                           "inputs": [{"name": input_name, "datatype": "FP32",
                                       "shape": [1, len(image)],
                                       "data": [round(float(v), 6) for v in image]}]})
        connection.request("POST", "/v2/models/fashion/infer", body,
                           {"Content-Type": "application/json"})
        answer = connection.getresponse()
        payload = answer.read()
        if answer.status != 200:
            raise h.BenchError(f"W13's request {prefix}-{i:05d}: HTTP {answer.status}: "
                               f"{payload[:300]!r}")


def wait_for_windows(h, base, windows):
    """Until the monitor has tested `windows` drift windows (it reads the log every 200 ms)."""
    deadline = time.monotonic() + 120
    while metric(base, "aimass_drift_windows_total") < windows:
        if time.monotonic() > deadline:
            raise h.BenchError(f"W13: the monitor tested {metric(base, 'aimass_drift_windows_total'):.0f} "
                          f"windows in 2 minutes, not {windows}")
        time.sleep(0.2)


def window_results(store, since_ns):
    """The monitor's window records written at or after `since_ns`, oldest first: storage.fs
    keeps key monitoring/fashion/windows/<20-digit unix ns> in data/.../<ns>.val
    (plugins/storage/fs/README.md)."""
    folder = os.path.join(store, "data", "monitoring", "fashion", "windows")
    names = sorted(n for n in os.listdir(folder) if n.endswith(".val") and n[:-4].isdigit())
    results = []
    for name in names:
        if int(name[:-4]) >= since_ns:
            with open(os.path.join(folder, name), encoding="utf-8") as record:
                results.append(json.load(record))
    return results


def detection(args, h, store, folder, run_index, test_images):
    env = {"W13_STORE": store, "W13_PAYLOAD_SAMPLE": "1", "W13_WINDOW": str(DETECT_WINDOW)}
    started_ns = time.time_ns()  # the throughput phases' windows are older
    process, base = h.start_aimass(args, "w13_monitored.yaml", folder, run_index, env)
    try:
        input_name = h.http_json(base + "/v2/models/fashion")["inputs"][0]["name"]
        port = urllib.parse.urlparse(base).port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        import numpy as np  # noqa: E402 (comes with the peers)
        unshifted = test_images[:UNSHIFTED]
        shifted = np.clip(test_images[UNSHIFTED:UNSHIFTED + SHIFTED] + BRIGHTEN, 0.0, 1.0)
        send_images(h, connection, input_name, unshifted, "u")
        send_images(h, connection, input_name, shifted, "s")
        connection.close()
        wait_for_windows(h, base, (UNSHIFTED + SHIFTED) // DETECT_WINDOW)
    finally:
        h.stop(process, "aimass detecting drift")
    windows = window_results(store, started_ns)
    if len(windows) != (UNSHIFTED + SHIFTED) // DETECT_WINDOW:
        raise h.BenchError(f"W13: {len(windows)} window records of the detection server, not "
                           f"{(UNSHIFTED + SHIFTED) // DETECT_WINDOW}")
    false_alarms, detected = 0, None
    for window in windows:
        if not window["drifted"]:
            continue
        last = window["last_request_id"]
        if last.startswith("u-"):
            false_alarms += 1
        elif last.startswith("s-"):
            sent = int(last[2:]) + 1
            detected = sent if detected is None else min(detected, sent)
    return {"unshifted_windows": UNSHIFTED // DETECT_WINDOW, "false_alarms": false_alarms,
            # never flagged: every shifted request sent, and more (the target check fails)
            "detect_requests": detected if detected is not None else SHIFTED + 1}


def workload_w13(args, h):
    """`h` is the harness module (its serving helpers)."""
    import tempfile
    sys.path.insert(0, h.PEERS)
    import fashion_mnist  # noqa: E402 (numpy comes with the peers)
    test_images = fashion_mnist.load("t10k")[0]
    mine, theirs, ratios = [], [], []
    with tempfile.TemporaryDirectory(prefix="aimass-w13-") as folder:
        for run_index in range(args.runs):
            store = champion_registered(args, h, folder, run_index)
            phases = {False: [], True: []}
            for monitored in (False, True, True, False):  # see the docstring
                phases[monitored].append(throughput(args, h, store, folder, run_index, monitored))
            unmonitored, figures = phase_means(phases[False]), phase_means(phases[True])
            ratios.append(figures["json_req_per_s"] / unmonitored["json_req_per_s"])
            print(f"harness: W13: run {run_index + 1}'s phases (req/s): "
                  f"unmonitored {phases[False][0]['json_req_per_s']:.0f}, "
                  f"monitored {phases[True][0]['json_req_per_s']:.0f}, "
                  f"monitored {phases[True][1]['json_req_per_s']:.0f}, "
                  f"unmonitored {phases[False][1]['json_req_per_s']:.0f}; "
                  f"ratio {ratios[-1]:.3f}", file=sys.stderr, flush=True)
            theirs.append(unmonitored)
            figures.update(detection(args, h, store, folder, run_index, test_images))
            mine.append(figures)
    a, p = h.medians(mine), h.medians(theirs)
    a.update(batch_figures(args, h))  # its own data and model; the median of args.runs reports
    return a, p, statistics.median(ratios)


def phase_means(phases):
    """The mean of each figure over a side's phases of one run; counts (payload_logged,
    payload_dropped) are summed."""
    return {key: (sum(p[key] for p in phases) if key.startswith("payload_")
                  else sum(p[key] for p in phases) / len(phases))
            for key in phases[0]}
