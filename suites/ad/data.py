"""Synthetic machine-sound data for anomaly detection: 640-dim "log-mel" vectors (5 frames x 128 bins).

No machine-sound data ships offline (ToyADMOS/MIMII are downloads), so (seed 11, numpy only):
- A normal vector is 5 consecutive frames of a 128-bin log-mel-like spectrum: a smooth base
  curve (falling with frequency) plus harmonic peaks of a rotating machine at multiples of a
  fundamental bin f0 in [6, 9] (drawn per vector: speed drift) with harmonic amplitudes that
  decay 1/h, plus a little frame-to-frame jitter and Gaussian noise (sd 0.1). So "normal" lives
  near a low-dimensional manifold parameterised by f0, load (overall level 0.8..1.2) and jitter.
- An anomalous vector starts as a normal one and gets one fault, chosen at random: an extra
  non-harmonic resonance (bump at a random bin, amplitude 0.2..0.5), a broadband rise of the
  upper half of the spectrum (bearing noise, +0.05..0.15), or harmonics at a fundamental just
  outside the normal band (f0 in [9.2, 10.5]). The faults are kept small so the AUC is below 1
  and quantization losses show.
- Values are standardised with the normal training set's global mean and sd.
Train: 2,000 normal vectors (the autoencoder never sees anomalies). Test: 100 normal + 100
anomalous; y_test is 0 normal / 1 anomalous. Judged by reconstruction-MSE AUC.
"""

from __future__ import annotations

import numpy as np

BINS, FRAMES = 128, 5
DIM = BINS * FRAMES
SEED = 11


def _spectrum(rng: np.random.Generator, f0: float, level: float) -> np.ndarray:
    b = np.arange(BINS)
    base = 2.0 * np.exp(-b / 60.0)
    peaks = np.zeros(BINS)
    for h in range(1, 12):
        peaks += (1.5 / h) * np.exp(-0.5 * ((b - h * f0) / 1.2) ** 2)
    return level * (base + peaks)


def _normal(rng: np.random.Generator, f0=None) -> np.ndarray:
    f0 = rng.uniform(6, 9) if f0 is None else f0
    level = rng.uniform(0.8, 1.2)
    frames = [_spectrum(rng, f0 + rng.normal(0, 0.05), level) for _ in range(FRAMES)]
    return np.concatenate(frames) + rng.normal(0, 0.1, DIM)


def _anomaly(rng: np.random.Generator) -> np.ndarray:
    kind = int(rng.integers(3))
    if kind == 2:
        return _normal(rng, f0=rng.uniform(9.2, 10.5))
    x = _normal(rng).reshape(FRAMES, BINS)
    b = np.arange(BINS)
    if kind == 0:
        x += rng.uniform(0.2, 0.5) * np.exp(-0.5 * ((b - rng.uniform(10, 120)) / 2.0) ** 2)
    else:
        x[:, BINS // 2:] += rng.uniform(0.05, 0.15)
    return x.reshape(-1)


def load(n_train: int = 2000, n_test_each: int = 100) -> dict[str, np.ndarray]:
    """{"x_train", "y_train" (zeros), "x_test", "y_test" (0 normal, 1 anomaly)}; x is (N, 640)."""
    rng = np.random.default_rng(SEED)
    x_train = np.stack([_normal(rng) for _ in range(n_train)])
    x_test = np.stack([_normal(rng) for _ in range(n_test_each)] + [_anomaly(rng) for _ in range(n_test_each)])
    mean, sd = x_train.mean(), x_train.std()
    return {"x_train": ((x_train - mean) / sd).astype(np.float32), "y_train": np.zeros(n_train, np.int64),
            "x_test": ((x_test - mean) / sd).astype(np.float32),
            "y_test": np.repeat([0, 1], n_test_each).astype(np.int64)}
