"""A custom metric beside the suite file: top-2 accuracy, with the documented `hil_model` fixture.

The fixture runs the model on each --board (cached per session) and returns a Point: the
device's outputs and the TFLM reference's as numpy arrays, and what was measured.
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def test_top2_accuracy(hil_model, hil_check):
    data = np.load(HERE / "data" / "test.npz")
    point = hil_model("model/wine_int8.tflite", data["x"], labels=data["y"])
    top2 = np.argsort(point.dequantized(), axis=1)[:, -2:]
    hit = float((top2 == point.labels[:, None]).any(axis=1).mean())
    hil_check(point, self_checked=True, top2_accuracy=hit)  # recorded with the run's other figures
    assert point.agreement().exact, "the device's outputs differ from the TFLM reference"
    assert hit >= 0.95, f"top-2 accuracy {hit:.3f} < 0.95"
