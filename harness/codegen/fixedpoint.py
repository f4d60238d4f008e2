"""Host-side fixed-point parameter math, computed exactly as TFLM computes it at Prepare time.

Bit-exactness starts here: a multiplier off by one LSB shows up in outputs. TFLM derives
multipliers from the float32 scales stored in the file, promoted to double.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Fused activation codes (schema ActivationFunctionType).
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3
ACT_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT", 6: "SIGMOID"}

INT_RANGES = {"int8": (-128, 127), "int16": (-32768, 32767), "int32": (-(2**31), 2**31 - 1), "uint8": (0, 255)}


def round_half_away(x: float) -> int:
    """C's round()/std::round: halves go away from zero (Python's round() is banker's)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplier: real ~= m * 2^(shift - 31), m in [2^30, 2^31) (or 0).

    shift > 0 means a left shift. frexp gives q in [0.5, 1); rounding q*2^31 can carry to
    2^31, which is folded back into the shift. Tiny values (shift < -31) flush to zero and
    huge ones saturate at shift 30, as TFLM does.
    """
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(float(real))
    q_fixed = round_half_away(q * (1 << 31))
    assert abs(q_fixed) <= (1 << 31)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return int(q_fixed), int(shift)


def quantize_multiplier_greater_than_one(real: float) -> tuple[int, int]:
    """QuantizeMultiplier for reals > 1: the shift is a left shift (>= 0)."""
    m, s = quantize_multiplier(real)
    if s < 0:
        raise ValueError(f"multiplier {real} is not greater than one")
    return m, s


def channel_multipliers(
    input_scale: float, weight_scales: Sequence[float] | np.ndarray, output_scale: float, channels: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel (multiplier, shift) arrays for conv/depthwise/FC.

    effective = double(s_in) * double(s_w[c]) / double(s_out), from the float32 file scales.
    A per-tensor weight scale is replicated to every channel (TFLM does the same).
    """
    ws = np.asarray(weight_scales, dtype=np.float32)
    s_in = float(np.float32(input_scale))
    s_out = float(np.float32(output_scale))
    mult = np.zeros(channels, dtype=np.int32)
    shift = np.zeros(channels, dtype=np.int32)
    for c in range(channels):
        w = float(ws[c] if len(ws) > 1 else ws[0])
        m, s = quantize_multiplier(s_in * w / s_out)
        mult[c], shift[c] = m, s
    return mult, shift


def quantize_value(f: float, scale: float, zero_point: int) -> int:
    """zero_point + round(f / scale), the division done in float32 as TFLM does."""
    q = np.float32(f) / np.float32(scale)
    return int(zero_point) + round_half_away(float(q))


def activation_range(activation: int, dtype: str, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the clamp range of a fused activation on a quantized output."""
    lo, hi = INT_RANGES[dtype]
    if activation == ACT_NONE:
        return lo, hi
    if activation == ACT_RELU:
        return max(lo, quantize_value(0.0, scale, zero_point)), hi
    if activation == ACT_RELU6:
        return max(lo, quantize_value(0.0, scale, zero_point)), min(hi, quantize_value(6.0, scale, zero_point))
    if activation == ACT_RELU_N1_TO_1:
        return max(lo, quantize_value(-1.0, scale, zero_point)), min(hi, quantize_value(1.0, scale, zero_point))
    raise ValueError(f"fused activation {ACT_NAMES.get(activation, activation)} has no quantized range")


def activation_range_float(activation: int) -> tuple[float, float]:
    """Clamp range of a fused activation on a float output."""
    inf = float("inf")
    return {
        ACT_NONE: (-inf, inf),
        ACT_RELU: (0.0, inf),
        ACT_RELU6: (0.0, 6.0),
        ACT_RELU_N1_TO_1: (-1.0, 1.0),
    }[activation]


def reduced_multiplier(m: int) -> int:
    """The int16x8 (64-bit accumulator) path's 16-bit multiplier: (m + 2^15) >> 16, capped at 0x7FFF."""
    return (m + (1 << 15)) >> 16 if m < 0x7FFF0000 else 0x7FFF


# ---- Python mirrors of the C helpers (for tests and for precomputing tables) ----

def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul on int32 values."""
    if a == b == -(2**31):
        return 2**31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    # C++ integer division truncates toward zero.
    q = abs(v) // (1 << 31)
    return q if v >= 0 else -q


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    """RoundingDivideByPOT: arithmetic shift right, ties away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, m: int, shift: int) -> int:
    """TFLM's double-rounding requantization of an int32 accumulator."""
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    v = x * (1 << left)
    v = ((v + 2**31) % 2**32) - 2**31  # int32 wrap, as in C
    return rounding_divide_by_pot(srdhm(v, m), right)
