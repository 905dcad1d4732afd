#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes configs/data/energy.csv, the small regression dataset of configs/regression_linear.yaml.

200 buildings, four readings each (outdoor temperature in degrees C, occupants, floor area in
100 m2, insulation grade 1-5) and the daily energy use in kWh, which is a linear function of
them plus Gaussian noise. A least-squares fit recovers the coefficients closely and leaves an
RMSE near the noise level (3 kWh), so the numbers model.linear reports can be checked by eye.
Python standard library only and a fixed seed, so the file is the same on every machine:

    python3 scripts/make_regression_data.py            # rewrite configs/data/energy.csv
    python3 scripts/make_regression_data.py --check    # exit 1 if the committed file differs
"""

import argparse
import io
import pathlib
import random
import sys

SEED = 20240601
ROWS = 200
NOISE = 3.0
FEATURES = ["outdoor_temp", "occupants", "floor_area", "insulation"]
# kwh = 40 - 1.5 * outdoor_temp + 4 * occupants + 12 * floor_area - 3 * insulation + noise
INTERCEPT = 40.0
COEFFICIENTS = [-1.5, 4.0, 12.0, -3.0]
OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "configs" / "data" / "energy.csv"


def generate() -> str:
    rng = random.Random(SEED)
    out = io.StringIO()
    out.write(",".join(FEATURES + ["kwh"]) + "\n")
    for _ in range(ROWS):
        row = [
            round(rng.uniform(-10.0, 30.0), 1),
            rng.randint(1, 6),
            round(rng.uniform(0.5, 3.0), 2),
            rng.randint(1, 5),
        ]
        kwh = INTERCEPT + sum(c * x for c, x in zip(COEFFICIENTS, row)) + rng.gauss(0.0, NOISE)
        out.write(",".join(str(v) for v in row) + f",{kwh:.2f}\n")
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed file instead of writing it")
    args = parser.parse_args()
    text = generate()
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run scripts/make_regression_data.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT} ({ROWS} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
