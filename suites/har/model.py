"""Activity recognition: a small 1D-CNN over 10 s of 6-axis IMU data (the "code < 4 KB" model).

No BatchNormalization (the w4/w2 variants need the converter to keep our kernels as they are);
batch size 1 inputs so the converted graph has no dynamic-shape ops.
"""

from __future__ import annotations

import numpy as np

SEED = 1
INPUT_SHAPE = (100, 6)
CLASSES = 4


def build():
    import keras

    inp = keras.Input(INPUT_SHAPE, batch_size=1, name="imu")
    x = keras.layers.Conv1D(8, 5, strides=2, activation="relu")(inp)
    x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.Conv1D(16, 5, activation="relu")(x)
    x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.Conv1D(16, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    out = keras.layers.Dense(CLASSES, activation="softmax")(x)
    return keras.Model(inp, out, name="har_cnn1d")


def train(data: dict[str, np.ndarray]):
    """Train from fixed seeds (deterministic ops); returns the trained Keras model."""
    from suites import deterministic

    deterministic(SEED)
    model = build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data["x_train"], data["y_train"], epochs=80, batch_size=8, shuffle=True, verbose=0)
    return model
