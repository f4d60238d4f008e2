"""Anomaly detection: the MLPerf Tiny dense autoencoder shape, 640 -> 128x4 -> 8 -> 128x4 -> 640.

Differences from MLPerf Tiny: no BatchNormalization (the w4/w2 grids must survive conversion).
Anomaly score = mean squared reconstruction error; judged by AUC (normal vs anomalous).
At int8 it needs ~270 KB of weights: more than the m0plus board's 256 KiB flash (reported as
"does not fit" there, by design).
"""

from __future__ import annotations

import numpy as np

SEED = 3
DIM = 640


def build():
    import keras

    L = keras.layers
    inp = keras.Input((DIM,), batch_size=1, name="logmel")
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = L.Dense(units, activation="relu")(x)
    out = L.Dense(DIM)(x)
    return keras.Model(inp, out, name="ad_autoencoder")


def train(data: dict[str, np.ndarray]):
    """Train on normal vectors only, fixed seeds; returns the trained Keras model."""
    from suites import deterministic

    deterministic(SEED)
    model = build()
    model.compile(optimizer="adam", loss="mse")
    model.fit(data["x_train"], data["x_train"], epochs=30, batch_size=32, shuffle=True, verbose=0)
    return model


def score(x: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Anomaly score per vector: mean squared reconstruction error."""
    x = x.reshape(len(x), -1)
    return ((x - recon.reshape(len(x), -1)) ** 2).mean(axis=1)
