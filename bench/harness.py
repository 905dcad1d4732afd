# SPDX-License-Identifier: Apache-2.0
"""Runs benchmark workloads, aimass and its peer side by side, and reports them (see
../shared/BENCHMARKS.md). bench/run.sh builds what is needed and calls this; run that instead.

For every workload: RUNS pairs (aimass, then the peer), the median of each figure (error counts:
their sum over the runs), and ratio = how many times aimass is ahead on the workload's main speed
figure, computed from the medians (peer time / aimass time, or aimass throughput / peer
throughput). Where the workload has quality targets (rows.TARGETS: accuracy, RMSE, loss, inertia,
best values), each is checked and a miss is named. Before every workload the machine's GEMM
ceiling (W0, bench/gemm) is measured. Prints one JSON line per workload and, unless
--no-record, appends a row to bench/RESULTS.md; recording is refused when the tree has changes
other than bench/RESULTS.md (rows.tree_changes). `--check-clean` only does that check.
"""
import argparse
import datetime
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from rows import (RESULTS_HEADER, BenchError, check_targets, medians, require_clean_tree,
                  results_row, targets_text, wrk_figures)

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
PEERS = os.path.join(BENCH, "peers")
PYTHON = "/usr/bin/python3"
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


def peer_env(threads, seed=0):
    """The Python peers' setup from BENCHMARKS.md: the OpenMP OpenBLAS with the SkylakeX kernels,
    `threads` threads everywhere."""
    env = dict(os.environ)
    env.update({
        "SEED": str(seed),
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "THREADS": str(threads),
        "OPENBLAS_CORETYPE": "SkylakeX",
        "LD_LIBRARY_PATH": OPENBLAS + (":" + env["LD_LIBRARY_PATH"]
                                       if env.get("LD_LIBRARY_PATH") else ""),
    })
    env.pop("W2_VALIDATION", None)  # only W2select asks peers/w2_sklearn.py for validation
    return env


def aimass_env(threads, seed=1):
    """aimass's threads and seed, read by bench/configs/*.yaml."""
    env = dict(os.environ)
    env.update({"AIMASS_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
                "AIMASS_SEED": str(seed)})
    return env


def run(command, env, what):
    """Runs `command`; returns (stdout, stderr, seconds). BenchError naming `what` on failure."""
    start = time.perf_counter()
    try:
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    except OSError as e:
        raise BenchError(f"{what} failed: cannot run {' '.join(command)}: {e}")
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"{what} failed (exit {done.returncode}): {' '.join(command)}\n"
                         f"{done.stderr[-3000:]}{done.stdout[-2000:]}")
    return done.stdout, done.stderr, seconds


def last_json_line(text, what):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise BenchError(f"{what} printed no JSON line:\n{text[-2000:]}")


def run_peer(script, threads, seed=0):
    out, _, _ = run([PYTHON, os.path.join(PEERS, script)], peer_env(threads, seed),
                    f"peer {script}")
    return last_json_line(out, f"peer {script}")


EPOCH_LINE = re.compile(r"epoch (\d+)/(\d+): .*?\bepoch_s=([0-9.eE+-]+)")


def find_accuracy(report):
    """The test accuracy in `aimass eval --json` output (an array of evaluation reports)."""
    if isinstance(report, dict):
        if "accuracy" in report and isinstance(report["accuracy"], (int, float)):
            return float(report["accuracy"])
        for value in report.values():
            found = find_accuracy(value)
            if found is not None:
                return found
    elif isinstance(report, list):
        for value in report:
            found = find_accuracy(value)
            if found is not None:
                return found
    return None


def run_aimass_training(aimass, config, threads, seed, extra_env=None):
    """`aimass eval --json CONFIG` (with `extra_env` added to aimass_env; a value None removes
    that variable): the per-epoch training times from its log lines and the test accuracy from
    its report."""
    env = aimass_env(threads, seed)
    for name, value in (extra_env or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    out, err, _ = run([aimass, "eval", "--json", config], env, f"aimass on {config}")
    epochs = {}
    for line in err.splitlines():
        match = EPOCH_LINE.search(line)
        if match:
            epochs[int(match.group(1))] = float(match.group(3))
    if not epochs:
        raise BenchError(f"aimass on {config} logged no 'epoch N/M: ... epoch_s=' line:\n"
                         f"{err[-2000:]}")
    accuracy = find_accuracy(json.loads(out))
    if accuracy is None:
        raise BenchError(f"aimass on {config} reported no accuracy:\n{out[-2000:]}")
    return [epochs[k] for k in sorted(epochs)], accuracy


def workload_w0(args):
    gemm = os.path.join(args.build, "bench", "gemm")
    mine, theirs = [], []
    for _ in range(args.runs):
        out, _, _ = run([gemm, str(args.threads)], aimass_env(args.threads), "bench/gemm")
        mine.append({"gflop_per_s": last_json_line(out, "bench/gemm")["gflop_per_s"]})
        theirs.append(run_peer("w0_matmul.py", args.threads))
    a, p = medians(mine), medians(theirs)
    return a, p, a["gflop_per_s"] / p["gflop_per_s"]


def workload_w1(args):
    config = os.path.join(BENCH, "configs", "w1_mlp.yaml")
    mine, theirs = [], []
    # Run k trains both sides with seed k: test accuracy moves by about +-0.005 with the seed,
    # so the median over seeds is the figure, not one lucky or unlucky draw.
    for run_index in range(args.runs):
        epochs, accuracy = run_aimass_training(args.aimass, config, args.threads, run_index + 1)
        if len(epochs) < 2:
            raise BenchError(f"{config}: W1 needs at least 2 epochs, got {len(epochs)}")
        # Epochs 2 onwards, as for the peer: the first builds primitives and warms caches.
        mine.append({"s_per_epoch": statistics.mean(epochs[1:]), "test_accuracy": accuracy})
        theirs.append(run_peer("w1_torch.py", args.threads, run_index + 1))
    a, p = medians(mine), medians(theirs)
    return a, p, p["s_per_epoch"] / a["s_per_epoch"]


# W2's recipe (epochs, Adam's learning rate; bench/configs/w2_softmax.yaml's defaults) is chosen
# by W2select on a validation split of the training images, never on the test images: every
# recipe of the grid trains on the first W2_FIT_ROWS training images and is scored on the other
# 10,000 (seeds 1..runs, median), scikit-learn's peer likewise (peers/w2_sklearn.py with
# W2_VALIDATION=1), and choose_w2_recipe() takes the cheapest recipe that reaches the peer's
# validation accuracy. W2 itself then runs the config as it is (no W2_* variable reaches it).
W2_CONFIG = os.path.join(BENCH, "configs", "w2_softmax.yaml")
W2_FIT_ROWS = 50000
W2_GRID_EPOCHS = (1, 2, 3, 4, 6, 8, 12)
W2_GRID_RATES = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064)
W2_VARIABLES = ("W2_EPOCHS", "W2_LEARNING_RATE", "W2_TRAIN_ROWS", "W2_EVAL_SET",
                "W2_EVAL_OFFSET", "W2_EVAL_ROWS")


def choose_w2_recipe(grid, peer_accuracy):
    """`grid`: [{"epochs", "learning_rate", "val_accuracy"}, ...]. The recipe with the fewest
    epochs (W2's time grows with them) whose val_accuracy is at least `peer_accuracy`, the most
    accurate of those (then the smaller rate); when none reaches it, the most accurate overall
    (then the fewest epochs). Returns (recipe, reached)."""
    if not grid:
        raise BenchError("W2select: no recipe to choose from")
    reaching = [r for r in grid if r["val_accuracy"] >= peer_accuracy]
    if reaching:
        return min(reaching, key=lambda r: (r["epochs"], -r["val_accuracy"],
                                            r["learning_rate"])), True
    return min(grid, key=lambda r: (-r["val_accuracy"], r["epochs"], r["learning_rate"])), False


def workload_w2select(args):
    peer_env_ = peer_env(args.threads)
    peer_env_["W2_VALIDATION"] = "1"
    out, _, _ = run([PYTHON, os.path.join(PEERS, "w2_sklearn.py")], peer_env_,
                    "peer w2_sklearn.py (W2_VALIDATION=1)")
    peer = last_json_line(out, "peer w2_sklearn.py")
    validation = {"W2_TRAIN_ROWS": str(W2_FIT_ROWS), "W2_EVAL_SET": "train",
                  "W2_EVAL_OFFSET": str(W2_FIT_ROWS), "W2_EVAL_ROWS": "0"}
    grid = []
    for epochs in W2_GRID_EPOCHS:
        for rate in W2_GRID_RATES:
            samples = []
            for run_index in range(args.runs):
                times, accuracy = run_aimass_training(
                    args.aimass, W2_CONFIG, args.threads, run_index + 1,
                    dict(validation, W2_EPOCHS=str(epochs), W2_LEARNING_RATE=str(rate)))
                samples.append({"seconds": sum(times), "val_accuracy": accuracy})
            grid.append({"epochs": epochs, "learning_rate": rate, **medians(samples)})
            print(f"harness: W2select: {json.dumps(grid[-1])}", file=sys.stderr, flush=True)
    chosen, reached = choose_w2_recipe(grid, peer["val_accuracy"])
    mine = {"chosen_epochs": chosen["epochs"], "chosen_learning_rate": chosen["learning_rate"],
            "val_accuracy": chosen["val_accuracy"], "reached_peer": reached, "grid": grid}
    return mine, peer, peer["seconds"] / chosen["seconds"]


def workload_w2(args):
    config = W2_CONFIG
    mine, theirs = [], []
    for run_index in range(args.runs):
        # The config's own recipe: no W2_* variable of the caller's reaches it.
        epochs, accuracy = run_aimass_training(args.aimass, config, args.threads, run_index + 1,
                                               dict.fromkeys(W2_VARIABLES))
        # Every epoch counts: W2 is the time to reach the accuracy.
        mine.append({"seconds": sum(epochs), "test_accuracy": accuracy})
        theirs.append(run_peer("w2_sklearn.py", args.threads))
    a, p = medians(mine), medians(theirs)
    return a, p, p["seconds"] / a["seconds"]


def workload_w4(args):
    # bench/w4 (w4/w4.cc): model.mf's defaults (Adam, one thread) on ratings_train.csv, RMSE on
    # ratings_test.csv, and top-10 latency over a 10,000-item catalogue; the peer is PyTorch's
    # biased MF with the same rank, optimizer, batch and epochs.
    w4 = os.path.join(args.build, "bench", "w4")
    mine, theirs = [], []
    for run_index in range(args.runs):
        out, _, _ = run([w4, "--seed", str(run_index + 1)],
                        aimass_env(args.threads, run_index + 1), "bench/w4")
        mine.append(last_json_line(out, "bench/w4"))
        theirs.append(run_peer("w4_torch.py", args.threads, run_index + 1))
    a, p = medians(mine), medians(theirs)
    return a, p, p["s_per_epoch"] / a["s_per_epoch"]


def workload_w5(args):
    # bench/w5 (w5/w5.cc): model.rnn (GRU, byte vocabulary, embedding 64, hidden 256) with
    # optimizer.adam lr 2e-3, 200 steps of 32 contiguous streams x 64 bytes of
    # /usr/share/common-licenses, state carried; the peer is PyTorch's nn.GRU on the same layout.
    w5 = os.path.join(args.build, "bench", "w5")
    mine, theirs = [], []
    for run_index in range(args.runs):
        out, _, _ = run([w5, "--threads", str(args.threads), "--seed", str(run_index + 1)],
                        aimass_env(args.threads, run_index + 1), "bench/w5")
        mine.append(last_json_line(out, "bench/w5"))
        theirs.append(run_peer("w5_torch.py", args.threads, run_index + 1))
    a, p = medians(mine), medians(theirs)
    return a, p, a["chars_per_s"] / p["chars_per_s"]


def workload_w9(args):
    config = os.path.join(ROOT, "configs", "quickstart.yaml")
    mine, theirs = [], []
    # Start-up times are short and noisy: five pairs per run.
    for _ in range(5 * args.runs):
        _, _, seconds = run([args.aimass, "validate", config], aimass_env(args.threads),
                            "aimass validate")
        mine.append({"seconds": seconds})
        _, _, seconds = run([PYTHON, "-c", "import torch"], peer_env(args.threads),
                            "python3 -c 'import torch'")
        theirs.append({"seconds": seconds})
    a, p = medians(mine), medians(theirs)
    return a, p, p["seconds"] / a["seconds"]


# W7: search quality and overhead. bench/w7 (w7.cc) runs each search optimizer plugin through
# the tuner's Study (in memory, and in storage.sqlite) and bench/w7/peer.py Optuna's samplers, on
# Branin and Hartmann6, 50 trials, seeds 0-4. The best values are deterministic; the overheads
# are medians over the runs. aimass's main figures are its best search's: the one with the
# smallest regret over both functions, each scaled by random search's regret (BENCHMARKS.md's
# random figures), so one search must be good at both.
W7_TYPES = ["optimizer.tpe", "optimizer.cmaes", "optimizer.genetic", "optimizer.rl",
            "optimizer.random"]
W7_RANDOM = {"branin_best_value": 1.399, "hartmann6_best_value": -1.605}
W7_MINIMA = {"branin_best_value": 0.397887, "hartmann6_best_value": -3.32237}


def w7_regret(figures):
    return sum((figures[k] - W7_MINIMA[k]) / (W7_RANDOM[k] - W7_MINIMA[k]) for k in W7_MINIMA)


def workload_w7(args):
    plugins = os.path.join(args.build, "lib", "aimass", "plugins")
    types = [t for t in W7_TYPES
             if os.path.exists(os.path.join(plugins, f"libaimass_optimizer_{t.split('.')[1]}.so"))]
    if not types:
        raise BenchError(f"no search optimizer plugin in {plugins}")
    mine_runs, peer_runs = [], []
    for _ in range(args.runs):
        out, _, _ = run([os.path.join(args.build, "bench", "w7"), *types], aimass_env(1),
                        "bench/w7")
        mine_runs.append(last_json_line(out, "bench/w7"))
        out, _, _ = run([PYTHON, os.path.join(BENCH, "w7", "peer.py")], peer_env(1),
                        "bench/w7/peer.py")
        peer_runs.append(last_json_line(out, "bench/w7/peer.py"))
    mine = {}
    per_type = {t: medians([r[t] for r in mine_runs]) for t in types}
    best = min(types, key=lambda t: w7_regret(per_type[t]))
    mine.update(per_type[best])
    for t in types:
        short = t.split(".")[1]
        for key, value in per_type[t].items():
            mine[f"{short}_{key}"] = value
    peers = {name: medians([r[name] for r in peer_runs]) for name in peer_runs[0]}
    tpe_ms = peers["tpe"]["ms_per_trial"]
    return mine, peers, {"overhead": tpe_ms / mine["ms_per_trial"],
                         "overhead_sqlite": tpe_ms / mine["ms_per_trial_sqlite"]}


# W3: k-means on Fashion-MNIST train, k = 10 from the shared starting centres, exactly 50 Lloyd
# iterations, 2 threads. bench/w3 (w3.cc) runs model.kmeans' engine with its default algorithm
# (bounded, with Lloyd's assignments) and bench/peers/w3_sklearn.py scikit-learn's KMeans(lloyd).
# Both time the iterations, not reading the images. ratio: peer s_per_iter / aimass s_per_iter.
W3_CENTERS = os.path.join(ROOT, "..", "shared", "data", "kmeans_init_centers_seed0.csv")


def workload_w3(args):
    mine, theirs = [], []
    for _ in range(args.runs):
        out, _, _ = run([os.path.join(args.build, "bench", "w3"), "--threads", str(args.threads),
                         "--centers", W3_CENTERS], aimass_env(args.threads), "bench/w3")
        figures = last_json_line(out, "bench/w3")
        mine.append({"s_per_iter": figures["s_per_iter"], "inertia": figures["inertia"]})
        peer = run_peer("w3_sklearn.py", args.threads)
        theirs.append({"s_per_iter": peer["s_per_iter"], "inertia": peer["inertia"]})
    a, p = medians(mine), medians(theirs)
    return a, p, p["s_per_iter"] / a["s_per_iter"]


# W6: serving. Every server gets the same wrk load (bench/wrk/w6_request.lua: one POST body,
# 64 connections on 2 wrk threads, answers slower than 10 s count as errors) and reports
# req_per_s, p50_ms and p99_ms. Any error of aimass's (a refused or reset connection, a
# timeout, an answer other than 2xx) fails the workload; a peer's are reported as its `errors`,
# summed over the runs (medians()), and its req_per_s counts only its 2xx answers (wrk_figures()).
WRK_SCRIPT = os.path.join(BENCH, "wrk", "w6_request.lua")
SERVING_LINE = re.compile(r"serving the Open Inference Protocol v2 on (http://[0-9.]+:[0-9]+)")
# nginx's fixed answer: an OIP v2 response of exactly 212 bytes (BENCHMARKS.md).
NGINX_BODY = ('{"model_name":"fashion","model_version":"1","outputs":[{"name":"class",'
              '"datatype":"BYTES","shape":[1],"data":["9"]},{"name":"probabilities",'
              '"datatype":"FP32","shape":[1,10],"data":[0,0,0,0,0,0,0,0,0.022,0.978]}]}')
NGINX_CONF = """worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 100000000;
  server {{
    listen 127.0.0.1:{port};
    tcp_nodelay on;
    location / {{
      default_type application/json;{auth}
      return 200 '{body}';
    }}
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_line(process, log_path, pattern, what, timeout_s=600):
    """Waits until `log_path` has a line matching `pattern`; returns the match."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with open(log_path, errors="replace") as f:
            match = pattern.search(f.read())
        if match:
            return match
        if process.poll() is not None:
            with open(log_path, errors="replace") as f:
                raise BenchError(f"{what} exited ({process.returncode}) before serving:\n"
                                 f"{f.read()[-3000:]}")
        time.sleep(0.1)
    raise BenchError(f"{what} did not start serving within {timeout_s} s (log: {log_path})")


def stop(process, what):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise BenchError(f"{what} did not stop within 30 s of SIGTERM")


def http_json(url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET",
                                     headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def w6_bodies(folder, input_name):
    """The two request bodies for one test image: OIP v2 JSON, and a JSON header plus the 784
    FP32 values as binary tensor data. Returns [(form, path, content_type, header_length)]."""
    sys.path.insert(0, PEERS)
    import fashion_mnist  # noqa: E402 (numpy comes with the peers)
    image = fashion_mnist.load("t10k")[0][0]
    tensor = {"name": input_name, "datatype": "FP32", "shape": [1, 784]}
    json_body = json.dumps({"inputs": [dict(tensor, data=[float(v) for v in image])]})
    header = json.dumps({"inputs": [dict(tensor, parameters={"binary_data_size": 4 * 784})]})
    binary_body = header.encode() + image.astype("<f4").tobytes()
    forms = []
    for form, body, content_type, header_length in (
            ("json", json_body.encode(), "application/json", None),
            ("binary", binary_body, "application/octet-stream", len(header.encode()))):
        path = os.path.join(folder, f"w6_{form}.body")
        with open(path, "wb") as f:
            f.write(body)
        forms.append((form, path, content_type, header_length))
    return forms


def wrk(url, body_path, content_type, header_length, what, strict=True):
    seconds = os.environ.get("W6_SECONDS", "10")
    command = ["wrk", "-t2", "-c64", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s",
               WRK_SCRIPT, url, "--", body_path, content_type]
    if header_length is not None:
        command.append(str(header_length))
    out, _, _ = run(command, dict(os.environ), f"wrk against {what}")
    figures = wrk_figures(last_json_line(out, f"wrk against {what}"), f"wrk against {what}")
    if (strict and figures["errors"] != 0) or figures["requests"] == 0:
        raise BenchError(f"wrk against {what}: {figures['errors']} errors in "
                         f"{figures['requests']} requests:\n{out[-2000:]}")
    keys = ("req_per_s", "p50_ms", "p99_ms") if strict else ("req_per_s", "p50_ms", "p99_ms",
                                                              "errors")
    return {key: figures[key] for key in keys}


def prefixed(prefix, figures):
    return {f"{prefix}_{key}": value for key, value in figures.items()}


def start_aimass(args, config_name, folder, run_index, extra_env=None, line=SERVING_LINE):
    """`aimass run bench/configs/CONFIG_NAME` on a free port; returns (process, the first group
    of `line`: the base URL by default) once it serves. The caller stops the process, also when
    this raises."""
    config = os.path.join(BENCH, "configs", config_name)
    log_path = os.path.join(folder, f"aimass_{run_index}.log")
    env = aimass_env(args.threads, run_index + 1)
    env["AIMASS_HTTP_PORT"] = "0"
    env.update(extra_env or {})
    with open(log_path, "w") as log:
        process = subprocess.Popen([args.aimass, "run", config], env=env, cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        return process, wait_for_line(process, log_path, line,
                                      f"aimass run {config_name}").group(1)
    except BaseException:
        stop(process, f"aimass run {config_name}")
        raise


def w6_aimass(args, folder, run_index):
    """aimass serving the W1 model (bench/configs/w6_serve.yaml): JSON and binary figures."""
    process, base = start_aimass(args, "w6_serve.yaml", folder, run_index)
    try:
        metadata = http_json(base + "/v2/models/fashion")
        figures = {}
        for form, path, content_type, header_length in w6_bodies(folder,
                                                                  metadata["inputs"][0]["name"]):
            figures.update(prefixed(form, wrk(base + "/v2/models/fashion/infer", path,
                                              content_type, header_length, f"aimass ({form})")))
        return figures
    finally:
        stop(process, "aimass run w6_serve.yaml")


# W6 over gRPC: frontend.grpc alone (bench/configs/w6_serve_grpc.yaml) driven by bench/grpc_load,
# the C++ client's asynchronous infer with 64 calls in flight for W6_SECONDS, the W6 request as
# raw tensor contents. Reported beside the HTTP figures as grpc_req_per_s, grpc_p50_ms and
# grpc_p99_ms; any error fails the workload, as for HTTP.
GRPC_SERVING_LINE = re.compile(r"serving grpc://([0-9.]+:[0-9]+)")


def w6_grpc(args, folder, run_index):
    load = os.path.join(args.build, "bench", "grpc_load")
    if not os.access(load, os.X_OK):
        raise BenchError(f"{load} is missing: it is built when CMake finds gRPC")
    process, target = start_aimass(args, "w6_serve_grpc.yaml", folder, run_index,
                                   line=GRPC_SERVING_LINE)
    try:
        out, _, _ = run([load, "--target", target, "--seconds", os.environ.get("W6_SECONDS", "10"),
                         "--in-flight", "64"], dict(os.environ), "bench/grpc_load")
        figures = last_json_line(out, "bench/grpc_load")
        if figures["errors"]:
            raise BenchError(f"bench/grpc_load: {figures['errors']} calls failed")
        return prefixed("grpc", {k: figures[k] for k in ("req_per_s", "p50_ms", "p99_ms")})
    finally:
        stop(process, "aimass run w6_serve_grpc.yaml")


# W6's per-request client overhead: each client (clients/*) encodes the W6 request and decodes
# a fixed binary answer with no network (bench/clients/), averaged over 20,000 of each after a
# warm-up; reported as client_<c|cpp|python|typescript>_<encode|decode>_us.
def build_typescript_client():
    """bench/clients/ts_overhead.mjs imports the built package (clients/typescript/dist)."""
    run(["npm", "--prefix", os.path.join(ROOT, "clients", "typescript"), "run", "--silent",
         "build"], dict(os.environ), "building the TypeScript client")


def w6_client_overheads(args):
    commands = {
        "c": [os.path.join(args.build, "bench", "c_overhead")],
        "cpp": [os.path.join(args.build, "bench", "cpp_overhead")],
        "python": [PYTHON, os.path.join(BENCH, "clients", "python_overhead.py")],
        "typescript": ["node", os.path.join(BENCH, "clients", "ts_overhead.mjs")],
    }
    figures = {}
    for client, command in commands.items():
        out, _, _ = run(command, dict(os.environ), f"the {client} client's overhead")
        line = last_json_line(out, f"the {client} client's overhead")
        figures[f"client_{client}_encode_us"] = line["encode_us"]
        figures[f"client_{client}_decode_us"] = line["decode_us"]
    return figures


def start_nginx(args, folder, auth=""):
    """nginx-light answering every request with the fixed 212-byte JSON (`auth`: nginx lines
    put before that answer in its location); returns (process, port) once it accepts
    connections. The caller stops the process, also when this raises."""
    port = free_port()
    conf = os.path.join(folder, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(workers=args.threads, dir=folder, port=port, body=NGINX_BODY,
                                  auth=auth))
    log_path = os.path.join(folder, "nginx.log")
    with open(log_path, "w") as log:
        process = subprocess.Popen(["/usr/sbin/nginx", "-p", folder, "-e", f"{folder}/error.log",
                                    "-c", conf, "-g", "daemon off;"], stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    with open(log_path, errors="replace") as f:
                        raise BenchError(f"nginx did not start on port {port}:\n{f.read()}")
                time.sleep(0.05)
        return process, port
    except BaseException:
        stop(process, "nginx")
        raise


def w6_nginx(args, folder, body_path):
    """nginx-light answering every request with the fixed 212-byte JSON."""
    process, port = start_nginx(args, folder)
    try:
        # The same JSON request as aimass gets; nginx reads and discards the body.
        return wrk(f"http://127.0.0.1:{port}/v2/models/fashion/infer", body_path,
                   "application/json", None, "nginx", strict=False)
    finally:
        stop(process, "nginx")


def w6_python(args, folder, forms, run_index):
    """peers/w6_torch_server.py: ThreadingHTTPServer + PyTorch, JSON and binary figures."""
    log_path = os.path.join(folder, f"python_{run_index}.log")
    with open(log_path, "w") as log:
        process = subprocess.Popen([PYTHON, os.path.join(PEERS, "w6_torch_server.py")],
                                   env=peer_env(args.threads, run_index + 1), cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        port = wait_for_line(process, log_path, re.compile(r"listening (\d+)"),
                             "peers/w6_torch_server.py").group(1)
        figures = {}
        for form, path, content_type, header_length in forms:
            figures.update(prefixed(form, wrk(f"http://127.0.0.1:{port}/v2/models/fashion/infer",
                                              path, content_type, header_length,
                                              f"the Python server ({form})", strict=False)))
        return figures
    finally:
        stop(process, "peers/w6_torch_server.py")


def workload_w6(args):
    if len(NGINX_BODY) != 212:
        raise BenchError(f"the nginx answer is {len(NGINX_BODY)} bytes, not 212")
    mine, nginx, python = [], [], []
    build_typescript_client()
    with tempfile.TemporaryDirectory(prefix="aimass-w6-") as folder:
        for run_index in range(args.runs):
            figures = w6_aimass(args, folder, run_index)
            figures.update(w6_grpc(args, folder, run_index))
            figures.update(w6_client_overheads(args))
            mine.append(figures)
            forms = w6_bodies(folder, "input")
            nginx.append(w6_nginx(args, folder, forms[0][1]))
            python.append(w6_python(args, folder, forms, run_index))
    a = medians(mine)
    peers = {"nginx": medians(nginx), "python": medians(python)}
    # One ratio per peer and request form: aimass req/s over the peer's. nginx gets the JSON
    # request in both; its answer does not depend on the body.
    ratio = {"nginx_json": a["json_req_per_s"] / peers["nginx"]["req_per_s"],
             "nginx_binary": a["binary_req_per_s"] / peers["nginx"]["req_per_s"],
             "python_json": a["json_req_per_s"] / peers["python"]["json_req_per_s"],
             "python_binary": a["binary_req_per_s"] / peers["python"]["binary_req_per_s"]}
    return a, peers, ratio


def workload_w10(args):
    """W10, serving under attack: bench/w10.py, which uses this module's helpers."""
    import w10  # noqa: E402 (imported when W10 runs, beside this file)
    return w10.workload_w10(args, sys.modules[__name__])


def workload_registry(args):
    """registry: bench/registry_tracking.py, which uses this module's helpers."""
    import registry_tracking  # noqa: E402 (imported when it runs, beside this file)
    return registry_tracking.workload_registry(args, sys.modules[__name__])


def workload_tracking(args):
    """tracking: bench/registry_tracking.py, which uses this module's helpers."""
    import registry_tracking  # noqa: E402 (imported when it runs, beside this file)
    return registry_tracking.workload_tracking(args, sys.modules[__name__])


# W11: tuning end to end. Both sides run the whole study as one process each, timed from the
# outside (wall_s: start-up, reading the data, the study and the test score included): aimass
# `aimass eval --json configs/tune_mlp.yaml` (job.tune then job.evaluate, no frontend) with a
# fresh store, Optuna's TPE with each of its two pruners (bench/w11/peer.py). Run k uses seed k
# on both sides (the tuner's seed; Optuna's sampler seed).
W11_BEST = re.compile(r"best trial \d+ \(val_accuracy ([0-9.eE+-]+)\)")
W11_SUMMARY = re.compile(r"(\d+) trials: (\d+) complete, (\d+) pruned, (\d+) failed")
W11_PRUNERS = ("median", "successive_halving")


def w11_aimass(args, seed):
    config = os.path.join(ROOT, "configs", "tune_mlp.yaml")
    with tempfile.TemporaryDirectory(prefix="aimass-w11-") as store:
        env = aimass_env(args.threads, seed)
        env.update({"AIMASS_STORE": store, "AIMASS_TUNE_SEED": str(seed)})
        out, err, seconds = run([args.aimass, "eval", "--json", config], env,
                                "aimass on configs/tune_mlp.yaml")
    best = W11_BEST.search(err)
    summary = W11_SUMMARY.findall(err)
    accuracy = find_accuracy(json.loads(out))
    if best is None or not summary or accuracy is None:
        raise BenchError(f"aimass on {config} logged no best trial, study summary or test "
                         f"accuracy:\n{err[-3000:]}")
    _, complete, pruned, failed = summary[-1]
    return {"wall_s": seconds, "best_val_accuracy": float(best.group(1)),
            "test_accuracy": accuracy, "complete": int(complete), "pruned": int(pruned),
            "failed": int(failed)}


def w11_peer(pruner, seed):
    # 2 threads in all: two trials at once (n_jobs=2), each with torch.set_num_threads(1).
    command = [PYTHON, os.path.join(BENCH, "w11", "peer.py"), "--pruner", pruner,
               "--jobs", "2", "--threads", "1"]
    out, _, seconds = run(command, peer_env(1, seed), f"peer w11/peer.py --pruner {pruner}")
    figures = last_json_line(out, "peer w11/peer.py")
    return {"wall_s": seconds, "best_val_accuracy": figures["best_val_accuracy"],
            "test_accuracy": figures["test_accuracy"], "complete": figures["complete"],
            "pruned": figures["pruned"]}


def workload_w11(args):
    mine, theirs = [], {pruner: [] for pruner in W11_PRUNERS}
    for run_index in range(args.runs):
        mine.append(w11_aimass(args, run_index))
        for pruner in W11_PRUNERS:
            theirs[pruner].append(w11_peer(pruner, run_index))
    a = medians(mine)
    p = {pruner: medians(samples) for pruner, samples in theirs.items()}
    return a, p, {pruner: p[pruner]["wall_s"] / a["wall_s"] for pruner in W11_PRUNERS}


def workload_w8(args):
    """W8, data-parallel training: bench/w8.py, which uses this module's helpers."""
    import w8  # noqa: E402 (imported when W8 runs, beside this file)
    return w8.workload_w8(args, sys.modules[__name__])


def workload_w12(args):
    """W12, the job service: bench/w12.py, which uses this module's helpers."""
    import w12  # noqa: E402 (imported when W12 runs, beside this file)
    return w12.workload_w12(args, sys.modules[__name__])


def workload_w1bf16(args):
    """W1bf16, W1 in bf16 mixed precision: bench/w1bf16.py, which uses this module's helpers."""
    import w1bf16  # noqa: E402 (imported when W1bf16 runs, beside this file)
    return w1bf16.workload_w1bf16(args, sys.modules[__name__])


def workload_w6bf16(args):
    """W6bf16, W6 with the model served in bf16: bench/w6bf16.py, on this module's helpers."""
    import w6bf16  # noqa: E402 (imported when W6bf16 runs, beside this file)
    return w6bf16.workload_w6bf16(args, sys.modules[__name__])


def workload_w13(args):
    """W13, monitoring on against off, drift detection and the batch report: bench/w13.py, on
    this module's helpers."""
    import w13  # noqa: E402 (imported when W13 runs, beside this file)
    return w13.workload_w13(args, sys.modules[__name__])


def workload_w14(args):
    """W14, active learning: uncertainty sampling against a random order (bench/w14.py, on this
    module's helpers)."""
    import w14  # noqa: E402 (imported when W14 runs, beside this file)
    return w14.workload_w14(args, sys.modules[__name__])


def workload_w14select(args):
    """W14select: every selection strategy on a validation split, to choose W14's (never
    recorded; bench/w14.py)."""
    import w14  # noqa: E402 (imported when W14select runs, beside this file)
    return w14.workload_w14select(args, sys.modules[__name__])


WORKLOADS = {"W0": workload_w0, "W1": workload_w1, "W1bf16": workload_w1bf16,
             "W2": workload_w2, "W3": workload_w3, "W4": workload_w4, "W5": workload_w5,
             "W6": workload_w6, "W6bf16": workload_w6bf16, "W7": workload_w7, "W8": workload_w8,
             "W9": workload_w9,
             "W10": workload_w10, "W11": workload_w11, "W12": workload_w12, "W13": workload_w13,
             "W14": workload_w14, "W2select": workload_w2select, "W14select": workload_w14select,
             "registry": workload_registry,
             "tracking": workload_tracking}
# Workloads that print their JSON line but never become a row (W2select chooses W2's recipe,
# W14select W14's strategy).
NOT_RECORDED = {"W2select", "W14select"}

def gemm_ceiling(args):
    """The machine's GEMM ceiling now (W0's aimass figure: bench/gemm, oneDNN's sgemm at n =
    2048, best of 10), in GFLOP/s; None when bench/gemm was not built."""
    gemm = os.path.join(args.build, "bench", "gemm")
    if not os.access(gemm, os.X_OK):
        return None
    out, _, _ = run([gemm, str(args.threads)], aimass_env(args.threads), "bench/gemm")
    return last_json_line(out, "bench/gemm")["gflop_per_s"]


def commit():
    """The commit measured (short hash)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(workload, runs, mine, theirs, ratio, gflop_per_s, checks):
    require_clean_tree(ROOT)
    path = os.path.join(BENCH, "RESULTS.md")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(RESULTS_HEADER)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    with open(path, "a") as f:
        f.write(results_row(date, commit(), workload, runs, mine, theirs, ratio, gflop_per_s,
                            checks))


def run_workload(args, workload):
    """Runs one workload with the GEMM ceiling measured first and its targets checked; prints
    its JSON line and records its row unless --no-record or NOT_RECORDED."""
    gflop_per_s = gemm_ceiling(args)
    if gflop_per_s is None and not args.no_record:
        raise BenchError(f"{args.build}/bench/gemm is missing: every recorded row carries the "
                         "GEMM ceiling (build with -DAIMASS_BUILD_BENCH=ON)")
    mine, theirs, ratio = WORKLOADS[workload](args)
    checks = check_targets(workload, mine, theirs)
    rounded = ({k: round(v, 2) for k, v in ratio.items()} if isinstance(ratio, dict)
               else round(ratio, 2))
    line = {"workload": workload, "aimass": mine, "peer": theirs, "ratio": rounded,
            "w0_gflop_per_s": gflop_per_s}
    if checks:
        line["targets_met"] = all(c["met"] for c in checks)
        line["targets"] = checks
    print(json.dumps(line), flush=True)
    if checks and not line["targets_met"]:
        print(f"harness: {workload}: target missed: {targets_text(checks)}", file=sys.stderr)
    if not args.no_record and workload not in NOT_RECORDED:
        record(workload, args.runs, mine, theirs, ratio, gflop_per_s, checks)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", help="the build folder bench/run.sh made")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--check-clean", action="store_true",
                        help="only check that the tree may be recorded from; exit 2 if not")
    parser.add_argument("workloads", nargs="*")
    args = parser.parse_args()
    if args.check_clean:
        try:
            require_clean_tree(ROOT)
        except BenchError as e:
            print(f"harness: {e}", file=sys.stderr)
            sys.exit(2)
        return
    if not args.build or not args.workloads:
        parser.error("--build and at least one workload are needed")
    args.aimass = os.path.join(args.build, "bin", "aimass")
    if args.runs < 1 or args.threads < 1:
        sys.exit("harness: --runs and --threads must be at least 1")
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        sys.exit(f"harness: unknown workload {', '.join(unknown)}; implemented: "
                 f"{', '.join(WORKLOADS)}")
    if not args.no_record:
        try:
            require_clean_tree(ROOT)
        except BenchError as e:
            print(f"harness: {e}", file=sys.stderr)
            sys.exit(2)
    failed = False
    for workload in args.workloads:
        try:
            run_workload(args, workload)
        except BenchError as e:
            print(f"harness: {workload}: {e}", file=sys.stderr)
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
