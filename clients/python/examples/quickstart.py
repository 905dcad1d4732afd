#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Infers once against a running model and prints its answer.

    aimass run configs/quickstart.yaml          # serves "fashion" on port 8080
    PYTHONPATH=clients/python python3 clients/python/examples/quickstart.py \
        --url http://127.0.0.1:8080 --model fashion

It reads the model's metadata, sends one row of zeros to each numeric input (binary tensor data),
and prints every output. Exits 1 with the server's message on an error.
"""

from __future__ import annotations

import argparse
import os
import sys

from aimass_client import AimassError, Client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--model", default="fashion")
    parser.add_argument("--api-key", default=os.environ.get("AIMASS_API_KEY"))
    args = parser.parse_args()
    try:
        with Client(args.url, api_key=args.api_key, use_numpy=False) as client:
            meta = client.model_metadata(args.model)
            inputs = {}
            for tensor in meta["inputs"]:
                if tensor.get("optional") or tensor["datatype"] == "BYTES":
                    continue
                shape = [1 if d < 0 else d for d in tensor["shape"]]
                count = 1
                for d in shape:
                    count *= d
                inputs[tensor["name"]] = [0] * count
                if len(shape) > 1:  # one row of `count` values
                    inputs[tensor["name"]] = [[0] * (count // shape[0])] * shape[0]
            result = client.infer(args.model, inputs, request_id="quickstart")
    except AimassError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{result.model_name} version {result.model_version} (request {result.id}):")
    for output in result.outputs.values():
        print(f"  {output.name} {output.datatype} {output.shape}: {output.data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
