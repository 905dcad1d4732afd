#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes configs/data/pumps.csv and pumps_field.csv, the small classification datasets.

pumps.csv, the quickstart's: three pump states (healthy, worn, failing) x 100 rows, four sensor
readings each, drawn from Gaussian clusters that overlap a little: a linear classifier gets
about 95% right, not 100%, so the numbers the quickstart prints mean something.

pumps_field.csv, the pipelines example's: the readings as field engineers log them, 600 rows.
The columns have their physical units and so very different scales (pressure in kPa ~ 500,
flow in l/min ~ 200, temperature in C ~ 60, vibration in g ~ 0.05), the pump's vendor is a
text column (Castell's pumps wear faster, Brenner's are mostly worn), and about 5% of the
readings and 3% of the vendors were not written down (empty fields). Vibration, the best signal, is the smallest
number, so a linear model on the raw values does badly; imputed, one-hot encoded and
standardised, the same model does well.

Python standard library only and fixed seeds, so the files are the same on every machine:

    python3 scripts/make_demo_data.py            # rewrite both files
    python3 scripts/make_demo_data.py --check    # exit 1 if a committed file differs
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
DATA = pathlib.Path(__file__).resolve().parent.parent / "configs" / "data"
OUTPUT = DATA / "pumps.csv"

FIELD_SEED = 20261206
FIELD_ROWS = 600
FIELD_OUTPUT = DATA / "pumps_field.csv"
# Per state: (mean, spread) of each reading in its unit, and how it is written.
FIELD_READINGS = ["pressure_kpa", "temperature_c", "vibration_g", "flow_lpm"]
FIELD_FORMATS = ["{:.1f}", "{:.1f}", "{:.4f}", "{:.1f}"]
FIELD_STATES = {
    "healthy": [(520, 60), (58, 6), (0.024, 0.008), (240, 30)],
    "worn": [(495, 60), (62, 6), (0.045, 0.009), (228, 30)],
    "failing": [(470, 60), (67, 7), (0.068, 0.012), (215, 30)],
}
# Per vendor: how likely each state is (healthy, worn, failing). Castell's pumps wear faster.
FIELD_VENDORS = {
    "Aquaflow": [0.70, 0.20, 0.10],
    "Brenner": [0.15, 0.70, 0.15],
    "Castell": [0.05, 0.25, 0.70],
    "Duramax": [0.60, 0.30, 0.10],
}
FIELD_MISSING_READING = 0.06
FIELD_MISSING_VENDOR = 0.02


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


def generate_field() -> str:
    rng = random.Random(FIELD_SEED)
    states = list(FIELD_STATES)
    out = io.StringIO()
    out.write(",".join(FIELD_READINGS + ["vendor", "state"]) + "\n")
    for _ in range(FIELD_ROWS):
        vendor = rng.choice(list(FIELD_VENDORS))
        state = rng.choices(states, weights=FIELD_VENDORS[vendor])[0]
        cells = []
        for (mean, spread), form in zip(FIELD_STATES[state], FIELD_FORMATS):
            value = max(rng.gauss(mean, spread), 0.0005)
            missing = rng.random() < FIELD_MISSING_READING
            cells.append("" if missing else form.format(value))
        cells.append("" if rng.random() < FIELD_MISSING_VENDOR else vendor)
        out.write(",".join(cells + [state]) + "\n")
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed file instead of writing it")
    args = parser.parse_args()
    outputs = [(OUTPUT, generate(), ROWS_PER_CLASS * len(STATES)),
               (FIELD_OUTPUT, generate_field(), FIELD_ROWS)]
    if args.check:
        stale = [path for path, text, _ in outputs
                 if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"{path} is out of date: run scripts/make_demo_data.py", file=sys.stderr)
        return 1 if stale else 0
    DATA.mkdir(parents=True, exist_ok=True)
    for path, text, rows in outputs:
        path.write_text(text)
        print(f"wrote {path} ({rows} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
