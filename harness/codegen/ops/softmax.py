"""SOFTMAX plug-in: int8 -> int8/int16 (fixed-point exp), int16 -> int16 (TFLM's LUTs), float32."""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from harness.codegen.fixedpoint import quantize_multiplier, quantize_multiplier_greater_than_one
from harness.codegen.ir import Graph, Op
from harness.codegen.ops import EmitContext, OpCode, register
from harness.codegen.ops._common import c_struct, first_io

SUPPORTED = ("int8 -> int8 (output scale 1/256, zero point -128), int8 -> int16 (1/65536, -32768), "
             "int16 -> int16 (1/32768, 0), float32")

SCALED_DIFF_INT_BITS = 5


@lru_cache(maxsize=1)
def _expf() -> Callable[[float], float]:
    """The C library's expf: TFLM builds its int16 exp table with it, so we use the same."""
    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    f = libm.expf
    f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float]
    return f


def _roundf(v: np.float32) -> np.float32:
    x = float(v)
    return np.float32(math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5))


def int16_lut(func: Callable[[np.float32], np.float32], lo: float, hi: float) -> np.ndarray:
    """TFLM's gen_lut<float, int16_t, int16_t> (513 entries, output range [-1, 1]) in float32."""
    f32 = np.float32
    n = 512
    lo32, hi32 = f32(lo), f32(hi)  # the table in float32, as TFLM computes it
    step = f32((hi32 - lo32) / f32(n))
    half = f32(step / f32(2))
    inv = f32(f32(65536) / f32(2))
    tmin, tmax = f32(-32768), f32(32767)
    out = np.zeros(n + 1, dtype=np.int16)
    for i in range(n):
        x0 = f32(lo32 + f32(f32(i) * step))
        val = func(x0)
        mid = func(f32(f32(lo32 + f32(f32(i) * step)) + half))
        nxt = func(f32(lo32 + f32(f32(i + 1) * step)))
        sample = _roundf(f32(val * inv))
        interp = _roundf(f32(f32(f32(nxt * inv) + _roundf(f32(val * inv))) / f32(2)))
        midv = _roundf(f32(mid * inv))
        bias = _roundf(f32(f32(interp - midv) / f32(2)))
        out[i] = int(min(max(f32(sample - bias), tmin), tmax))
    out[n] = int(min(max(_roundf(f32(func(hi32) * inv)), tmin), tmax))
    return out


def exp_lut() -> np.ndarray:
    e = _expf()
    return int16_lut(lambda v: np.float32(e(float(v))), -10.0, 0.0)


def one_over_one_plus_x_lut() -> np.ndarray:
    return int16_lut(lambda v: np.float32(np.float32(1.0) / np.float32(np.float32(1.0) + np.float32(v))), 0.0, 1.0)


@register("SOFTMAX")
def emit_softmax(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x, y = first_io(op, graph, ctx, SUPPORTED)
    beta = float(np.float32(op.options.get("beta", 1.0)))
    if x.size != y.size or not x.shape:
        raise ctx.unsupported(op, f"input {list(x.shape)} / output {list(y.shape)}", SUPPORTED)
    depth = int(x.shape[-1])
    rows = x.size // depth
    kernels = ["softmax.h"]
    if x.dtype == "float32" and y.dtype == "float32":
        code = (f"{c_struct('hil_softmax_f32_params_t', {'rows': rows, 'depth': depth, 'beta': beta})}\n"
                f"hil_softmax_f32(&p, {ctx.ptr(x.index)}, {ctx.ptr(y.index)});")
        return OpCode(code=code, kernels=kernels + ["softmax_f32.c"])
    if x.quant is None or y.quant is None:
        raise ctx.unsupported(op, f"{x.dtype} tensors without quantization", SUPPORTED)
    consts: dict[str, np.ndarray] = {}
    fields: dict[str, object] = {"rows": rows, "depth": depth}
    if x.dtype == "int8" and y.dtype in ("int8", "int16"):
        want = (np.float32(1 / 256), -128) if y.dtype == "int8" else (np.float32(1 / 65536), -32768)
        if y.zero_point != want[1] or abs(np.float32(y.scale) - want[0]) > 0.001 * want[0]:
            raise ctx.unsupported(op, f"{y.dtype} output scale {y.scale} zero point {y.zero_point}", SUPPORTED)
        real = min(beta * float(np.float32(x.scale)) * (1 << (31 - SCALED_DIFF_INT_BITS)), float((1 << 31) - 1))
        m, shift = quantize_multiplier_greater_than_one(real)
        radius = ((1 << SCALED_DIFF_INT_BITS) - 1) * (1 << (31 - SCALED_DIFF_INT_BITS)) / (1 << shift)
        fields.update({"input_multiplier": m, "input_shift": shift, "diff_min": -math.floor(radius),
                       "exp_lut": "(const int16_t *)0", "one_over_one_plus_x": "(const int16_t *)0"})
        fn = "hil_softmax_s8" if y.dtype == "int8" else "hil_softmax_s8_s16"
        src = "softmax_s8.c"
    elif x.dtype == "int16" and y.dtype == "int16":
        if y.zero_point != 0 or abs(np.float32(y.scale) - np.float32(1 / 32768)) > 0.001 / 32768:
            raise ctx.unsupported(op, f"int16 output scale {y.scale} zero point {y.zero_point}", SUPPORTED)
        m, shift = quantize_multiplier(float(np.float32(x.scale)) * beta / (10.0 / 65535.0))
        lut_e, lut_r = ctx.const_name(op, "exp_lut"), ctx.const_name(op, "recip_lut")
        consts = {lut_e: exp_lut(), lut_r: one_over_one_plus_x_lut()}
        fields.update({"input_multiplier": m, "input_shift": shift, "diff_min": 0,
                       "exp_lut": lut_e, "one_over_one_plus_x": lut_r})
        fn, src = "hil_softmax_s16", "softmax_s16.c"
    else:
        raise ctx.unsupported(op, f"{x.dtype} input with {y.dtype} output", SUPPORTED)
    code = f"{c_struct('hil_softmax_params_t', fields)}\n{fn}(&p, {ctx.ptr(x.index)}, {ctx.ptr(y.index)});"
    return OpCode(code=code, constants=consts, kernels=kernels + [src])
