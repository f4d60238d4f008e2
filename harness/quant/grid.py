"""Make a converted int8 model's weights an exact b-bit grid, and check it.

Why: weights fake-quantized to k*s (|k| <= q = 2^(b-1)-1) come out of the converter as
round(k*127/q) with scale q*s/127 — at most 2^b levels, but not evenly spaced in int8 when 127/q
is not an integer (b=4: 127/7). The code generator stores k packed and needs int8 = k*m exactly,
so we rewrite each weight tensor to int8 = k*m with m = 127 // q (b=4: 18) and per-channel
scale' = scale * 127 / (q*m), so that scale' * k*m = k*s is the fake-quantized Keras weight, and
requantize the int32 bias to the new bias scale (input scale * scale'). TFLM reads the new
scales, so it stays the golden reference.
For b=2 (q=1, m=127) the converter's output is already on the grid and nothing changes.
"""

from __future__ import annotations

import numpy as np

from harness.errors import UnsupportedModel

_WEIGHT_OPS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}


def _fb(writable: bool = True):
    """The flatbuffer schema module.

    Rewriting uses TensorFlow's schema (the one the converter wrote with, so re-serialising drops
    no field); read-only helpers use the copy inside tflite_micro, so a code generator can call
    them without importing TensorFlow.
    """
    if writable:
        from tensorflow.lite.python import schema_py_generated as fb
    else:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
    return fb


def _load(model: bytes, writable: bool = True):
    fb = _fb(writable)
    m = fb.ModelT.InitFromPackedBuf(bytearray(model), 0)
    ops = {v: k for k, v in vars(fb.BuiltinOperator).items() if k.isupper()}
    return fb, m, ops


def _save(m) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def weight_tensors(model: bytes, writable: bool = False):
    """(schema, model object, [(op name, weight, bias or None, input tensor)]) for each weighted op."""
    fb, m, ops = _load(model, writable)
    sg = m.subgraphs[0]
    out = []
    for op in sg.operators:
        oc = m.operatorCodes[op.opcodeIndex]
        name = ops.get(max(oc.builtinCode, oc.deprecatedBuiltinCode))
        if name in _WEIGHT_OPS:
            bias = sg.tensors[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
            out.append((name, sg.tensors[op.inputs[1]], bias, sg.tensors[op.inputs[0]]))
    return fb, m, out


def _weights(m, t) -> np.ndarray:
    return np.frombuffer(bytes(m.buffers[t.buffer].data), np.int8).reshape(t.shape)


def levels_per_channel(model: bytes) -> list[tuple[str, int]]:
    """(weight tensor name, max distinct int8 values in any output channel) for each weighted op."""
    _fb, m, wts = weight_tensors(model)
    res = []
    for name, w, _, _ in wts:
        q = _weights(m, w)
        axis = _WEIGHT_OPS[name]
        chans = np.moveaxis(q, axis, 0).reshape(q.shape[axis], -1)
        res.append((w.name.decode(), max(len(np.unique(c)) for c in chans)))
    return res


def snap_to_grid(model: bytes, bits: int) -> bytes:
    """Rewrite int8 per-channel weights from round(k*127/q) to k*m (see module doc); checks the grid."""
    q = (1 << (bits - 1)) - 1
    step = 127 // q
    fb, m, wts = weight_tensors(model, writable=True)
    for name, w, bias, inp in wts:
        if w.type != fb.TensorType.INT8:
            raise UnsupportedModel(f"{name} weight {w.name.decode()} is not int8 (type {w.type})")
        axis = _WEIGHT_OPS[name]
        qw = np.moveaxis(_weights(m, w).astype(np.int32), axis, 0)
        nch = qw.shape[0]
        scales = np.asarray(w.quantization.scale, np.float32)
        if scales.size != nch:
            raise UnsupportedModel(
                f"{name} weight {w.name.decode()} has {scales.size} scales for {nch} channels; the "
                f"w{bits} grid needs per-channel weights (do not use per-tensor conversion)"
            )
        k = np.round(qw * q / 127.0).astype(np.int32)
        if np.any(np.round(k * 127.0 / q) != qw):
            bad = int(np.sum(np.round(k * 127.0 / q) != qw))
            raise UnsupportedModel(
                f"{name} weight {w.name.decode()}: {bad} int8 values are off the {bits}-bit grid; "
                "fake-quantize the Keras kernels before conversion (harness.quant.weights)"
            )
        new_q = np.moveaxis(k * step, 0, axis).astype(np.int8)
        factor = np.float64(127.0) / (q * step)  # new scale / old scale
        new_scales = (scales.astype(np.float64) * factor).astype(np.float32)
        m.buffers[w.buffer].data = np.frombuffer(new_q.tobytes(), np.uint8).copy()
        w.quantization.scale = new_scales.tolist()
        if bias is not None and bias.buffer and m.buffers[bias.buffer].data is not None:
            in_scale = np.float64(inp.quantization.scale[0])
            bdt = np.int32 if bias.type == fb.TensorType.INT32 else np.int64
            bq = np.frombuffer(bytes(m.buffers[bias.buffer].data), bdt).astype(np.float64)
            real = bq * in_scale * scales.astype(np.float64)
            bscale = in_scale * new_scales.astype(np.float64)
            info = np.iinfo(bdt)
            nb = np.clip(np.round(real / bscale), info.min, info.max).astype(bdt)
            m.buffers[bias.buffer].data = np.frombuffer(nb.tobytes(), np.uint8).copy()
            bias.quantization.scale = bscale.astype(np.float32).tolist()
    return _save(m)


def grid_codes(model: bytes, bits: int) -> list[tuple[str, np.ndarray, int]]:
    """(tensor name, k codes in the TFLite layout, step m) per weighted op; raises if off-grid.

    What a code generator packs with `harness.quant.packing.pack(k, bits)`.
    """
    step = 127 // ((1 << (bits - 1)) - 1)
    _fb, m, wts = weight_tensors(model)
    out = []
    for name, w, _, _ in wts:
        qw = _weights(m, w).astype(np.int32)
        if np.any(qw % step):
            raise UnsupportedModel(f"{name} weight {w.name.decode()} is not on the {bits}-bit grid (step {step})")
        out.append((w.name.decode(), (qw // step).astype(np.int8), step))
    return out


def detect_weight_bits(model: bytes) -> int:
    """2 or 4 if every weighted op's int8 weights lie on that grid (k*127 or k*18), else 8.

    Lets a code generator pick packed kernels from the file alone; an ordinary int8 model never
    has all its weights on multiples of 18 or 127.
    """
    fb, m, wts = weight_tensors(model)
    if not wts:
        return 8
    for bits in (2, 4):
        step = 127 // ((1 << (bits - 1)) - 1)
        if all(w.type == fb.TensorType.INT8 and not np.any(_weights(m, w).astype(np.int32) % step) for _, w, _, _ in wts):
            return bits
    return 8
