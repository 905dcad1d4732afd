# SPDX-License-Identifier: Apache-2.0
"""W6 peer: the W1 model (PyTorch MLP 784-256-128-10 ReLU, one epoch of Adam lr 1e-3 on
Fashion-MNIST, as bench/configs/w6_serve.yaml trains it) behind Python's ThreadingHTTPServer,
answering the Open Inference Protocol v2 like aimass does: POST /v2/models/fashion/infer with a
JSON body, or a JSON header plus binary tensor data (Inference-Header-Content-Length), answering
"probabilities" FP32 [N, 10] and "class" BYTES [N] as JSON. THREADS torch threads (default 2),
seeded with SEED (default 0). Binds 127.0.0.1 on a free port with a listen backlog of 128 (not
socketserver's 5), prints "listening PORT" once it serves, and runs until SIGTERM."""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
torch.manual_seed(int(os.environ.get("SEED", "0")))

model = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, 128), torch.nn.ReLU(),
    torch.nn.Linear(128, 10))
x_train, y_train = (torch.from_numpy(a) for a in fashion_mnist.load("train"))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()
order = torch.randperm(x_train.shape[0])
for begin in range(0, x_train.shape[0], 128):
    rows = order[begin:begin + 128]
    optimizer.zero_grad(set_to_none=True)
    loss_fn(model(x_train[rows]), y_train[rows]).backward()
    optimizer.step()
model.eval()
ROUTE = "/v2/models/fashion/infer"


class BadRequest(Exception):
    pass


def read_input(body, header_length):
    """The [N, 784] float32 input of an OIP v2 request body."""
    try:
        header = json.loads(body[:header_length] if header_length else body)
        tensor = header["inputs"][0]
        shape = [int(d) for d in tensor["shape"]]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise BadRequest(f"malformed request: {e}")
    if len(shape) != 2 or shape[1] != 784 or tensor.get("datatype") != "FP32":
        raise BadRequest(f"input must be FP32 [N, 784], not {tensor.get('datatype')} {shape}")
    if header_length:
        size = tensor.get("parameters", {}).get("binary_data_size")
        data = body[header_length:]
        if size != len(data) or size != 4 * shape[0] * 784:
            raise BadRequest(f"binary_data_size {size}, {len(data)} bytes follow the header")
        values = np.frombuffer(data, dtype="<f4")
    else:
        values = np.asarray(tensor["data"], dtype=np.float32)
    if values.size != shape[0] * 784:
        raise BadRequest(f"{values.size} values for shape {shape}")
    return torch.from_numpy(values.reshape(shape).copy())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY, as on the other two servers

    def log_message(self, *args):
        pass

    def answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != ROUTE:
            return self.answer(404, {"error": f"no route for POST {self.path}"})
        try:
            x = read_input(body, int(self.headers.get("Inference-Header-Content-Length", "0")))
        except (BadRequest, ValueError) as e:
            return self.answer(400, {"error": str(e)})
        with torch.no_grad():
            probabilities = torch.softmax(model(x), dim=1)
        rows = x.shape[0]
        self.answer(200, {"model_name": "fashion", "model_version": "1", "outputs": [
            {"name": "probabilities", "datatype": "FP32", "shape": [rows, 10],
             "data": probabilities.flatten().tolist()},
            {"name": "class", "datatype": "BYTES", "shape": [rows],
             "data": [str(int(c)) for c in probabilities.argmax(1)]}]})


class Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: with wrk's 64 connections opening at once,
    # the SYNs beyond the backlog are dropped and retried after 1 s, 3 s, ..., which made this
    # peer's p99 5.5-6 s in every row before (bench/README.md). 128 >= the 64 connections of W6.
    request_queue_size = 128
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
server.server_close()
