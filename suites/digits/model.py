"""Image classification: a small CNN on 8x8 digits (conv 8, conv 16, max-pool, FC 10)."""

from __future__ import annotations

import numpy as np

SEED = 4
INPUT_SHAPE = (8, 8, 1)
CLASSES = 10


def build():
    import keras

    L = keras.layers
    inp = keras.Input(INPUT_SHAPE, batch_size=1, name="image")
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = L.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    out = L.Dense(CLASSES, activation="softmax")(x)
    return keras.Model(inp, out, name="digits_cnn")


def train(data: dict[str, np.ndarray]):
    """Train from fixed seeds (deterministic ops); returns the trained Keras model."""
    from suites import deterministic

    deterministic(SEED)
    model = build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data["x_train"], data["y_train"], epochs=15, batch_size=32, shuffle=True, verbose=0)
    return model
