"""User-facing suites: one directory per task with its model builder, data and golden artifacts.

Each `suites/<suite>/` has `model.py` (`build()`, `train(data)`), `data.py` (`load()`), and
`artifacts/` (`<variant>.tflite`, `test.npz`, `meta.json`) written by `suites/build_artifacts.py`.
"""

from __future__ import annotations

SUITES: tuple[str, ...] = ("har", "kws", "ad", "digits", "gesture")


def deterministic(seed: int) -> None:
    """Fix every random source and make TF ops deterministic, so training is reproducible.

    Also clears the Keras session: auto-generated layer names (conv2d_3 ...) end up as tensor
    names in the .tflite, so without it the bytes depend on what the process built before.
    """
    import keras
    import tensorflow as tf

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def artifact_dir(suite: str):
    """`suites/<suite>/artifacts` (a pathlib.Path); raises KeyError for an unknown suite."""
    from pathlib import Path

    if suite not in SUITES:
        raise KeyError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    return Path(__file__).resolve().parent / suite / "artifacts"


def load_meta(suite: str) -> dict:
    """The suite's meta.json: variants with bytes, arena, host metric, tensor details, state wiring."""
    import json

    return json.loads((artifact_dir(suite) / "meta.json").read_text())


def load_test(suite: str) -> dict:
    """The suite's test.npz as a dict of arrays (x, y, x_<variant>, out_<variant>, ...)."""
    import numpy as np

    with np.load(artifact_dir(suite) / "test.npz") as z:
        return {k: z[k] for k in z.files}
