# SPDX-License-Identifier: Apache-2.0
"""A real `aimass run` for the tests (AIMASS_EXECUTABLE), and tiny local HTTP servers."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import Callable, List, Optional

SOURCE_DIR = os.environ.get("AIMASS_SOURCE_DIR",
                            os.path.join(os.path.dirname(__file__), "..", "..", ".."))
EXECUTABLE = os.environ.get("AIMASS_EXECUTABLE",
                            os.path.join(SOURCE_DIR, "build", "bin", "aimass"))

TRAIN = """nodes:
  store: {type: storage.sqlite, path: store.db}
  pumps: {type: dataset.csv, path: pumps.csv, label: state}
  pump_state: {type: model.softmax}
  sgd: {type: optimizer.sgd, learning_rate: 0.05}
  train: {type: job.train, model: pump_state, dataset: pumps, optimizer: sgd, epochs: 2,
          seed: 7, validation_fraction: 0.2, storage: store}
"""
SERVE = TRAIN + "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n"


class AimassServer:
    """Trains pump_state once into a SQLite store (version 1, run 1), then runs a config that
    trains it again (version 2, run 2) and serves it with frontend.http on a free port.
    ``train=False`` skips the first training (for a ``serve`` config of its own)."""

    HANG_LIMIT_S = 120.0  # not a speed check: only so a broken build fails instead of hanging

    def __init__(self, serve: str = SERVE, scheme: str = "http",
                 prepare: Optional[Callable[[str], None]] = None, train: bool = True) -> None:
        self.dir = tempfile.mkdtemp(prefix="aimass-pyclient-")
        if prepare is not None:
            prepare(self.dir)
        shutil.copy(os.path.join(SOURCE_DIR, "configs", "data", "pumps.csv"), self.dir)
        with open(os.path.join(self.dir, "train.yaml"), "w") as f:
            f.write(TRAIN)
        with open(os.path.join(self.dir, "serve.yaml"), "w") as f:
            f.write(serve)
        env = {k: v for k, v in os.environ.items() if k != "AIMASS_PLUGIN_PATH"}
        self.env = env
        if train:
            trained = subprocess.run([EXECUTABLE, "run", "train.yaml"], cwd=self.dir, env=env,
                                     capture_output=True, text=True, timeout=self.HANG_LIMIT_S)
            if trained.returncode != 0:
                raise RuntimeError(f"aimass run train.yaml failed: {trained.stderr}")
        self.log: List[str] = []
        self.process = subprocess.Popen([EXECUTABLE, "run", "serve.yaml"], cwd=self.dir, env=env,
                                        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        text=True)
        self.port = 0
        found = threading.Event()

        def read() -> None:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self.log.append(line)
                marker = f"serving {scheme}://127.0.0.1:"
                if line.startswith(marker) and not found.is_set():
                    self.port = int(line[len(marker):].strip())
                    found.set()
            found.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        found.wait(self.HANG_LIMIT_S)
        if self.port == 0:
            self.stop()
            raise RuntimeError("aimass never served: " + "".join(self.log))
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def stop(self) -> Optional[int]:
        """SIGTERM, then waits; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(self.HANG_LIMIT_S)
        self.reader.join(5)
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


def make_certificates(folder: str) -> None:
    """ca.crt, server.crt/key (for IP 127.0.0.1) and client.crt/key, both signed by the CA,
    made with the openssl command in `folder`."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test ca")
    for name, extension in (("server", "subjectAltName=IP:127.0.0.1"),
                            ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        with open(os.path.join(folder, f"{name}.ext"), "w") as f:
            f.write(extension + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile",
                f"{name}.ext")


class LocalServer:
    """A threaded http.server on 127.0.0.1 whose answers `handle(handler)` writes; every
    request's method, path and headers are recorded in `requests`."""

    def __init__(self, handle: Callable[[http.server.BaseHTTPRequestHandler], None]) -> None:
        self.requests: List[tuple] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                if length:
                    self.rfile.read(length)
                outer.requests.append((self.command, self.path, dict(self.headers)))
                handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = _any

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def answer(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes,
           delay_s: float = 0.0) -> None:
    """Writes a JSON answer with Content-Length (keep-alive)."""
    if delay_s:
        time.sleep(delay_s)
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
