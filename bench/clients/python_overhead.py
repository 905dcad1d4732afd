#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Per-request client overhead of aimass_client on the W6 request, with no network.

The time to encode the request (one FP32 [1, 784] input named "input", binary tensor data; a
numpy array when numpy is installed, else a list) with ``Client.build_request``, and to decode a
fixed binary answer ("class" BYTES [1], "probabilities" FP32 [1, 10]) with
``Client.parse_response``, each averaged over N runs after a warm-up. Prints one JSON line.

    PYTHONPATH=clients/python python3 bench/clients/python_overhead.py [--iterations N]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "clients", "python"))

from aimass_client import Client, Tensor, tensors  # noqa: E402
from aimass_client.transport import Response  # noqa: E402


def w6_answer() -> Response:
    """The W6 answer: its JSON header, then "Trouser" length-prefixed, then 10 FP32s."""
    label = b"Trouser"
    header = json.dumps({"model_name": "fashion", "model_version": "1", "outputs": [
        {"name": "class", "datatype": "BYTES", "shape": [1],
         "parameters": {"binary_data_size": 4 + len(label)}},
        {"name": "probabilities", "datatype": "FP32", "shape": [1, 10],
         "parameters": {"binary_data_size": 40}}]}).encode()
    probabilities = [0.01] * 10
    probabilities[1] = 0.91
    body = header + struct.pack("<I", len(label)) + label + struct.pack("<10f", *probabilities)
    return Response(200, {"inference-header-content-length": str(len(header))}, body)


def time_us(n: int, run) -> float:
    for _ in range(min(n, 1000)):  # warm-up
        run()
    start = time.perf_counter_ns()
    for _ in range(n):
        run()
    return (time.perf_counter_ns() - start) / 1000 / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000)
    args = parser.parse_args()
    if args.iterations < 1:
        parser.error("--iterations must be positive")
    client = Client("http://127.0.0.1:1")  # never connects: only its encoding is used
    values = [(i % 255) / 255 for i in range(784)]
    data = tensors.np.asarray(values, dtype="<f4").reshape(1, 784) if client.use_numpy else [values]
    inputs = [Tensor("input", data, "FP32")]
    answer = w6_answer()

    body, headers = client.build_request(inputs)  # check once that both do what is timed
    if len(body) != int(headers["Inference-Header-Content-Length"]) + 3136:
        raise SystemExit("the request is not 3136 bytes of tensor data")
    decoded = client.parse_response(answer)
    if decoded["class"] != ["Trouser"] or decoded.outputs["probabilities"].shape != [1, 10]:
        raise SystemExit("the answer did not decode")

    encode_us = time_us(args.iterations, lambda: client.build_request(inputs))
    decode_us = time_us(args.iterations, lambda: client.parse_response(answer))
    print(json.dumps({"client": "python", "encode_us": round(encode_us, 3),
                      "decode_us": round(decode_us, 3), "numpy": client.use_numpy,
                      "iterations": args.iterations}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
