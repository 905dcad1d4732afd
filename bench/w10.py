# SPDX-License-Identifier: Apache-2.0
"""W10: serving under attack. The W6 JSON request with an API key (bench/configs/w10_serve.yaml:
auth on, a fresh key per run) from `wrk -t1 -c32 -d10s`, first alone, then while bench/attack.cc
runs its attack mix on the same machine; the same for nginx-light (the W6 setup, which here
also answers 401 unless the request carries the same key). Per server and run:
- req_per_s, p99_ms: the unattacked 10 s; attacked_req_per_s, attacked_p50_ms, attacked_p99_ms:
  the attacked 10 s; kept_share: attacked over unattacked req/s of that run.
- errors: the legitimate client's errors under attack (wrk: connect, read, write, timeout and
  non-2xx answers); unattacked_errors the same without the attack.
- rss_before_mib (after the unattacked run), rss_peak_mib (sampled every 50 ms during the
  attack), rss_after_mib (at its end, the attack's connections still open), rss_growth_mib
  (the larger of peak and after, less before); nginx's are its master's and workers' summed.
- exit_s, exit_code: from SIGTERM, sent at the end of the attack with the attack's connections
  still open, to the server's exit (W10_STOP_WAIT_S and -9 when it had to be killed).
A server that stalls or dies gives figures, not a hang: wrk stops itself after 10 s and is
killed 30 s later, a wrk run without figures counts as no answers (req_per_s 0, latencies of
wrk's 10 s timeout), and every process started here is stopped or killed on the way out.
ratio: aimass's kept_share over nginx's (medians of the runs). The attacker's own JSON (what
each attack kind got from the server) is printed on stderr for every run.
"""

import hashlib
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

W10_PATH = "/v2/models/fashion/infer"
W10_GRACE_S = 0.25  # the attacker connects this long before wrk starts, and stops as long after
W10_STOP_WAIT_S = 40  # longer than frontend.http's request_timeout_ms (30 s)
W10_WRK_TIMEOUT_MS = 10000.0  # wrk's --timeout: the latency of an answer that never came
W10_NGINX_AUTH = """
      if ($http_authorization != "Bearer {key}") {{
        return 401 '{{"error":"credentials required"}}';
      }}"""


def process_tree(pid):
    """`pid` and its children (nginx: the master and its workers)."""
    pids = [pid]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return pids


def rss_mib(pids):
    """The summed resident memory of `pids` (VmRSS; 0 for those gone)."""
    total_kib = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


class RssPeak(threading.Thread):
    """Samples rss_mib(pids) every 50 ms until stopped; `peak` is the largest sample."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.peak, self.done = pids, rss_mib(pids), threading.Event()

    def run(self):
        while not self.done.wait(0.05):
            self.peak = max(self.peak, rss_mib(self.pids))

    def stop(self):
        self.done.set()
        self.join()
        return max(self.peak, rss_mib(self.pids))


def w10_wrk(h, url, body_path, key, seconds, what):
    """The legitimate client: W6's JSON request with the key, wrk -t1 -c32. Never raises: a run
    without figures is reported on stderr and counted as no answers."""
    command = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--timeout", "10s", "--latency", "-H",
               f"Authorization: Bearer {key}", "-s", h.WRK_SCRIPT, url, "--", body_path,
               "application/json"]
    try:
        done = subprocess.run(command, cwd=h.ROOT, capture_output=True, text=True,
                              timeout=seconds + 30)
        figures = h.wrk_figures(h.last_json_line(done.stdout, f"wrk against {what}"),
                              f"wrk against {what}")
    except subprocess.TimeoutExpired:
        print(f"harness: W10: wrk against {what} did not end within {seconds + 30} s; "
              "counted as no answers", file=sys.stderr)
        figures = {"requests": 0, "req_per_s": 0.0, "errors": 1}
    except h.BenchError as e:
        print(f"harness: W10: {e}; counted as no answers", file=sys.stderr)
        figures = {"requests": 0, "req_per_s": 0.0, "errors": 1}
    if figures["requests"] == 0:
        figures["p50_ms"] = figures["p99_ms"] = W10_WRK_TIMEOUT_MS
    return {key_: figures[key_] for key_ in ("req_per_s", "p50_ms", "p99_ms", "errors")}


def stop_timed(process):
    """SIGTERM; returns (seconds to exit, exit code), killing it after W10_STOP_WAIT_S."""
    start = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=W10_STOP_WAIT_S)
        return time.perf_counter() - start, code
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return float(W10_STOP_WAIT_S), -9


def w10_measure(args, h, process, port, key, key_file, body_path, what):
    """The unattacked and the attacked run against a serving `process`, then its stop."""
    seconds = int(os.environ.get("W10_SECONDS", "10"))
    url = f"http://127.0.0.1:{port}{W10_PATH}"
    pids = process_tree(process.pid)
    quiet = w10_wrk(h, url, body_path, key, seconds, what)
    rss_before = rss_mib(pids)
    attack_log = os.path.join(os.path.dirname(key_file), "attack.log")
    with open(attack_log, "a") as log:
        attacker = subprocess.Popen(
            [os.path.join(args.build, "bench", "attack"), "--port", str(port), "--seconds",
             str(seconds + 2 * W10_GRACE_S), "--linger", str(W10_STOP_WAIT_S + 30), "--path",
             W10_PATH, "--body", body_path, "--api-key-file", key_file],
            cwd=h.ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        sampler = RssPeak(pids)
        sampler.start()
        time.sleep(W10_GRACE_S)
        attacked = w10_wrk(h, url, body_path, key, seconds, what + " under attack")
        report, deadline = None, time.monotonic() + 3 * W10_GRACE_S + 15
        while report is None and time.monotonic() < deadline:
            ready, _, _ = select.select([attacker.stdout], [], [], 0.5)
            if ready:
                line = attacker.stdout.readline()
                if not line:
                    break
                if line.startswith("{"):
                    report = json.loads(line)
        rss_peak = sampler.stop()
        rss_after = rss_mib(pids)
        exit_s, exit_code = stop_timed(process)
    finally:
        if attacker.poll() is None:
            attacker.terminate()
            try:
                attacker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                attacker.kill()
                attacker.wait()
    if report is None:
        with open(attack_log, errors="replace") as f:
            raise h.BenchError(f"bench/attack against {what} printed no report (exit "
                             f"{attacker.returncode}):\n{f.read()[-2000:]}")
    print(f"harness: W10: attack on {what}: {json.dumps(report)}", file=sys.stderr)
    return {
        "req_per_s": quiet["req_per_s"], "p99_ms": quiet["p99_ms"],
        "attacked_req_per_s": attacked["req_per_s"], "attacked_p50_ms": attacked["p50_ms"],
        "attacked_p99_ms": attacked["p99_ms"],
        "kept_share": attacked["req_per_s"] / quiet["req_per_s"] if quiet["req_per_s"] else 0.0,
        "errors": attacked["errors"], "unattacked_errors": quiet["errors"],
        "rss_before_mib": rss_before, "rss_peak_mib": rss_peak, "rss_after_mib": rss_after,
        "rss_growth_mib": max(rss_peak, rss_after) - rss_before,
        "exit_s": exit_s, "exit_code": exit_code,
    }


def workload_w10(args, h):
    """`h` is the harness module (its serving helpers)."""
    if not os.access(os.path.join(args.build, "bench", "attack"), os.X_OK):
        raise h.BenchError(f"{args.build}/bench/attack is missing: build with "
                         "-DAIMASS_BUILD_BENCH=ON")
    mine, theirs = [], []
    with tempfile.TemporaryDirectory(prefix="aimass-w10-") as folder:
        for run_index in range(args.runs):
            key = secrets.token_urlsafe(32)
            key_file = os.path.join(folder, "api.key")
            with open(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(key + "\n")
            process, base = h.start_aimass(
                args, "w10_serve.yaml", folder, run_index,
                {"AIMASS_BENCH_KEY_SHA256": hashlib.sha256(key.encode()).hexdigest()})
            try:
                metadata = h.http_json(base + "/v2/models/fashion",
                                     headers={"Authorization": f"Bearer {key}"})
                body_path = h.w6_bodies(folder, metadata["inputs"][0]["name"])[0][1]
                mine.append(w10_measure(args, h, process, int(base.rsplit(":", 1)[1]), key,
                                        key_file, body_path, f"aimass (run {run_index + 1})"))
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            body_path = h.w6_bodies(folder, "input")[0][1]
            process, port = h.start_nginx(args, folder, W10_NGINX_AUTH.format(key=key))
            try:
                theirs.append(w10_measure(args, h, process, port, key, key_file, body_path,
                                          f"nginx (run {run_index + 1})"))
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    a, p = h.medians(mine), h.medians(theirs)
    return a, p, a["kept_share"] / p["kept_share"] if p["kept_share"] else 0.0
