"""Keyword spotting: DS-CNN after MLPerf Tiny (conv 10x4 stride 2, four depthwise-separable blocks,
average pool, FC 12), at width 32 instead of 64.

Why 32: the m0plus board has 16 KiB RAM. At width 64 one 25x5x64 int8 activation is 8,000 B and a
layer needs its input and output live at once (16,000 B) before stack and buffers; at width 32
the pair is 8,000 B. The measured TFLM arenas are in suites/README.md. No BatchNormalization
(biases instead) so the w4/w2 weight grids survive conversion.
"""

from __future__ import annotations

import numpy as np

SEED = 2
WIDTH = 32
INPUT_SHAPE = (49, 10, 1)
CLASSES = 12


def build(width: int = WIDTH):
    import keras

    L = keras.layers
    # He-style init per 3x3 depthwise filter (Keras' default fan-in counts every channel and lets
    # the signal vanish through the BN-free stack).
    dw_init = keras.initializers.RandomNormal(stddev=float(np.sqrt(2.0 / 9.0)))
    inp = keras.Input(INPUT_SHAPE, batch_size=1, name="mfcc")
    x = L.Conv2D(width, (10, 4), strides=2, padding="same", activation="relu",
                 kernel_initializer="he_normal")(inp)
    for _ in range(4):
        x = L.DepthwiseConv2D(3, padding="same", activation="relu", depthwise_initializer=dw_init)(x)
        x = L.Conv2D(width, 1, activation="relu", kernel_initializer="he_normal")(x)
    x = L.AveragePooling2D(pool_size=(25, 5))(x)
    x = L.Flatten()(x)
    out = L.Dense(CLASSES, activation="softmax")(x)
    return keras.Model(inp, out, name="kws_dscnn")


def train(data: dict[str, np.ndarray]):
    """Train from fixed seeds (deterministic ops); returns the trained Keras model."""
    import keras

    from suites import deterministic

    deterministic(SEED)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(data["x_train"], data["y_train"], epochs=15, batch_size=32, shuffle=True, verbose=0)
    return model
