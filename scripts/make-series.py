#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes an hourly electricity-load series for configs/forecast.yaml (var/series/load.csv).

Columns: time (ISO-8601, hourly from 2024-01-01T00:00), load (MW) and temperature (degrees C).
The load has a trend, a daily cycle (low at night, peaks in the morning and evening), a weekly
cycle (weekends lower), a heating effect of cold hours and Gaussian noise; the temperature has
a daily cycle, a slow drift and noise of its own. Python standard library only and a fixed
seed, so the file is the same on every machine:

    python3 scripts/make-series.py                       # var/series/load.csv, 60 days
    python3 scripts/make-series.py --output x.csv --days 14 --seed 7
    python3 scripts/make-series.py --scaled              # load in 100 MW, temperature in 10 C

--scaled writes the load in hundreds of MW and the temperature in tens of degrees, so the values
lie near 1: model.rnn does not scale its inputs, and raw loads near 100 saturate its gates
(configs/forecast.yaml needs --scaled).
"""

import argparse
import datetime
import io
import math
import pathlib
import random
import sys

SEED = 20241206
START = datetime.datetime(2024, 1, 1)
DEFAULT_OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "var" / "series" / "load.csv"


def generate(days: int, seed: int, scaled: bool = False) -> str:
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("time,load,temperature\n")
    drift = 0.0
    for t in range(days * 24):
        when = START + datetime.timedelta(hours=t)
        hour = when.hour
        drift += rng.gauss(0.0, 0.15)
        drift *= 0.995
        temperature = (4.0 + 5.0 * math.sin(2 * math.pi * (hour - 9) / 24) + drift +
                       rng.gauss(0.0, 0.8))
        daily = (18.0 * math.exp(-((hour - 8) ** 2) / 8.0) +
                 24.0 * math.exp(-((hour - 19) ** 2) / 10.0) -
                 12.0 * math.exp(-((hour - 3) ** 2) / 6.0))
        weekly = -15.0 if when.weekday() >= 5 else 0.0
        heating = 1.5 * max(0.0, 10.0 - temperature)
        load = 100.0 + 0.01 * t + daily + weekly + heating + rng.gauss(0.0, 2.5)
        if scaled:
            out.write(f"{when:%Y-%m-%dT%H:%M},{load / 100:.4f},{temperature / 10:.3f}\n")
        else:
            out.write(f"{when:%Y-%m-%dT%H:%M},{load:.2f},{temperature:.2f}\n")
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT,
                        help="the CSV file to write (default: var/series/load.csv)")
    parser.add_argument("--days", type=int, default=60, help="days of hourly rows (default 60)")
    parser.add_argument("--seed", type=int, default=SEED, help="the random seed")
    parser.add_argument("--scaled", action="store_true",
                        help="load in hundreds of MW and temperature in tens of degrees C")
    args = parser.parse_args()
    if args.days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(generate(args.days, args.seed, args.scaled))
    print(f"wrote {args.output} ({args.days * 24} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
