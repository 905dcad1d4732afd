#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes configs/data/valves_train.csv and valves_test.csv, the data of configs/ensemble.yaml.

Four readings (a, b, c, d) uniform in [-2, 2]; the label is the sign of a linear part plus a
part that flips with d, 2a - b + c/2 + 3 sin(2b) sign(d), with Gaussian noise (sd 1) added
before the sign, so about one label in six is "wrong" and single networks over-fit the 250
training rows. A linear classifier gets about 77% of the 1000 test rows right, one MLP about
81%, and stacking several (configs/ensemble.yaml) about 83%. Python standard library only and
fixed seeds, so the files are the same on every machine:

    python3 scripts/make_ensemble_data.py            # rewrite both files
    python3 scripts/make_ensemble_data.py --check    # exit 1 if a committed file differs
"""

import argparse
import io
import math
import pathlib
import random
import sys

DATA = pathlib.Path(__file__).resolve().parent.parent / "configs" / "data"


def table(rows, seed):
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("a,b,c,d,state\n")
    for _ in range(rows):
        a, b, c, d = [rng.uniform(-2, 2) for _ in range(4)]
        score = 2 * a - b + 0.5 * c + 3 * math.sin(2 * b) * (1 if d > 0 else -1)
        score += rng.gauss(0, 1.0)
        label = "open" if score > 0 else "shut"
        out.write(f"{a:.4f},{b:.4f},{c:.4f},{d:.4f},{label}\n")
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    status = 0
    for name, rows, seed in (("valves_train.csv", 250, 1), ("valves_test.csv", 1000, 2)):
        text = table(rows, seed)
        path = DATA / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                print(f"{path} differs from what {sys.argv[0]} writes", file=sys.stderr)
                status = 1
        else:
            path.write_text(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
