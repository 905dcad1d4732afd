# SPDX-License-Identifier: Apache-2.0
"""Fashion-MNIST for the Python peers, read from the same gzipped IDX files aimass reads
(Debian's dataset-fashion-mnist, or the folder in $FASHION_MNIST): pixels / 255 as float32
[N, 784], labels as int64 [N]."""
import gzip
import os

import numpy as np

FOLDER = os.environ.get("FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


def _read(name, magic, header_words):
    path = os.path.join(FOLDER, name)
    with gzip.open(path, "rb") as f:
        data = f.read()
    header = np.frombuffer(data[: 4 * header_words], dtype=">u4")
    if header[0] != magic:
        raise SystemExit(f"{path}: not an IDX file of the expected kind (magic {header[0]:#x})")
    return header, np.frombuffer(data[4 * header_words :], dtype=np.uint8)


def load(split):
    """split: "train" (60000 rows) or "t10k" (10000 rows)."""
    header, pixels = _read(f"{split}-images-idx3-ubyte.gz", 0x803, 4)
    rows, height, width = (int(v) for v in header[1:])
    images = pixels.reshape(rows, height * width).astype(np.float32) / 255.0
    _, labels = _read(f"{split}-labels-idx1-ubyte.gz", 0x801, 2)
    if labels.shape[0] != rows:
        raise SystemExit(f"{split}: {rows} images but {labels.shape[0]} labels")
    return images, labels.astype(np.int64)
