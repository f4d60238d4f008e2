"""Train the example's model and write its test set, as a team would in its own repository.

    python build_model.py      # needs tensorflow and scikit-learn (pip install -e '.[ml]')

The wine data set ships inside scikit-learn (13 chemical measurements, 3 cultivars). A small
Keras MLP, converted to a full-integer int8 .tflite with TensorFlow's own converter; the test
set is written as float inputs `x` (the harness quantizes them with the model's input scale)
and labels `y`. Deterministic: fixed seeds and op determinism.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 7


def main() -> None:
    import keras
    import tensorflow as tf
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    x, y = load_wine(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.4, random_state=SEED, stratify=y)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train = ((x_train - mean) / std).astype(np.float32)
    x_test = ((x_test - mean) / std).astype(np.float32)

    inp = keras.Input((13,), batch_size=1, name="features")
    h = keras.layers.Dense(16, activation="relu")(inp)
    h = keras.layers.Dense(8, activation="relu")(h)
    out = keras.layers.Dense(3, activation="softmax")(h)
    model = keras.Model(inp, out, name="wine_mlp")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=60, batch_size=8, verbose=0)
    print(f"float accuracy: {model.evaluate(x_test, y_test, verbose=0)[1]:.3f}")

    def representative():
        for row in x_train[:100]:
            yield [row[None]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    (HERE / "model" / "wine_int8.tflite").write_bytes(conv.convert())
    np.savez(HERE / "data" / "test.npz", x=x_test, y=y_test.astype(np.int64))
    print(f"wrote model/wine_int8.tflite and data/test.npz ({len(x_test)} test vectors)")


if __name__ == "__main__":
    main()
