#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes configs/data/pumps.csv, the quickstart's small classification dataset.

Three pump states (healthy, worn, failing) x 100 rows, four sensor readings each, drawn from
Gaussian clusters that overlap a little: a linear classifier gets about 95% right, not 100%,
so the numbers the quickstart prints mean something. Python standard library only and a fixed
seed, so the file is the same on every machine:

    python3 scripts/make_demo_data.py            # rewrite configs/data/pumps.csv
    python3 scripts/make_demo_data.py --check    # exit 1 if the committed file differs
"""

import argparse
import io
import pathlib
import random
import sys

SEED = 20240501
ROWS_PER_CLASS = 100
FEATURES = ["vibration", "temperature", "pressure", "current"]
# Cluster centres and spreads per state. Readings are deviations from the pump's nominal
# operating point in (made-up) comparable units, so they centre near 0 and need no scaling.
STATES = {
    "healthy": ([-1.8, -1.4, 1.4, -1.6], [0.9, 1.0, 1.0, 0.9]),
    "worn": ([0.4, -0.2, 0.1, 0.3], [1.0, 1.1, 1.0, 1.0]),
    "failing": ([1.5, 2.0, -1.6, 1.6], [1.1, 1.0, 1.1, 1.0]),
}
OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "configs" / "data" / "pumps.csv"


def generate() -> str:
    rng = random.Random(SEED)
    rows = []
    for state, (centre, spread) in STATES.items():
        for _ in range(ROWS_PER_CLASS):
            values = [rng.gauss(c, s) for c, s in zip(centre, spread)]
            rows.append(values + [state])
    rng.shuffle(rows)
    out = io.StringIO()
    out.write(",".join(FEATURES + ["state"]) + "\n")
    for row in rows:
        out.write(",".join(f"{v:.2f}" for v in row[:-1]) + f",{row[-1]}\n")
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed file instead of writing it")
    args = parser.parse_args()
    text = generate()
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run scripts/make_demo_data.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT} ({ROWS_PER_CLASS * len(STATES)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
