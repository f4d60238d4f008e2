"""scikit-learn's 8x8 handwritten digits (real data, ships with scikit-learn, offline).

1,797 images, 10 classes, pixel values 0..16 scaled to 0..1. A fixed stratified split
(seed 5) keeps 200 images for test and the rest (1,597) for training. Model input (8, 8, 1).
"""

from __future__ import annotations

import numpy as np

SEED = 5
N_TEST = 200


def load() -> dict[str, np.ndarray]:
    """{"x_train", "y_train", "x_test", "y_test"}; x is (N, 8, 8, 1) float32 in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target.astype(np.int64), test_size=N_TEST,
                                              random_state=SEED, stratify=d.target)
    return {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te}
