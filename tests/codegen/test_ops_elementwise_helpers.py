"""Model builders for the elementwise / activation / tensor-op tests (no tests in this file).

Why a separate builder set: these ops need several inputs with *different* calibration ranges
(so the inputs get different scales and zero points), which the core's single-input builders in
`models.py` do not offer. Conversion is deterministic, so .tflite files are cached by a hash of
(builder, quantization, ranges). Compile/run/compare reuses `harness_utils.compare`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("HIL_CODEGEN_MODEL_CACHE",
                            Path(__file__).resolve().parents[2] / ".cache" / "codegen-models"))
VERSION = 6


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


# Each builder: (tf) -> (keras.Model or (concrete_fn, input_specs)). Input shapes carry batch 1.

def _inputs(tf, *shapes):
    # Named so that the converter's (name-sorted) signature order is the Keras order; with
    # Keras' default names it depends on how many tensors the process created before.
    return [tf.keras.Input(s, batch_size=1, name=f"in{k}") for k, s in enumerate(shapes)]


def add_relu(tf):
    a, b = _inputs(tf, (4, 6), (4, 6))
    return tf.keras.Model([a, b], tf.keras.layers.ReLU()(tf.keras.layers.Add()([a, b])))


def add_bcast(tf):
    a, b = _inputs(tf, (3, 4, 5), (1, 5))
    return tf.keras.Model([a, b], tf.keras.layers.Lambda(lambda t: t[0] + t[1])([a, b]))


def sub_bcast(tf):
    a, b = _inputs(tf, (3, 1, 5), (4, 1))
    return tf.keras.Model([a, b], tf.keras.layers.Lambda(lambda t: t[0] - t[1])([a, b]))


def sub_const(tf):
    (a,) = _inputs(tf, (16,))
    return tf.keras.Model(a, tf.keras.layers.Lambda(lambda t: 1.0 - t)(a))


def mul_bcast(tf):
    a, b = _inputs(tf, (2, 3, 8), (8,))
    return tf.keras.Model([a, b], tf.keras.layers.Lambda(lambda t: t[0] * t[1])([a, b]))


def mul_same(tf):
    a, b = _inputs(tf, (24,), (24,))
    return tf.keras.Model([a, b], tf.keras.layers.Multiply()([a, b]))


def add_relu6_fused(tf):
    """Dense + residual add: the converter fuses the ReLU6 into ADD."""
    (a,) = _inputs(tf, (12,))
    d = tf.keras.layers.Dense(12)(a)
    return tf.keras.Model(a, tf.keras.layers.ReLU(6.0)(tf.keras.layers.Add()([a, d])))


def mean_axes(tf):
    (a,) = _inputs(tf, (5, 6, 7))
    m1 = tf.keras.layers.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2], keepdims=True))(a)
    m2 = tf.keras.layers.Lambda(lambda t: tf.reduce_mean(t, axis=2))(a)
    return tf.keras.Model(a, [m1, m2])


def gap1d(tf):
    (a,) = _inputs(tf, (50, 8))
    return tf.keras.Model(a, tf.keras.layers.GlobalAveragePooling1D()(a))


def activations(tf):
    (a,) = _inputs(tf, (64,))
    L = tf.keras.layers
    return tf.keras.Model(a, [L.Activation("sigmoid")(a), L.Activation("tanh")(a), L.ReLU()(a),
                              L.ReLU(6.0)(a), L.LeakyReLU(0.2)(a), L.Activation("hard_swish")(a)])


def act_int16(tf):
    (a,) = _inputs(tf, (64,))
    L = tf.keras.layers
    return tf.keras.Model(a, [L.Activation("sigmoid")(a), L.Activation("tanh")(a), L.ReLU()(a),
                              L.LeakyReLU(0.3)(a)])


def pad_concat(tf):
    a, b = _inputs(tf, (5, 4, 3), (5, 4, 2))
    L = tf.keras.layers
    p = L.ZeroPadding2D(((1, 2), (0, 1)))(a)
    c = L.Concatenate(axis=-1)([a, b])
    c2 = L.Concatenate(axis=1)([a, a])
    return tf.keras.Model([a, b], [p, c, c2])


def padv2_gather(tf):
    """PADV2 (non-zero pad value) and GATHER: int8/float only (TFLM has no int16 kernels)."""
    (a,) = _inputs(tf, (5, 4, 3))
    L = tf.keras.layers
    p2 = L.Lambda(lambda t: tf.pad(t, [[0, 0], [1, 0], [0, 2], [0, 0]], constant_values=0.5))(a)
    g = L.Lambda(lambda t: tf.gather(t, [2, 0, 3, 3], axis=2))(a)
    return tf.keras.Model(a, [p2, g])


def split_ops(tf):
    (a,) = _inputs(tf, (6, 10))
    L = tf.keras.layers
    s = L.Lambda(lambda t: tf.split(t, 2, axis=2))(a)
    v = L.Lambda(lambda t: tf.split(t, [1, 3, 2], axis=1))(a)
    u = L.Lambda(lambda t: tf.unstack(t, axis=1))(a)
    k = L.Lambda(lambda t: tf.stack([t, t], axis=2))(a)
    return tf.keras.Model(a, [s[0], s[1], v[0], v[1], v[2], u[0], u[5], k])


def slice_ops(tf):
    (a,) = _inputs(tf, (8, 6, 4))
    L = tf.keras.layers
    s1 = L.Lambda(lambda t: t[:, 1:7:2, ::-1, 1:3])(a)
    s2 = L.Lambda(lambda t: t[:, 3, :, -2])(a)
    tr = L.Lambda(lambda t: tf.transpose(t, [0, 2, 3, 1]))(a)
    return tf.keras.Model(a, [s1, s2, tr])


def flatten_dynamic(tf):
    """Keras-3 Flatten on a dynamic batch: SHAPE, STRIDED_SLICE, PACK feeding RESHAPE."""
    a = tf.keras.Input((4, 3, 2))
    x = tf.keras.layers.Conv2D(4, 1)(a)
    x = tf.keras.layers.Flatten()(x)
    return tf.keras.Model(a, tf.keras.layers.Dense(5)(x))


def gru_cell(tf, n_in=6, n_h=16, n_cls=4):
    """One GRU step with explicit state (ml.md §7): inputs x (1,6), h (1,16); outputs h', scores."""
    L = tf.keras.layers
    x, h = _inputs(tf, (n_in,), (n_h,))
    xh = L.Concatenate()([x, h])
    z = L.Dense(n_h, activation="sigmoid")(xh)
    r = L.Dense(n_h, activation="sigmoid")(xh)
    rh = L.Multiply()([r, h])
    c = L.Dense(n_h, activation="tanh")(L.Concatenate()([x, rh]))
    one_minus_z = L.Lambda(lambda t: 1.0 - t)(z)
    h_new = L.Add()([L.Multiply()([z, h]), L.Multiply()([one_minus_z, c])])
    scores = L.Dense(n_cls, activation="softmax")(h_new)
    return tf.keras.Model([x, h], [h_new, scores])


def misc_ops(tf):
    """MAXIMUM/MINIMUM with broadcasting, ARG_MAX, RESIZE_NEAREST_NEIGHBOR."""
    a, b = _inputs(tf, (4, 5, 3), (1, 3))
    L = tf.keras.layers
    mx = L.Lambda(lambda t: tf.maximum(t[0], t[1]))([a, b])
    mn = L.Lambda(lambda t: tf.minimum(t[0], t[1]))([a, b])
    am = L.Lambda(lambda t: tf.argmax(t, axis=-1, output_type=tf.int32))(a)
    rs = L.Lambda(lambda t: tf.image.resize(t, (7, 4), method="nearest"))(a)
    return tf.keras.Model([a, b], [mx, mn, am, rs])


def upsample(tf):
    """Keras-3 UpSampling2D lowers to RESHAPE, TILE, RESHAPE (TFLite only; TFLM has no TILE)."""
    (a,) = _inputs(tf, (4, 5, 3))
    return tf.keras.Model(a, tf.keras.layers.UpSampling2D((2, 3))(a))


def clip_unit(tf):
    """clip to [-1, 1]: the converter emits RELU_N1_TO_1 (TFLite only; TFLM has no kernel)."""
    (a,) = _inputs(tf, (32,))
    return tf.keras.Model(a, tf.keras.layers.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(a))


def prelu(tf):
    """Keras PReLU (per-channel alpha, shared over the spatial axes) -> PRELU."""
    (a,) = _inputs(tf, (6, 5, 4))
    layer = tf.keras.layers.PReLU(shared_axes=[1, 2])
    out = layer(a)
    layer.set_weights([np.array([[[0.25, -0.5, 1.5, 0.05]]], dtype=np.float32)])
    return tf.keras.Model(a, out)


BUILDERS: dict[str, Callable] = {f.__name__: f for f in (
    add_relu, add_bcast, sub_bcast, sub_const, mul_bcast, mul_same, add_relu6_fused, mean_axes, gap1d,
    activations, act_int16, pad_concat, padv2_gather, split_ops, slice_ops, flatten_dynamic, gru_cell, misc_ops, clip_unit,
    upsample, prelu)}


def convert(builder: str, quant: str, ranges: list[tuple[float, float]] | None, seed: int = 0) -> bytes:
    tf = _tf()
    tf.keras.utils.set_random_seed(seed)
    model = BUILDERS[builder](tf)
    shapes = [[d or 1 for d in t.shape] for t in model.inputs]
    rng_list = ranges or [(-1.0, 1.0)] * len(shapes)

    def rep():
        r = np.random.default_rng(seed + 1)
        for _ in range(48):
            yield [r.uniform(lo, hi, s).astype(np.float32) for s, (lo, hi) in zip(shapes, rng_list)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if quant != "float32":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        if quant == "int16x8":
            conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
            io = tf.int16
        else:
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            io = tf.int8
        conv.inference_input_type = io
        conv.inference_output_type = io
    return conv.convert()


def model_path(builder: str, quant: str = "int8", ranges: list[tuple[float, float]] | None = None,
               seed: int = 0) -> Path:
    """Cached .tflite for (builder, quant, calibration ranges), converted on a miss."""
    key = json.dumps([VERSION, builder, quant, ranges, seed])
    h = hashlib.sha256(key.encode()).hexdigest()[:12]
    p = CACHE / f"ew-{builder}-{quant}-{h}.tflite"
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        data = convert(builder, quant, ranges, seed)
        tmp = p.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(p)
    return p


def op_names(path: Path) -> list[str]:
    """Builtin op names of a .tflite, via the project's reader."""
    from harness.codegen.reader import read_tflite

    return [op.opcode for op in read_tflite(path).ops]
