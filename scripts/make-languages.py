#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes configs/data/languages_train.csv and languages_test.csv for configs/text_classifier.yaml.

Each row is a short phrase of 2 to 6 words drawn from one of four small word lists (English,
German, French, Spanish; the words are common ones, written without accents so every text is
ASCII) and labelled with its language. A few words are in two lists (la, jardin) and many share
letters, so a model has to learn letter patterns (th, sch, ou, ll, ...), not single characters. Python's
standard library only and a fixed seed, so the files are the same on every machine:

    python3 scripts/make-languages.py                 # 1 600 train rows, 400 test rows
    python3 scripts/make-languages.py --output-dir /tmp/x --train 200 --test 50 --seed 3
"""

import argparse
import csv
import io
import pathlib
import random
import sys

SEED = 20261206
DEFAULT_DIR = pathlib.Path(__file__).resolve().parent.parent / "configs" / "data"
WORDS = {
    "english": "the house is small and the water was cold this morning we have seen many "
               "children with their friends through which window there should never think "
               "about another garden while people bring something light",
    "german": "das haus ist klein und wasser war kalt heute morgen wir haben viele kinder "
              "mit ihren freunden durch welches fenster sollte niemals denken ueber einen "
              "anderen garten waehrend leute bringen etwas schnell nicht",
    "french": "la maison est petite et eau etait froide ce matin nous avons vu beaucoup "
              "enfants avec leurs amis par quelle fenetre faut jamais penser autre jardin "
              "pendant que les gens apportent quelque chose toujours",
    "spanish": "la casa es pequena y el agua estaba fria esta manana hemos visto muchos "
               "ninos con sus amigos por cual ventana nunca debe pensar sobre otro jardin "
               "mientras gente trae algo siempre llegar",
}


def rows(count: int, rng: random.Random) -> list:
    languages = sorted(WORDS)
    out = []
    for i in range(count):
        language = languages[i % len(languages)]
        words = WORDS[language].split()
        out.append((" ".join(rng.choice(words) for _ in range(rng.randint(2, 6))), language))
    rng.shuffle(out)
    return out


def write(path: pathlib.Path, data: list) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(data)
    path.write_text(text.getvalue())
    print(f"wrote {path} ({len(data)} rows)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=pathlib.Path, default=DEFAULT_DIR,
                        help="where to write the two files (default: configs/data)")
    parser.add_argument("--train", type=int, default=1600, help="train rows (default 1600)")
    parser.add_argument("--test", type=int, default=400, help="test rows (default 400)")
    parser.add_argument("--seed", type=int, default=SEED, help="the random seed")
    args = parser.parse_args()
    if args.train < 1 or args.test < 1:
        print("--train and --test must be at least 1", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    write(args.output_dir / "languages_train.csv", rows(args.train, rng))
    write(args.output_dir / "languages_test.csv", rows(args.test, rng))
    return 0


if __name__ == "__main__":
    sys.exit(main())
