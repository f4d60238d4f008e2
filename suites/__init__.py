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
