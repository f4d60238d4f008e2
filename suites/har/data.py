"""BasicMotions (real data): smartwatch accelerometer + gyroscope, 4 activities.

Source: the UEA/UCR BasicMotions set as shipped inside `sktime` 1.2.0 (offline; `pip install
sktime`, which pins pandas<3.1). 10 Hz x 10 s = 100 steps, 6 channels (accelerometer x/y/z then
gyroscope x/y/z), classes badminton, running, standing, walking; 40 train + 40 test series.
Each channel is standardised with the training set's mean and standard deviation, so the int8
input range is shared by all channels. Model input: (100, 6) float32.
"""

from __future__ import annotations

import numpy as np

CLASSES = ("badminton", "running", "standing", "walking")


def load() -> dict[str, np.ndarray]:
    """{"x_train", "y_train", "x_test", "y_test"}; x is (N, 100, 6) float32, y int class index."""
    from sktime.datasets import load_basic_motions

    out: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        x, y = load_basic_motions(split=split, return_type="numpy3D")
        out[f"x_{split}"] = np.transpose(x, (0, 2, 1)).astype(np.float32)
        out[f"y_{split}"] = np.array([CLASSES.index(str(v)) for v in y], np.int64)
    mean = out["x_train"].mean(axis=(0, 1), keepdims=True)
    std = out["x_train"].std(axis=(0, 1), keepdims=True)
    for split in ("train", "test"):
        out[f"x_{split}"] = ((out[f"x_{split}"] - mean) / std).astype(np.float32)
    return out
