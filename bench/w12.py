# SPDX-License-Identifier: Apache-2.0
"""W12: the job service (docs/jobs.md).

200 jobs submitted at once over POST /api/v1/jobs, each training model.softmax on a 150-row CSV
(the first 150 rows of configs/data/pumps.csv) for 5 epochs, to a `service.jobs` with one queue
of 2 threads, 1 thread a job. The peer runs the same 200 graphs with `aimass run`, 2 at a time.

Figures, from the jobs' records (the service's own millisecond timestamps):
- wall_s: first submission to the last job's end (the peer: the first start to the last end);
- sched_p50_ms, sched_p99_ms: scheduling latency, from the end of a job to the start of the job
  that took its thread (with 2 slots, the (i+2)-th start takes the i-th end's thread);
- max_running: the most jobs whose [start, end) overlap, which must never exceed the quota;
- failed: jobs that did not succeed (any fails the workload).
ratio: the peer's wall_s over aimass's (the target: aimass ≤ 1.2× the peer, ratio ≥ 0.83).
"""

import concurrent.futures
import json
import os
import shutil
import tempfile
import time
import urllib.request

JOBS = 200
QUOTA = 2

SERVICE = """nodes:
  store: {{type: storage.sqlite, path: {folder}/service.db}}
  jobs:
    type: service.jobs
    storage: store
    work_dir: {folder}/jobs
    threads: {quota}
    memory: 8GiB
    gpus: 0
    poll_interval_ms: 50
    queues:
      w12: {{threads: {quota}, memory: 8GiB}}
  web: {{type: frontend.http, host: 127.0.0.1, port: 0, threads: 2}}
"""

JOB = """threads: 1
nodes:
  rows: {{type: dataset.csv, path: {csv}, label: state}}
  model: {{type: model.softmax}}
  sgd: {{type: optimizer.sgd, learning_rate: 0.05}}
  train: {{type: job.train, model: model, dataset: rows, optimizer: sgd, epochs: 5, seed: 7}}
"""


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def max_overlap(intervals):
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    running = most = 0
    for _, delta in events:
        running += delta
        most = max(most, running)
    return most


def figures_of(intervals, wall_s, failed):
    starts = sorted(start for start, _ in intervals)
    ends = sorted(end for _, end in intervals)
    latencies = [starts[i + QUOTA] - ends[i] for i in range(len(starts) - QUOTA)]
    return {"wall_s": round(wall_s, 3), "sched_p50_ms": percentile(latencies, 0.5),
            "sched_p99_ms": percentile(latencies, 0.99), "max_running": max_overlap(intervals),
            "failed": failed}


def write_inputs(folder, root):
    csv = os.path.join(folder, "rows.csv")
    with open(os.path.join(root, "configs", "data", "pumps.csv")) as source:
        lines = source.read().splitlines()[:151]  # header and 150 rows
    with open(csv, "w") as f:
        f.write("\n".join(lines) + "\n")
    job = JOB.format(csv=csv)
    with open(os.path.join(folder, "job.yaml"), "w") as f:
        f.write(job)
    with open(os.path.join(folder, "service.yaml"), "w") as f:
        f.write(SERVICE.format(folder=folder, quota=QUOTA))
    return job


def http(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def service_run(args, h, folder, job, run_index):
    log_path = os.path.join(folder, f"service_{run_index}.log")
    with open(log_path, "w") as log:
        process = h.subprocess.Popen([args.aimass, "run", os.path.join(folder, "service.yaml")],
                                     env=h.aimass_env(1, run_index + 1), cwd=folder, stdout=log,
                                     stderr=h.subprocess.STDOUT)
    try:
        base = h.wait_for_line(process, log_path, h.SERVING_LINE, "the W12 service").group(1)
        first = time.time()
        for _ in range(JOBS):
            http(base, "POST", "/api/v1/jobs", {"config": job, "queue": "w12", "threads": 1,
                                                "memory": "1GiB"})
        deadline = time.monotonic() + 1800
        while True:
            jobs = http(base, "GET", "/api/v1/jobs")["jobs"]
            if all(j["state"] in ("succeeded", "failed", "cancelled") for j in jobs):
                break
            if time.monotonic() > deadline:
                raise h.BenchError("W12: the jobs did not end within 30 minutes")
            time.sleep(0.2)
    finally:
        h.stop(process, "the W12 service")
    failed = sum(1 for j in jobs if j["state"] != "succeeded")
    intervals = [(j["started_unix_ms"], j["finished_unix_ms"]) for j in jobs
                 if j["started_unix_ms"] and j["finished_unix_ms"]]
    wall_s = max(end for _, end in intervals) / 1000.0 - first
    return figures_of(intervals, wall_s, failed)


def peer_run(args, h, folder, run_index):
    config = os.path.join(folder, "job.yaml")
    env = h.aimass_env(1, run_index + 1)

    def one(_):
        start = time.time()
        result = h.subprocess.run([args.aimass, "run", config], env=env, cwd=folder,
                                  capture_output=True)
        return (start * 1000.0, time.time() * 1000.0, result.returncode)

    begin = time.time()
    with concurrent.futures.ThreadPoolExecutor(QUOTA) as pool:
        done = list(pool.map(one, range(JOBS)))
    wall_s = time.time() - begin
    return figures_of([(s, e) for s, e, _ in done], wall_s, sum(1 for *_, c in done if c != 0))


def workload_w12(args, h):
    mine, theirs = [], []
    for run_index in range(args.runs):
        folder = tempfile.mkdtemp(prefix="aimass-w12-")
        try:
            job = write_inputs(folder, h.ROOT)
            figures = service_run(args, h, folder, job, run_index)
            if figures["failed"]:
                raise h.BenchError(f"W12: {figures['failed']} of {JOBS} jobs failed "
                                   f"(logs in {folder}/jobs)")
            if figures["max_running"] > QUOTA:
                raise h.BenchError(f"W12: {figures['max_running']} jobs ran at once, over the "
                                   f"quota of {QUOTA}")
            mine.append(figures)
            theirs.append(peer_run(args, h, folder, run_index))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    a, p = h.medians(mine), h.medians(theirs)
    return a, p, p["wall_s"] / a["wall_s"]
