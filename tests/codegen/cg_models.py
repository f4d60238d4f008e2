"""Small Keras models converted to quantized .tflite, cached on disk.

Conversion is deterministic (fixed seeds), so the cache key is a hash of the builder name and
its parameters; TensorFlow is imported only on a cache miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("HIL_CODEGEN_MODEL_CACHE", Path(__file__).resolve().parents[2] / ".cache" / "codegen-models"))
BUILDER_VERSION = 3

QUANT_MODES = ("int8", "int8_pt", "int16x8", "float32")


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


# ---------------------------------------------------------------- builders (return keras.Model)

def conv_chain(tf, in_shape=(12, 12, 3)):
    L = tf.keras.layers
    x = inp = L.Input(in_shape, batch_size=1)
    x = L.Conv2D(8, 3, strides=1, padding="same", activation="relu")(x)
    x = L.Conv2D(8, 3, strides=2, padding="valid", activation="relu6")(x)
    x = L.Conv2D(6, (3, 2), dilation_rate=2, padding="same")(x)
    x = L.Conv2D(5, (2, 3), strides=(1, 2), padding="same")(x)
    return tf.keras.Model(inp, x)


def dw_chain(tf, in_shape=(12, 12, 4)):
    L = tf.keras.layers
    x = inp = L.Input(in_shape, batch_size=1)
    x = L.DepthwiseConv2D(3, strides=1, padding="same", activation="relu")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="valid", depth_multiplier=2, activation="relu6")(x)
    x = L.DepthwiseConv2D(3, dilation_rate=2, padding="same")(x)
    x = L.DepthwiseConv2D((2, 3), strides=(2, 1), padding="same", depth_multiplier=1)(x)
    return tf.keras.Model(inp, x)


def dw3_planes(tf, in_shape=(9, 7, 5)):
    """3x3 depthwise shapes of the DSP plane kernel (hil_opt_dwp3_s8): odd channel counts, odd and
    even row widths (an odd row's last pair step writes the next row's first output), stride 2 on
    one or both axes, SAME and VALID, ReLU / ReLU6 / no clamp; the first layer runs in place."""
    L = tf.keras.layers
    x = inp = L.Input(in_shape, batch_size=1)
    x = L.Conv2D(5, 1)(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)  # 9x7x5, stride 1, odd width
    x = L.DepthwiseConv2D(3, strides=(2, 1), padding="same")(x)  # 5x7x5
    x = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(x)  # 3x4x5, stride 2
    x = L.Conv2D(8, 1)(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)  # 3x4x8, even width
    x = L.DepthwiseConv2D(3, padding="valid")(x)  # 1x2x8 (the ring kernel)
    return tf.keras.Model(inp, x)


def dw3_groups(tf, in_shape=(13, 26, 3)):
    """3x3 depthwise layers the DSP plane kernel runs 4 channels a pass (channels in fours, plane
    rows of >= 12 input values): stride 1 in place with odd left padding, stride 2 SAME (even
    padding) and VALID with an odd row."""
    L = tf.keras.layers
    x = inp = L.Input(in_shape, batch_size=1)
    x = L.Conv2D(8, 1)(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)  # 13x26x8, stride 1
    x = L.DepthwiseConv2D(3, strides=2, padding="same")(x)  # 7x13x8
    x = L.DepthwiseConv2D(3, strides=2, padding="valid", activation="relu6")(x)  # 3x6x8
    return tf.keras.Model(inp, x)


def inplace_chain(tf, in_shape=(12, 6, 4)):
    """Same-shape convolutions after a widening one: each can run in place (tall, dilated and
    wide windows, 1x1, depthwise and full); the first conv's output is in the arena."""
    L = tf.keras.layers
    x = inp = L.Input(in_shape, batch_size=1)
    x = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = L.DepthwiseConv2D((5, 3), dilation_rate=(2, 1), padding="same")(x)
    x = L.Conv2D(8, 1, activation="relu")(x)
    x = L.DepthwiseConv2D((1, 3), padding="same")(x)
    x = L.Conv2D(8, (2, 3), padding="same")(x)
    x = L.DepthwiseConv2D((4, 1), padding="same", activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(5)(x)
    return tf.keras.Model(inp, x)


def odd_shapes(tf, in_shape=(7, 9, 3)):
    """The per-core kernels' tails: odd output-pixel counts (a last single row), odd channel counts
    and depths (k % 4 != 0), depthwise with channels % 4 != 0, 1x1 rows with k % 4 == 0 (read in
    place), FC with batch 1 and k % 4 == 0 or odd."""
    L = tf.keras.layers
    x = inp = L.Input(in_shape, batch_size=1)
    x = L.Conv2D(7, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(6, 1, activation="relu6")(x)
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.Conv2D(8, 1)(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="valid", activation="relu")(x)
    x = L.Conv2D(8, 1)(x)
    x = L.Flatten()(x)
    x = L.Dense(9)(x)
    x = L.Dense(5, activation="relu")(x)
    return tf.keras.Model(inp, x)


def dw_nine_taps(tf, in_shape=(12, 10, 4)):
    """Depthwise windows of 9 taps that are not 3x3 (1x9, 9x1): kernels specialised for 9 taps
    must check the shape, not the count."""
    L = tf.keras.layers
    x = inp = L.Input(in_shape, batch_size=1)
    x = L.DepthwiseConv2D((1, 9), padding="same", activation="relu")(x)
    x = L.DepthwiseConv2D((9, 1), padding="same")(x)
    return tf.keras.Model(inp, x)


def residual_block(tf, in_shape=(8, 6, 8)):
    """A MobileNetV2-style residual: the depthwise input is read again by the ADD, so it must not
    be overwritten; the 1x1 projection after it may run in place."""
    L = tf.keras.layers
    x = inp = L.Input(in_shape, batch_size=1)
    a = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    b = L.DepthwiseConv2D(3, padding="same", activation="relu")(a)
    c = L.Conv2D(8, 1)(b)
    d = L.Add()([a, c])
    y = L.Conv2D(8, 1, activation="relu")(d)
    return tf.keras.Model(inp, y)


def dense_chain(tf):
    L = tf.keras.layers
    x = inp = L.Input((20,), batch_size=1)
    x = L.Dense(16, activation="relu")(x)
    x = L.Dense(12, activation="relu6")(x)
    x = L.Dense(10)(x)
    x = L.Softmax()(x)
    return tf.keras.Model(inp, x)


def dense_3d(tf):
    """Dense on a rank-3 input: FULLY_CONNECTED with keep_num_dims."""
    L = tf.keras.layers
    x = inp = L.Input((4, 20), batch_size=1)
    x = L.Dense(8)(x)
    return tf.keras.Model(inp, x)


def mm8_shapes(tf, in_shape=(7, 5, 3)):
    """The int8-weight DSP matrix kernel's paths (kernels/opt_dsp_mm8.h): a 3-channel first conv
    (interior windows copied a kernel row at a time: 9 bytes), stride 2 with 8 channels (kernel
    rows widened straight from the input), 1x1 layers whose 35 / 12 rows are not a multiple of the
    3-row block (the last in place over its input), a conv to one pixel (one row), and FULLY_CONNECTED
    with batch 4 (rows through the blocks) and with 7 or 6 units (channel quads + a last pair)."""
    L = tf.keras.layers
    x = inp = L.Input(in_shape, batch_size=1)
    x = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(8, 1, activation="relu6")(x)
    y = L.Conv2D(9, 3, strides=2, padding="same")(x)
    y = L.Conv2D(7, 1)(y)
    z = L.Conv2D(4, y.shape[1:3], padding="valid")(y)
    z = L.Dense(6)(L.Flatten()(z))
    y = L.Dense(7)(L.Reshape((y.shape[1] * y.shape[2] // 3, 3 * 7))(y))
    return tf.keras.Model(inp, L.Concatenate()([L.Flatten()(y), z]))


def first_conv(tf, in_shape=(9, 7, 3), only=None):
    """First-layer convolutions (1-3 input channels, kernels/opt_dsp_first.h), each reading the
    input: stride 2 same padding (VWW's shape, 8 channels), stride 1 same with an odd channel count,
    non-square valid windows with strides (2, 1), a 2x3 window with strides (1, 2) and 3 channels,
    a 4x1 window with 2 channels of relu6; odd output widths (one pixel computed, not stored).
    only=i: that convolution alone (one call site: at -O2 the kernel's asm path, whose offsets are
    the layer's constants; with several call sites it runs its C steps)."""
    L = tf.keras.layers
    x = inp = L.Input(in_shape, batch_size=1)
    convs = [lambda: L.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
             lambda: L.Conv2D(5, 3, strides=1, padding="same"),
             lambda: L.Conv2D(6, (4, 2), strides=(2, 1), padding="valid"),
             lambda: L.Conv2D(3, (2, 3), strides=(1, 2), padding="same", activation="relu6"),
             lambda: L.Conv2D(2, (4, 1), padding="same", activation="relu6")]
    if only is not None:
        return tf.keras.Model(inp, convs[only]()(x))
    return tf.keras.Model(inp, L.Concatenate()([L.Flatten()(c()(x)) for c in convs]))


def pool_chain(tf):
    L = tf.keras.layers
    x = inp = L.Input((12, 12, 4), batch_size=1)
    a = L.MaxPooling2D(3, strides=1, padding="same")(x)
    a = L.AveragePooling2D(3, strides=2, padding="same")(a)
    a = L.AveragePooling2D(2, strides=2, padding="valid")(a)
    a = L.MaxPooling2D(2, strides=1, padding="valid")(a)
    return tf.keras.Model(inp, a)


def softmax_wide(tf):
    L = tf.keras.layers
    x = inp = L.Input((3, 17), batch_size=1)
    x = L.Dense(17)(x)
    x = L.Softmax()(x)
    return tf.keras.Model(inp, x)


def har_cnn1d(tf):
    """Activity recognition 1D-CNN, 128 samples x 3 axes, 6 classes."""
    L = tf.keras.layers
    x = inp = L.Input((128, 3), batch_size=1)
    x = L.Conv1D(16, 5, activation="relu")(x)
    x = L.MaxPooling1D(2)(x)
    x = L.Conv1D(24, 5, strides=2, activation="relu")(x)
    x = L.MaxPooling1D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(32, activation="relu")(x)
    x = L.Dense(6)(x)
    x = L.Softmax()(x)
    return tf.keras.Model(inp, x)


def ds_cnn(tf):
    """Keyword-spotting DS-CNN (MLPerf Tiny shape, fewer channels), 49x10x1 MFCCs, 12 classes."""
    L = tf.keras.layers
    x = inp = L.Input((49, 10, 1), batch_size=1)
    x = L.Conv2D(32, (10, 4), strides=2, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    for _ in range(3):
        x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = L.Conv2D(32, 1, use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.AveragePooling2D((25, 5))(x)
    x = L.Flatten()(x)
    x = L.Dense(12)(x)
    x = L.Softmax()(x)
    return tf.keras.Model(inp, x)


def autoencoder(tf, width=640, hidden=64, code=8):
    """Anomaly-detection dense autoencoder (MLPerf Tiny shape, narrower)."""
    L = tf.keras.layers
    x = inp = L.Input((width,), batch_size=1)
    for n in (hidden, hidden, code, hidden, hidden):
        x = L.Dense(n)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.Dense(width)(x)
    return tf.keras.Model(inp, x)


BUILDERS: dict[str, Callable] = {
    f.__name__: f
    for f in (conv_chain, dw_chain, dw3_planes, dw3_groups, odd_shapes, dw_nine_taps, inplace_chain, residual_block,
              dense_chain, dense_3d, pool_chain, mm8_shapes, first_conv, softmax_wide, har_cnn1d, ds_cnn, autoencoder)
}


def _randomize_bn(tf, model, rng):
    """Give BatchNorm layers non-trivial statistics so folded weights are realistic."""
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([
                rng.uniform(0.5, 1.5, g.shape).astype(np.float32),
                rng.uniform(-0.2, 0.2, b.shape).astype(np.float32),
                rng.uniform(-0.2, 0.2, m.shape).astype(np.float32),
                rng.uniform(0.5, 1.5, v.shape).astype(np.float32),
            ])


def convert(builder: str, quant: str = "int8", seed: int = 0, float_io: bool = False, **params) -> bytes:
    """Build `builder`'s Keras model with random weights and convert it."""
    tf = _keras()
    tf.keras.utils.set_random_seed(seed)
    model = BUILDERS[builder](tf, **params)
    rng = np.random.default_rng(seed)
    # biases are zero-initialised by Keras: make them non-zero so bias handling is exercised
    for layer in model.layers:
        w = layer.get_weights()
        if w and hasattr(layer, "use_bias") and layer.use_bias:
            w[-1] = rng.uniform(-0.3, 0.3, w[-1].shape).astype(np.float32)
            layer.set_weights(w)
    _randomize_bn(tf, model, rng)
    in_shape = [d or 1 for d in model.inputs[0].shape]

    def rep():
        r = np.random.default_rng(seed + 1)
        for _ in range(32):
            yield [r.uniform(-1.0, 1.0, in_shape).astype(np.float32)]

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
        if quant == "int8_pt":
            conv._experimental_disable_per_channel = True
        if not float_io:
            conv.inference_input_type = io
            conv.inference_output_type = io
    return conv.convert()


def model_path(builder: str, quant: str = "int8", seed: int = 0, float_io: bool = False, **params) -> Path:
    """Path of the cached .tflite for these parameters, converting it on a miss."""
    key = json.dumps([BUILDER_VERSION, builder, quant, seed, float_io, sorted(params.items())], sort_keys=True)
    h = hashlib.sha256(key.encode()).hexdigest()[:16]
    p = CACHE / f"{builder}-{quant}{'-fio' if float_io else ''}-{h}.tflite"
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        data = convert(builder, quant, seed, float_io, **params)
        tmp = p.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(p)
    return p


# ---------------------------------------------------------------- special files for error paths

def _special(kind: str) -> bytes:
    tf = _keras()
    if kind == "while_loop":
        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def f(x):
            return tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2.0 + 1.0), [tf.constant(0), x])[1]

        return tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f).convert()
    raise KeyError(kind)


def special_path(kind: str) -> Path:
    p = CACHE / f"special-{kind}-v{BUILDER_VERSION}.tflite"
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(_special(kind))
        tmp.replace(p)
    return p


def with_opcode(src: Path, old: str, new: str) -> bytes:
    """Copy of a .tflite with every `old` builtin op renamed to `new` (to provoke errors)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromPackedBuf(src.read_bytes(), 0)
    code_old, code_new = getattr(fb.BuiltinOperator, old), getattr(fb.BuiltinOperator, new)
    for oc in m.operatorCodes:
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code_old:
            oc.builtinCode = code_new
            oc.deprecatedBuiltinCode = min(code_new, 127)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def to_offset_buffers(src: Path) -> bytes:
    """Rewrite a .tflite so every constant lives after the flatbuffer (buffer offset/size), the
    layout the converter uses for models over 2 GB and ai-edge-quantizer outputs."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromPackedBuf(src.read_bytes(), 0)
    blobs = {}
    for i, b in enumerate(m.buffers):
        if b.data is not None and len(b.data):
            blobs[i] = bytes(np.asarray(b.data, dtype=np.uint8))
            b.data, b.offset, b.size = None, 1 << 40, len(blobs[i])  # placeholder, fixed width

    def pack() -> bytes:
        bld = flatbuffers.Builder(1024)
        bld.Finish(m.Pack(bld), file_identifier=b"TFL3")
        return bytes(bld.Output())

    head = pack()
    pos = (len(head) + 15) // 16 * 16
    layout = []
    for i, blob in blobs.items():
        m.buffers[i].offset = pos
        layout.append((pos, blob))
        pos = (pos + len(blob) + 15) // 16 * 16
    head = pack()
    out = bytearray(head)
    for off, blob in layout:
        out.extend(b"\0" * (off - len(out)))
        out.extend(blob)
    return bytes(out)


# ---------------------------------------------------------------- hand-built single-op models

def single_op(opcode: str, inputs: list[dict], outputs: list[dict], options: dict | None = None,
              options_type: str | None = None, version: int = 1) -> bytes:
    """A one-op .tflite built directly with the schema's object API, for options and type
    combinations the Keras converter does not produce (beta != 1, requantize, fused
    activations on pools...). Tensor dicts: shape, dtype, scale, zero_point, optional data
    (constant) and quantized_dimension."""
    return op_chain([(opcode, inputs, outputs, options, options_type)], version)


def op_chain(ops: list[tuple], version: int = 1) -> bytes:
    """single_op's model with several ops in a chain: per op (opcode, inputs, outputs, options,
    options_type); an input given as the string "prev" is the previous op's first output. The
    model's inputs are the non-constant new input tensors, its outputs the last op's."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    types = {"float32": fb.TensorType.FLOAT32, "int8": fb.TensorType.INT8, "int16": fb.TensorType.INT16,
             "int32": fb.TensorType.INT32, "int64": fb.TensorType.INT64, "int4": fb.TensorType.INT4}
    m = fb.ModelT()
    m.version = 3
    m.buffers = [fb.BufferT()]
    sg = fb.SubGraphT()
    sg.tensors, sg.operators = [], []

    def add_tensor(spec: dict, k: int) -> int:
        t = fb.TensorT()
        t.name = f"t{k}".encode()
        t.shape = list(spec["shape"])
        t.type = types[spec["dtype"]]
        if spec.get("scale") is not None:
            q = fb.QuantizationParametersT()
            q.scale = list(np.atleast_1d(np.asarray(spec["scale"], dtype=np.float32)))
            q.zeroPoint = list(np.atleast_1d(np.asarray(spec.get("zero_point", 0), dtype=np.int64)))
            q.quantizedDimension = spec.get("quantized_dimension", 0)
            t.quantization = q
        b = fb.BufferT()
        if spec.get("data") is not None and spec["dtype"] == "int4":
            v = (np.asarray(spec["data"], dtype=np.int8).reshape(-1) & 0x0F).astype(np.uint8)
            v = np.concatenate([v, np.zeros(len(v) % 2, np.uint8)])
            b.data = list(v[0::2] | (v[1::2] << 4))  # two per byte, low nibble first
        elif spec.get("data") is not None:
            b.data = list(np.ascontiguousarray(spec["data"]).view(np.uint8).reshape(-1))
        m.buffers.append(b)
        t.buffer = len(m.buffers) - 1
        sg.tensors.append(t)
        return len(sg.tensors) - 1

    m.operatorCodes, sg.inputs, prev = [], [], []
    for opcode, inputs, outputs, options, options_type in ops:
        ins = [prev[0] if s == "prev" else add_tensor(s, len(sg.tensors)) for s in inputs]
        sg.inputs += [i for i, s in zip(ins, inputs) if s != "prev" and s.get("data") is None]
        outs = [add_tensor(s, len(sg.tensors)) for s in outputs]
        code = getattr(fb.BuiltinOperator, opcode)
        oc = fb.OperatorCodeT()
        oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), version
        m.operatorCodes.append(oc)
        op = fb.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = len(m.operatorCodes) - 1, ins, outs
        if options_type is not None:
            op.builtinOptionsType = getattr(fb.BuiltinOptions, options_type)
            obj = getattr(fb, f"{options_type}T")()
            for k, v in (options or {}).items():
                setattr(obj, k, v)
            op.builtinOptions = obj
        sg.operators.append(op)
        prev = outs
    sg.outputs = prev
    m.subgraphs = [sg]
    bld = flatbuffers.Builder(1024)
    bld.Finish(m.Pack(bld), file_identifier=b"TFL3")
    return bytes(bld.Output())
