"""Op variants the Keras converter does not emit, from hand-built one-op models: requantizing
QUANTIZE, int16 DEQUANTIZE, softmax with beta != 1 and int8 -> int16, fused activations on
pools, RELU_N1_TO_1 on a convolution. Generated C vs the TFLM runtime, bit-exact."""

from __future__ import annotations

import numpy as np
import pytest
from cg_models import single_op
from harness_utils import compare


def T(shape, dtype, scale=None, zp=0, data=None, qdim=0):
    return {"shape": shape, "dtype": dtype, "scale": scale, "zero_point": zp, "data": data, "quantized_dimension": qdim}


def _run(tmp_path, name, raw, n_random=12):
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(raw)
    return compare(path, tmp_path / "w", n_random=n_random)


@pytest.mark.parametrize(
    "src, dst",
    [(("int8", 0.05, 3), ("int8", 0.11, -20)), (("int8", 0.2, -7), ("int8", 0.03, 5)),
     (("int8", 0.05, 3), ("int16", 0.0007, 0)), (("int16", 0.001, 0), ("int8", 0.25, 10)),
     (("int16", 0.001, 0), ("int16", 0.0003, 0)), (("float32", None, 0), ("int16", 0.0004, 0))],
    ids=["s8-s8-down", "s8-s8-up", "s8-s16", "s16-s8", "s16-s16", "f32-s16"],
)
def test_quantize_variants(src, dst, tmp_path):
    raw = single_op("QUANTIZE", [T([1, 37], src[0], src[1], src[2])], [T([1, 37], dst[0], dst[1], dst[2])])
    _run(tmp_path, "q", raw)


def test_dequantize_int16(tmp_path):
    raw = single_op("DEQUANTIZE", [T([2, 19], "int16", 0.0013, 0)], [T([2, 19], "float32")])
    _run(tmp_path, "dq", raw)


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.5])
@pytest.mark.parametrize("io", ["s8-s8", "s8-s16", "s16-s16"])
def test_softmax_beta_and_types(beta, io, tmp_path):
    in_t = T([3, 11], "int8", 0.09, 4) if io.startswith("s8") else T([3, 11], "int16", 0.0004, 0)
    out_t = {"s8-s8": T([3, 11], "int8", 1 / 256, -128), "s8-s16": T([3, 11], "int16", 1 / 65536, -32768),
             "s16-s16": T([3, 11], "int16", 1 / 32768, 0)}[io]
    raw = single_op("SOFTMAX", [in_t], [out_t], {"beta": beta}, "SoftmaxOptions")
    _run(tmp_path, "sm", raw)


@pytest.mark.parametrize("opcode", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("dtype, scale, zp", [("int8", 0.02, -10), ("int16", 0.0005, 0)])
def test_pool_with_fused_relu6(opcode, dtype, scale, zp, tmp_path):
    opts = {"padding": 0, "strideW": 2, "strideH": 1, "filterWidth": 3, "filterHeight": 2, "fusedActivationFunction": 3}
    raw = single_op(opcode, [T([1, 5, 7, 3], dtype, scale, zp)], [T([1, 5, 4, 3], dtype, scale, zp)], opts, "Pool2DOptions")
    _run(tmp_path, "pool", raw)


def test_conv_relu_n1_to_1_per_channel(tmp_path):
    rng = np.random.default_rng(4)
    w = rng.integers(-127, 128, (4, 3, 3, 2)).astype(np.int8)
    b = rng.integers(-500, 500, 4).astype(np.int32)
    ws = rng.uniform(0.002, 0.02, 4).astype(np.float32)
    opts = {"padding": 1, "strideW": 1, "strideH": 2, "fusedActivationFunction": 2,
            "dilationWFactor": 1, "dilationHFactor": 1}
    raw = single_op(
        "CONV_2D",
        [T([1, 7, 6, 2], "int8", 0.05, 6), T([4, 3, 3, 2], "int8", ws, np.zeros(4, np.int64), w),
         T([4], "int32", ws * np.float32(0.05), np.zeros(4, np.int64), b)],
        [T([1, 3, 4, 4], "int8", 0.01, -3)], opts, "Conv2DOptions", version=3)
    _run(tmp_path, "conv", raw)


@pytest.mark.parametrize("opcode", ["CONV_2D", "FULLY_CONNECTED"])
def test_int4_packed_weights(opcode, tmp_path):
    """INT4 weights (two per byte) are unpacked by the reader and run as int8 values."""
    rng = np.random.default_rng(5)
    if opcode == "CONV_2D":
        wshape, xshape, yshape, n = (4, 3, 3, 3), [1, 6, 6, 3], [1, 6, 6, 4], 4
        opts, otype = {"padding": 0, "strideW": 1, "strideH": 1, "fusedActivationFunction": 1,
                       "dilationWFactor": 1, "dilationHFactor": 1}, "Conv2DOptions"
    else:
        wshape, xshape, yshape, n = (5, 11), [1, 11], [1, 5], 5
        opts, otype = {"fusedActivationFunction": 0}, "FullyConnectedOptions"
    w = rng.integers(-8, 8, wshape).astype(np.int8)
    ws = rng.uniform(0.02, 0.1, n).astype(np.float32)
    if opcode == "FULLY_CONNECTED":  # TFLM runs int4 FC with per-tensor weights only
        ws = np.full(n, ws[0], np.float32)
    b = rng.integers(-300, 300, n).astype(np.int32)
    wq = (ws, np.zeros(n, np.int64)) if opcode == "CONV_2D" else (ws[:1], np.zeros(1, np.int64))
    raw = single_op(opcode, [T(xshape, "int8", 0.05, -3), T(list(wshape), "int4", wq[0], wq[1], w),
                             T([n], "int32", ws * np.float32(0.05), np.zeros(n, np.int64), b)],
                    [T(yshape, "int8", 0.1, 2)], opts, otype, version=7)
    _run(tmp_path, "i4", raw)
