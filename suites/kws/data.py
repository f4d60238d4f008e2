"""Synthetic keyword-spotting data: 49 x 10 MFCC-shaped patches, 12 classes (no KWS audio ships offline).

Construction (seed 7, all numpy):
- Classes follow Speech Commands v2 as used by MLPerf Tiny: 0 "silence", 1 "unknown", 2..11 ten
  keywords.
- Each keyword k has a template T_k (49 frames x 10 coefficients): the sum of 3 "syllables", each
  a Gaussian bump in time (centre 8..40, width 3..7 frames) times a random cepstral shape whose
  coefficient c has standard deviation 1/(1+c/2) (higher MFCCs carry less energy).
- A sample of keyword k: T_k shifted in time by -5..5 frames (zero-filled), scaled by 0.7..1.3,
  plus a per-sample "speaker/channel" offset (one random vector over the 10 coefficients,
  sd 0.3, constant in time), plus white noise (sd 0.45).
- "unknown": the same recipe with one of 20 other templates that are not keywords.
- "silence": a channel offset plus noise only.
The noise level is set so the float DS-CNN reaches about 85-90 %, leaving room to see quantization
losses. Train 2,400 samples (200 per class), test 200 (stratified-ish, fixed order).
"""

from __future__ import annotations

import numpy as np

FRAMES, COEFFS, CLASSES = 49, 10, 12
SEED = 7


def _template(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(FRAMES)[:, None]
    out = np.zeros((FRAMES, COEFFS))
    for _ in range(3):
        c, w = rng.uniform(8, 40), rng.uniform(3, 7)
        shape = rng.normal(0, 1, COEFFS) / (1 + np.arange(COEFFS) / 2)
        out += np.exp(-0.5 * ((t - c) / w) ** 2) * shape[None, :]
    return out


def _sample(rng: np.random.Generator, tpl: np.ndarray | None) -> np.ndarray:
    x = np.zeros((FRAMES, COEFFS))
    if tpl is not None:
        s = int(rng.integers(-5, 6))
        shifted = np.roll(tpl, s, axis=0)
        if s > 0:
            shifted[:s] = 0
        elif s < 0:
            shifted[s:] = 0
        x += rng.uniform(0.7, 1.3) * shifted
    x += rng.normal(0, 0.3, COEFFS)[None, :] + rng.normal(0, 0.45, (FRAMES, COEFFS))
    return x


def load(n_train_per_class: int = 200, n_test: int = 200) -> dict[str, np.ndarray]:
    """{"x_train", "y_train", "x_test", "y_test"}; x is (N, 49, 10, 1) float32."""
    rng = np.random.default_rng(SEED)
    keywords = [_template(rng) for _ in range(CLASSES - 2)]
    others = [_template(rng) for _ in range(20)]

    def make(label: int) -> np.ndarray:
        if label == 0:
            return _sample(rng, None)
        if label == 1:
            return _sample(rng, others[int(rng.integers(len(others)))])
        return _sample(rng, keywords[label - 2])

    y_train = np.repeat(np.arange(CLASSES), n_train_per_class)
    rng.shuffle(y_train)
    y_test = np.arange(n_test) % CLASSES
    x_train = np.stack([make(int(k)) for k in y_train])[..., None].astype(np.float32)
    x_test = np.stack([make(int(k)) for k in y_test])[..., None].astype(np.float32)
    return {"x_train": x_train, "y_train": y_train.astype(np.int64),
            "x_test": x_test, "y_test": y_test.astype(np.int64)}
