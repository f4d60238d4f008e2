"""Build benchmarks/models/image96_int8.tflite: a tiny int8 classifier on a 96x96x3 image.

Why: the link benchmark's big case is an MLPerf Tiny visual-wake-words input (96x96x3 int8 =
27,648 bytes); no suite has an input that large. The network itself is deliberately small
(strided conv, depthwise conv, average pool, dense) so the run time is the link's, not the
model's. Weights are random with a fixed seed; the file is committed, this script rebuilds it.

    .venv/bin/python benchmarks/models/make_image96.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from harness.quant import make_variant  # noqa: E402

OUT = Path(__file__).resolve().parent / "image96_int8.tflite"


def main() -> None:
    import keras

    keras.utils.set_random_seed(7)
    model = keras.Sequential([
        keras.Input((96, 96, 3)),
        keras.layers.Conv2D(8, 3, strides=4, padding="same", activation="relu"),
        keras.layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu"),
        keras.layers.AveragePooling2D(12),
        keras.layers.Flatten(),
        keras.layers.Dense(2, activation="softmax"),
    ])
    calib = np.random.default_rng(7).uniform(-1, 1, (64, 96, 96, 3)).astype(np.float32)
    OUT.write_bytes(make_variant(model, calib, "int8"))
    print(f"{OUT}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
