"""Synthetic labelled accelerometer streams with gesture events, 20 Hz, for streaming detection.

Construction (seed 13, numpy only), per stream of T frames of 3-axis acceleration in g:
- Background: gravity of 1 g along a random unit orientation (the wrist's pose) that drifts
  slowly (random walk, sd 0.01 per frame, renormalised), plus sensor noise (sd 0.05 g) and small
  hand tremor (a random walk with 0.03 g steps minus its 9-frame moving average).
- Events, separated by rests of 20..60 frames (1..3 s), each one of:
  1 "swipe":  one full sine period (push then pull) on x, amplitude 1.0..1.5 g, 8..12 frames;
  2 "shake":  a 3 Hz sine on y, amplitude 0.8..1.2 g, 20..30 frames (1..1.5 s);
  3 "circle": one turn in the x-y plane (x = A sin, y = A (cos - 1)), A 0.6..1.0 g, 16..24 frames.
  Onset and duration are random within those ranges; the event is added to the background.
- Labels per frame: the event's class on its frames, 0 ("no gesture", the rejection class)
  elsewhere. The first 10 frames of a stream are always rest.
Train: 150 streams x 200 frames (10 s). Test: 6 streams x 160 frames (8 s each, 960 frames).
"""

from __future__ import annotations

import numpy as np

RATE_HZ = 20
FEATURES = 3
CLASSES = ("none", "swipe", "shake", "circle")
SEED = 13


def _event(rng: np.random.Generator, cls: int) -> np.ndarray:
    if cls == 1:
        n = int(rng.integers(8, 13))
        a = rng.uniform(1.0, 1.5)
        e = np.zeros((n, 3))
        e[:, 0] = a * np.sin(2 * np.pi * np.arange(n) / n)
    elif cls == 2:
        n = int(rng.integers(20, 31))
        a = rng.uniform(0.8, 1.2)
        e = np.zeros((n, 3))
        e[:, 1] = a * np.sin(2 * np.pi * 3.0 * np.arange(n) / RATE_HZ)
    else:
        n = int(rng.integers(16, 25))
        a = rng.uniform(0.6, 1.0)
        ph = 2 * np.pi * np.arange(n) / n
        e = np.zeros((n, 3))
        e[:, 0], e[:, 1] = a * np.sin(ph), a * (np.cos(ph) - 1)
    return e


def stream(rng: np.random.Generator, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """One stream: (frames, 3) float32 acceleration and (frames,) int64 labels."""
    g = rng.normal(0, 1, 3)
    g /= np.linalg.norm(g)
    x = np.zeros((frames, 3))
    for t in range(frames):
        g = g + rng.normal(0, 0.01, 3)
        g /= np.linalg.norm(g)
        x[t] = g
    tremor = np.cumsum(rng.normal(0, 0.03, (frames, 3)), axis=0)
    tremor = tremor - np.array([np.convolve(tremor[:, k], np.ones(9) / 9, "same") for k in range(3)]).T
    x += tremor + rng.normal(0, 0.05, (frames, 3))
    y = np.zeros(frames, np.int64)
    t = 10 + int(rng.integers(0, 30))
    while True:
        cls = int(rng.integers(1, 4))
        e = _event(rng, cls)
        if t + len(e) > frames:
            break
        x[t:t + len(e)] += e
        y[t:t + len(e)] = cls
        t += len(e) + int(rng.integers(20, 61))
    return x.astype(np.float32), y


def load(n_train: int = 150, train_frames: int = 200, n_test: int = 6, test_frames: int = 160) -> dict[str, np.ndarray]:
    """{"x_train" (S, T, 3), "y_train" (S, T), "x_test", "y_test"}: whole streams, frame-labelled."""
    rng = np.random.default_rng(SEED)
    tr = [stream(rng, train_frames) for _ in range(n_train)]
    te = [stream(rng, test_frames) for _ in range(n_test)]
    return {"x_train": np.stack([a for a, _ in tr]), "y_train": np.stack([b for _, b in tr]),
            "x_test": np.stack([a for a, _ in te]), "y_test": np.stack([b for _, b in te])}
