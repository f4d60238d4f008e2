"""Activation ops: LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH (int8, int16, float32).

Why lookup tables: every int8 unary op is a function of 256 possible input values, so the
generator evaluates TFLM's exact integer arithmetic here, in Python, once per op and emits a
256-byte table; the device does one load per element. This is bit-exact by construction (same
integer steps as TFLM's reference kernels, mirrored below) and is smaller and faster than
running gemmlowp's fixed-point exp/reciprocal on a Cortex-M0+. int16 ops run their arithmetic
in C (kernels/activations.c), because a 65536-entry table is too big for flash.
"""

from __future__ import annotations

import math

import numpy as np

from harness.codegen.fixedpoint import (
    INT_RANGES,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    srdhm,
)
from harness.codegen.ir import Graph, Op
from harness.codegen.ops import EmitContext, OpCode, register


def _kernels(fn: str) -> list[str]:
    """Kernel files for a C function: one source per data type (hil_x_s8 -> activations_s8.c)."""
    if fn in ("hil_logistic_s16", "hil_tanh_s16"):
        return ["activations.h", "activations_sigmoid_s16.c"]
    return ["activations.h", f"activations_{fn.rsplit('_', 1)[1]}.c"]

_I32_MAX = 2**31 - 1
_I32_MIN = -(2**31)


# --------------------------------------------------------------------------------------------
# Exact Python mirrors of the gemmlowp fixed-point functions TFLM's int8 LOGISTIC/TANH use.
# Values are raw int32 of FixedPoint<int32, IntegerBits>; products are SRDHM, sums wrap.


def _wrap32(v: int) -> int:
    return ((v + 2**31) % 2**32) - 2**31


def _sat_mul_pot(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT: saturating left shift or rounding right shift."""
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return _I32_MAX
    if x < -threshold:
        return _I32_MIN
    return _wrap32(x << exponent)


def _rescale(x: int, src_int_bits: int, dst_int_bits: int) -> int:
    return _sat_mul_pot(x, src_int_bits - dst_int_bits)


def _rounding_half_sum(a: int, b: int) -> int:
    s = a + b
    v = s + (1 if s >= 0 else -1)
    q = abs(v) // 2  # C++ division truncates toward zero
    return q if v >= 0 else -q


def _exp_on_interval_between_neg_quarter_and_0(a: int) -> int:
    """exp(a) for a in [-1/4, 0), Q0.31, Taylor series around -1/8."""
    constant_term = 1895147668  # exp(-1/8)
    one_third = 715827883
    x = _wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = _sat_mul_pot(x4, -2)
    poly = _sat_mul_pot(_wrap32(srdhm(_wrap32(x4_over_4 + x3), one_third) + x2), -1)
    return _wrap32(constant_term + srdhm(constant_term, _wrap32(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def _exp_on_negative_values(a: int, int_bits: int) -> int:
    """exp(a) for a <= 0 given with `int_bits` integer bits; result Q0.31."""
    frac_bits = 31 - int_bits
    one_quarter = 1 << (frac_bits - 2)
    mask = one_quarter - 1
    a_mod_q_minus_q = _wrap32((a & mask) - one_quarter)
    result = _exp_on_interval_between_neg_quarter_and_0(_rescale(a_mod_q_minus_q, int_bits, 0))
    remainder = _wrap32(a_mod_q_minus_q - a)
    for exponent, multiplier in _EXP_BARREL:
        if int_bits > exponent:
            shift = frac_bits + exponent
            if remainder & (1 << shift):
                result = srdhm(result, multiplier)
    if int_bits > 5:
        clamp = -(1 << (36 - int_bits))
        if a < clamp:
            result = 0
    if a == 0:
        result = _I32_MAX
    return result


def _newton_reciprocal_half_denominator(half_den: int) -> int:
    """x ~= 1/half_den in Q2.29 via three Newton-Raphson steps (gemmlowp's constants)."""
    c48_17 = 1515870810
    c_neg32_17 = -1010580540
    x = _wrap32(c48_17 + srdhm(half_den, c_neg32_17))
    one_q2 = 1 << 29
    for _ in range(3):
        hdx = srdhm(half_den, x)
        one_minus = _wrap32(one_q2 - hdx)
        x = _wrap32(x + _rescale(srdhm(x, one_minus), 4, 2))
    return x


def _one_over_one_plus_x(a: int) -> int:
    """1/(1+a) for a in [0,1], Q0.31."""
    half_den = _rounding_half_sum(a, _I32_MAX)
    x = _newton_reciprocal_half_denominator(half_den)
    return _rescale(x, 1, 0)  # ExactMulByPot<-1> then Rescale<0>


def _one_minus_x_over_one_plus_x(a: int) -> int:
    """(1-a)/(1+a) for a in [0,1], Q0.31."""
    half_den = _rounding_half_sum(a, _I32_MAX)
    x = _newton_reciprocal_half_denominator(half_den)
    return _rescale(_wrap32(x - (1 << 29)), 2, 0)


def fx_logistic(a: int, int_bits: int) -> int:
    """gemmlowp::logistic on FixedPoint<int32, int_bits>; result Q0.31."""
    if a == 0:
        return 1 << 30
    abs_a = a if a > 0 else _wrap32(-a)
    pos = _one_over_one_plus_x(_exp_on_negative_values(_wrap32(-abs_a), int_bits))
    return pos if a > 0 else _wrap32(_I32_MAX - pos)


def fx_tanh(a: int, int_bits: int) -> int:
    """gemmlowp::tanh on FixedPoint<int32, int_bits>; result Q0.31."""
    if a == 0:
        return 0
    n = a if a < 0 else _wrap32(-a)
    t = _one_minus_x_over_one_plus_x(_exp_on_negative_values(n, int_bits + 1))
    return _wrap32(-t) if a < 0 else t


# --------------------------------------------------------------------------------------------
# Prepare-time parameters, computed as TFLM's Prepare functions compute them.


def _input_radius(int_bits: int, left_shift: int, total_bits: int = 31) -> int:
    v = 1.0 * ((1 << int_bits) - 1) * (1 << (total_bits - int_bits)) / (1 << left_shift) if left_shift >= 0 \
        else 1.0 * ((1 << int_bits) - 1) * (1 << (total_bits - int_bits)) * (1 << -left_shift)
    return math.floor(v)


def _sigmoid_tanh_s8_params(scale: float) -> tuple[int, int, int]:
    """(multiplier, left_shift, range_radius) for int8 LOGISTIC/TANH (4 integer bits)."""
    real = float(np.float32(scale)) * float(1 << 27)
    q, left_shift = math.frexp(real)
    mult = math.floor(q * (1 << 31) + 0.5)
    return mult, left_shift, _input_radius(4, left_shift)


def logistic_lut_s8(in_scale: float, in_zp: int) -> np.ndarray:
    """256-entry table: out[q + 128] for input q, as TFLM's int8 LOGISTIC computes it."""
    mult, shift, radius = _sigmoid_tanh_s8_params(float(in_scale))
    in_zp = int(in_zp)
    out = np.zeros(256, dtype=np.int8)
    for q in range(-128, 128):
        x = q - in_zp
        if x <= -radius:
            y = -128
        elif x >= radius:
            y = 127
        else:
            x4 = multiply_by_quantized_multiplier(x, mult, shift)
            y = rounding_divide_by_pot(fx_logistic(x4, 4), 23) - 128
            y = min(max(y, -128), 127)
        out[q + 128] = y
    return out


def tanh_lut_s8(in_scale: float, in_zp: int) -> np.ndarray:
    """256-entry table for TFLM's int8 TANH (output zero point 0, scale 1/128)."""
    mult, shift, radius = _sigmoid_tanh_s8_params(float(in_scale))
    in_zp = int(in_zp)
    out = np.zeros(256, dtype=np.int8)
    for q in range(-128, 128):
        x = q - in_zp
        if x <= -radius:
            y = -128
        elif x >= radius:
            y = 127
        else:
            x4 = multiply_by_quantized_multiplier(x, mult, shift)
            y = rounding_divide_by_pot(fx_tanh(x4, 4), 24)
            y = min(max(y, -128), 127)
        out[q + 128] = y
    return out


def _ratio(num: float, den: float) -> float:
    """s_in / s_out as the pinned TFLM computes RELU/LEAKY_RELU multipliers: the float32 file
    scales divided in double. (Some TFLM sources divide in float32 first; measured on all
    65536 int16 inputs, the pinned runtime does not — test_ops_elementwise_single.py.)"""
    return float(np.float32(num)) / float(np.float32(den))


def relu_lut(dtype_lo: int, dtype_hi: int, in_scale: float, in_zp: int, out_scale: float, out_zp: int,
             values: range) -> np.ndarray:
    """TFLM ReluQuantized: requantize to the output scale, clamp at the output's zero."""
    mult, shift = quantize_multiplier(_ratio(in_scale, out_scale))
    in_zp, out_zp = int(in_zp), int(out_zp)
    lo = max(dtype_lo, out_zp + int(round_f32(0.0 / out_scale)))
    out = []
    for q in values:
        v = out_zp + multiply_by_quantized_multiplier(q - in_zp, mult, shift)
        out.append(min(max(v, lo), dtype_hi))
    return np.asarray(out)


def round_f32(x: float) -> float:
    """roundf: halves away from zero."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _leaky_params(in_scale: float, out_scale: float, alpha: float) -> tuple[int, int, int, int]:
    f32 = np.float32
    a_real = float(f32(in_scale)) * float(f32(alpha)) / float(f32(out_scale))
    i_real = _ratio(in_scale, out_scale)
    ma, sa = quantize_multiplier(a_real)
    mi, si = quantize_multiplier(i_real)
    return ma, sa, mi, si


def leaky_relu_lut_s8(in_scale: float, in_zp: int, out_scale: float, out_zp: int, alpha: float) -> np.ndarray:
    ma, sa, mi, si = _leaky_params(float(in_scale), float(out_scale), float(alpha))
    in_zp, out_zp = int(in_zp), int(out_zp)
    neg = ma < 0
    ma = -ma if neg else ma
    out = np.zeros(256, dtype=np.int8)
    for q in range(-128, 128):
        x = q - in_zp
        if x >= 0:
            v = out_zp + multiply_by_quantized_multiplier(x, mi, si)
        else:
            s = multiply_by_quantized_multiplier(x, ma, sa)
            v = out_zp + (-s if neg else s)
        out[q + 128] = min(max(v, -128), 127)
    return out


# ---- HARD_SWISH int8 (16-bit fixed-point arithmetic of TFLM's reference) ----

def _wrap16(v: int) -> int:
    return ((v + 2**15) % 2**16) - 2**15


def _srdhm16(a: int, b: int) -> int:
    if a == b == -(2**15):
        return 2**15 - 1
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    v = ab + nudge
    q = abs(v) // (1 << 15)
    return _wrap16(q if v >= 0 else -q)


def _sdhm16(a: int, b: int) -> int:
    """SaturatingDoublingHighMul (no rounding), int16."""
    if a == b == -(2**15):
        return 2**15 - 1
    ab = a * b
    q = abs(ab) // (1 << 15)
    return _wrap16(q if ab >= 0 else -q)


def _sat_lshift16(v: int, amount: int) -> int:
    return min(max(v * (1 << amount), -(2**15)), 2**15 - 1)


def _downscale_multiplier16(m32: int) -> int:
    """DownScaleInt32ToInt16Multiplier: round the Q31 multiplier to Q15, saturating."""
    rounding = 1 << 15
    if m32 >= (2**31 - 1) - rounding:
        return 2**15 - 1
    return (m32 + rounding) >> 16


def hard_swish_lut_s8(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> np.ndarray:
    f32 = np.float32
    in_zp, out_zp = int(in_zp), int(out_zp)
    hires = f32(f32(1.0 / 128.0) * f32(in_scale))
    reluish_scale = f32(3.0 / 32768.0)
    om32, oexp = quantize_multiplier(float(f32(hires / f32(out_scale))))
    om16 = _downscale_multiplier16(om32)
    rm32, rexp = quantize_multiplier(float(f32(hires / reluish_scale)))
    rm16 = _downscale_multiplier16(rm32)
    if oexp > 0:
        raise ValueError("HARD_SWISH output multiplier exponent > 0")
    out = np.zeros(256, dtype=np.int8)
    for q in range(-128, 128):
        x = _wrap16(q - in_zp)
        hires_v = _wrap16(x * 128)
        pre_out = _srdhm16(hires_v, om16)
        r = hires_v
        if rexp > 0:
            r = _sat_lshift16(r, rexp - 1)
        r = _srdhm16(r, rm16)
        if rexp > 0:
            r = _sat_lshift16(r, 1)
        if rexp < 0:
            r = rounding_divide_by_pot(r, -rexp)
        r = _wrap16((r + (1 << 15)) >> 1)
        pre = _sdhm16(r, pre_out)
        v = _wrap16(rounding_divide_by_pot(pre, -oexp) + out_zp)
        out[q + 128] = min(max(v, -128), 127)
    return out


# --------------------------------------------------------------------------------------------
# Plug-ins


def _io(op: Op, graph: Graph):
    return graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])


def _lut_code(op: Op, ctx: EmitContext, lut: np.ndarray, n: int) -> OpCode:
    name = ctx.const_name(op, "lut")
    code = f"hil_lut_s8({ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])}, {n}, {name});"
    return OpCode(code=code, constants={name: lut.astype(np.int8)}, kernels=_kernels("hil_lut_s8"))


def _check_types(op: Op, graph: Graph, ctx: EmitContext, allowed: tuple[str, ...]) -> str:
    x, y = _io(op, graph)
    if x.dtype != y.dtype or x.dtype not in allowed:
        raise ctx.unsupported(op, f"{x.dtype} input, {y.dtype} output", "same input/output type, one of " + ", ".join(allowed))
    if x.dtype in ("int8", "int16") and (x.quant is None or y.quant is None):
        raise ctx.unsupported(op, f"{x.dtype} tensors without quantization parameters", "quantized int8/int16 tensors")
    return x.dtype


def _float_unary(op: Op, ctx: EmitContext, fn: str, n: int, extra: str = "") -> OpCode:
    code = f"{fn}({ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])}, {n}{extra});"
    return OpCode(code=code, kernels=_kernels(fn))


def _is_pot(scale: float) -> tuple[bool, int]:
    """TFLM CheckedLog2: log2 in float32, rounded; POT when the fraction is below 1e-3."""
    f32 = np.float32
    x_log2 = f32(np.log(f32(scale))) * f32(f32(1.0) / f32(np.log(f32(2.0))))
    rounded = round_f32(float(x_log2))
    return abs(float(x_log2) - rounded) < 1e-3, int(rounded)


def _sigmoid_tanh_s16_params(op: Op, ctx: EmitContext, x, y, is_tanh: bool) -> tuple[int, int]:
    if x.zero_point != 0 or y.zero_point != 0:
        raise ctx.unsupported(op, "int16 with a non-zero zero point", "int16 with zero points 0 (as TFLM)")
    pot, log2 = _is_pot(x.scale)
    left_shift = 12 + log2
    pot = pot and (left_shift in ((0, 1) if is_tanh else (0,)))
    if pot:
        mult = 0
    else:
        m = float(np.float32(x.scale)) * 4096.0 * 3.0
        left_shift = 0
        while m <= 32767.0 / 2.0 and left_shift <= 30:
            left_shift += 1
            m *= 2.0
        mult = int(m)
    opot, olog2 = _is_pot(y.scale)
    if not opot or olog2 != -15:
        raise ctx.unsupported(op, f"int16 output scale {y.scale}", "int16 output scale 2^-15 (as TFLM)")
    if mult == 0:  # power-of-two case, folded as TFLM's kernel does
        mult, left_shift = 3 << left_shift, 0
    if mult > 32767 or left_shift < 0:
        raise ctx.unsupported(op, f"int16 input scale {x.scale}", "int16 input scales TFLM accepts")
    return mult, left_shift


@register("LOGISTIC")
def emit_logistic(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    dtype = _check_types(op, graph, ctx, ("int8", "int16", "float32"))
    x, y = _io(op, graph)
    if dtype == "int8":
        if y.zero_point != -128:
            raise ctx.unsupported(op, f"int8 output zero point {y.zero_point}", "int8 output zero point -128 (TFLM)")
        return _lut_code(op, ctx, logistic_lut_s8(x.scale, x.zero_point), x.size)
    if dtype == "int16":
        mult, shift = _sigmoid_tanh_s16_params(op, ctx, x, y, is_tanh=False)
        return _float_unary(op, ctx, "hil_logistic_s16", x.size, f", {mult}, {shift}")
    return _float_unary(op, ctx, "hil_logistic_f32", x.size)


@register("TANH")
def emit_tanh(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    dtype = _check_types(op, graph, ctx, ("int8", "int16", "float32"))
    x, y = _io(op, graph)
    if dtype == "int8":
        return _lut_code(op, ctx, tanh_lut_s8(x.scale, x.zero_point), x.size)
    if dtype == "int16":
        mult, shift = _sigmoid_tanh_s16_params(op, ctx, x, y, is_tanh=True)
        return _float_unary(op, ctx, "hil_tanh_s16", x.size, f", {mult}, {shift}")
    return _float_unary(op, ctx, "hil_tanh_f32", x.size)


@register("RELU")
def emit_relu(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    dtype = _check_types(op, graph, ctx, ("int8", "int16", "float32"))
    x, y = _io(op, graph)
    if dtype == "int8":
        lut = relu_lut(-128, 127, x.scale, x.zero_point, y.scale, y.zero_point, range(-128, 128))
        return _lut_code(op, ctx, lut, x.size)
    if dtype == "int16":
        if x.zero_point != 0 or y.zero_point != 0:
            raise ctx.unsupported(op, "int16 with a non-zero zero point", "int16 with zero points 0 (as TFLM)")
        mult, shift = quantize_multiplier(_ratio(x.scale, y.scale))
        code = (f"hil_requant_clamp_s16({ctx.ptr(x.index)}, {ctx.ptr(y.index)}, {x.size}, "
                f"{mult}, {shift}, 0, {INT_RANGES['int16'][1]});")
        return OpCode(code=code, kernels=_kernels("hil_requant_clamp_s16"))
    return _float_unary(op, ctx, "hil_clamp_f32", x.size, ", 0.0f, INFINITY")


def _quantize_six(scale: float, zp: int, lo: int, hi: int) -> int:
    """TFLM FloatToQuantizedType: round(6/scale) + zp, clamped."""
    return min(max(int(round_f32(float(np.float32(6.0) / np.float32(scale)))) + zp, lo), hi)


@register("RELU_N1_TO_1", "RELU_0_TO_1")
def emit_relu_bounded(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    """TFLM has no kernel for these; the generator follows TFLite's reference (requantize, clamp
    to the output's quantized [-1, 1] or [0, 1])."""
    dtype = _check_types(op, graph, ctx, ("int8", "float32"))
    x, y = _io(op, graph)
    lo_f = -1.0 if op.opcode == "RELU_N1_TO_1" else 0.0
    if dtype == "float32":
        return _float_unary(op, ctx, "hil_clamp_f32", x.size, f", {lo_f}f, 1.0f")
    mult, shift = quantize_multiplier(_ratio(x.scale, y.scale))
    lo = max(-128, y.zero_point + int(round_f32(float(np.float32(lo_f) / np.float32(y.scale)))))
    hi = min(127, y.zero_point + int(round_f32(float(np.float32(1.0) / np.float32(y.scale)))))
    lut = np.array([min(max(y.zero_point + multiply_by_quantized_multiplier(q - x.zero_point, mult, shift), lo), hi)
                    for q in range(-128, 128)], dtype=np.int8)
    return _lut_code(op, ctx, lut, x.size)


@register("RELU6")
def emit_relu6(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    dtype = _check_types(op, graph, ctx, ("int8", "int16", "float32"))
    x, y = _io(op, graph)
    if dtype == "float32":
        return _float_unary(op, ctx, "hil_clamp_f32", x.size, ", 0.0f, 6.0f")
    lo, hi = INT_RANGES[dtype]
    # TFLM clamps in the input's quantization and does not requantize.
    six = _quantize_six(x.scale, x.zero_point, lo, hi)
    fn = "hil_clamp_s8" if dtype == "int8" else "hil_clamp_s16"
    code = f"{fn}({ctx.ptr(x.index)}, {ctx.ptr(y.index)}, {x.size}, {x.zero_point}, {six});"
    return OpCode(code=code, kernels=_kernels(fn))


@register("LEAKY_RELU")
def emit_leaky_relu(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    dtype = _check_types(op, graph, ctx, ("int8", "int16", "float32"))
    x, y = _io(op, graph)
    alpha = float(op.options.get("alpha", 0.2))
    if dtype == "int8":
        return _lut_code(op, ctx, leaky_relu_lut_s8(x.scale, x.zero_point, y.scale, y.zero_point, alpha), x.size)
    if dtype == "int16":
        ma, sa, mi, si = _leaky_params(x.scale, y.scale, alpha)
        code = (f"{{ static const hil_leaky_relu_params_t p = {{{x.zero_point}, {y.zero_point}, "
                f"{mi}, {si}, {ma}, {sa}}};\n"
                f"  hil_leaky_relu_s16(&p, {ctx.ptr(x.index)}, {ctx.ptr(y.index)}, {x.size}); }}")
        return OpCode(code=code, kernels=_kernels("hil_leaky_relu_s16"))
    return _float_unary(op, ctx, "hil_leaky_relu_f32", x.size, f", {float(np.float32(alpha)).hex()}f")


@register("HARD_SWISH")
def emit_hard_swish(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    dtype = _check_types(op, graph, ctx, ("int8", "float32"))
    x, y = _io(op, graph)
    if dtype == "int8":
        try:
            lut = hard_swish_lut_s8(x.scale, x.zero_point, y.scale, y.zero_point)
        except ValueError:
            raise ctx.unsupported(op, "output scale smaller than input scale / 128",
                                  "int8 HARD_SWISH whose output multiplier is <= 1 (as TFLM)") from None
        return _lut_code(op, ctx, lut, x.size)
    return _float_unary(op, ctx, "hil_hard_swish_f32", x.size)


__all__ = ["logistic_lut_s8", "tanh_lut_s8", "leaky_relu_lut_s8", "hard_swish_lut_s8", "fx_logistic", "fx_tanh"]
