"""int16x8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED on the DSP cores (kernels/opt_dsp_s16.h).

Why at generation time: TFLM accumulates int16x8 layers in 64 bits; the generator knows every
weight and bias, so it can prove per layer that the exact sum fits in 32 bits (|bias| + 32768 *
sum|w| < 2^31: SMLAD's accumulator then gives TFLM's value) and fold TFLM's 64-bit requantization
into one high-word multiply per channel. Layers outside those bounds keep the portable kernels.
"""

from __future__ import annotations

import numpy as np

from harness.codegen.ir import Op, Tensor
from harness.codegen.ops import EmitContext, OpCode
from harness.codegen.ops._common import c_struct
from harness.codegen.optimized import SCRATCH_LIMIT, _kernels, family

HEADER = "opt_dsp_s16.h"
ACC_LIMIT = 1 << 31  # every partial sum of a 32-bit accumulator stays below this
MIN_SHIFT = 16  # s = 14 - shift >= 16: reduced << (32 - s) < 2^31 (kernels/opt_dsp_s16.h)


def s16_requant(mult: np.ndarray, shift: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Per channel (m, e) with out = ((hi(acc * m) >> e) + 1) >> 1 equal to TFLM's int64
    MultiplyByQuantizedMultiplier (hil_mbqm64), or None when a channel's shift is too small."""
    mult = np.broadcast_to(np.asarray(mult, np.int64).reshape(-1), (n,)) if np.size(mult) == 1 else np.asarray(mult, np.int64)
    shift = np.broadcast_to(np.asarray(shift, np.int64).reshape(-1), (n,)) if np.size(shift) == 1 else np.asarray(shift, np.int64)
    reduced = np.where(mult < 0x7FFF0000, (mult + (1 << 15)) >> 16, 0x7FFF)
    s = 14 - shift  # total_shift - 1
    if (s < MIN_SHIFT).any() or (s > 63).any() or (reduced < 0).any():
        return None
    m = reduced << np.maximum(32 - s, 0)
    assert (m < ACC_LIMIT).all()
    return m.astype(np.int32), np.maximum(s - 32, 0).astype(np.int32)


def s16_eval(acc: np.ndarray, m: int, e: int) -> np.ndarray:
    """Python mirror of hil_s16_out before the clamp, for the tests."""
    return (((np.asarray(acc, np.int64) * m) >> 32 >> e) + 1) >> 1


def _channel_consts(ctx: EmitContext, op: Op, w2d: np.ndarray, b: Tensor | None, consts: dict,
                    pad_even: bool) -> dict[str, np.ndarray] | None:
    """bias (int32), m, e per output channel, or None when the layer leaves the 32-bit bounds."""
    n = w2d.shape[0]
    bias = np.zeros(n, np.int64) if b is None else np.asarray(b.data, np.int64).reshape(-1)
    if (np.abs(bias) + 32768 * np.abs(w2d).sum(axis=1) >= ACC_LIMIT).any():
        return None
    rq = s16_requant(consts[ctx.const_name(op, "mult")], consts[ctx.const_name(op, "shift")], n)
    if rq is None:
        return None
    arrays = [bias.astype(np.int32), *rq]
    if pad_even and n % 2:
        arrays = [np.concatenate([a, a[-1:]]) for a in arrays]
    return dict(zip([ctx.const_name(op, f"s16_{k}") for k in ("bias", "mult", "rsh")], arrays))


def _matrix(w2d: np.ndarray) -> np.ndarray:
    """[n, k] int8 -> per channel pair, per 4 input values, one word per channel with its bytes
    ordered (w0, w2, w1, w3) (SXTB16 / SXTB16 ROR 8 give (w0, w1), (w2, w3)); k zero padded to a
    multiple of 4, an odd channel count padded with a zero channel."""
    n, k = w2d.shape
    kp = -(-k // 4) * 4
    full = np.zeros((n + n % 2, kp), np.int64)
    full[:n, :k] = w2d
    full = full.reshape(-1, kp // 4, 4)[:, :, [0, 2, 1, 3]].reshape(-1, 2, kp // 4, 4)
    return full.transpose(0, 2, 1, 3).astype(np.int8).reshape(-1)


def _params(p: dict, fields: dict) -> str:
    return c_struct("hil_opt_conv_t", {**p, "in_zp": 0, "out_off": 0, "act_min": fields["act_min"],
                                       "act_max": fields["act_max"], "has_lshift": 0, "has_rshift0": 0, "rs2": 0})


def s16_conv(op: Op, ctx: EmitContext, x: Tensor, w: Tensor, y: Tensor, b: Tensor | None, geom: dict, fields: dict,
             consts: dict, macs: int, dw: bool) -> OpCode | None:
    """The DSP cores' int16x8 CONV_2D / DEPTHWISE_CONV_2D kernel, or None to keep the portable one."""
    if family(ctx.options.get("target")) != "dsp" or w.dtype != "int8" or w.data is None:
        return None
    g = geom
    if b is not None and b.data is None:
        return None
    wdata = np.asarray(w.data, np.int64)
    geo = {f: g[f] for f in ("batches", "in_h", "in_w", "in_c", "out_h", "out_w", "k_h", "k_w", "stride_h",
                             "stride_w", "dil_h", "dil_w", "pad_h", "pad_w")}
    xin, yout = ctx.ptr(x.index), ctx.ptr(y.index)
    if dw:
        taps, c = g["k_h"] * g["k_w"], g["in_c"]
        if g["depth_multiplier"] != 1 or c % 4 or taps > 64:
            return None
        tw = wdata.reshape(taps, c)
        ch = _channel_consts(ctx, op, tw.T, b, consts, pad_even=False)
        if ch is None:
            return None
        wname = ctx.const_name(op, "s16_w8")
        words = tw.reshape(taps, c // 4, 4)[:, :, [0, 2, 1, 3]].astype(np.int8).reshape(-1)
        p = {"rows": 0, "k": taps, "kp": taps, "out_c": c, "direct": 0, **geo}
        names = list(ch)
        code = (f"{_params(p, fields)}\nhil_s16_dw_dsp(&p, {xin}, {wname}, {', '.join(names)}, hil_scratch, {yout});")
        scratch = 2 * taps + -(-c // 2)  # tap pointers (8 bytes on a 64-bit host) + a row of zeros
        return OpCode(code=code, constants={**ch, wname: words}, kernels=[*_kernels("dsp"), HEADER], macs=macs,
                      scratch_words=scratch)
    n = g["out_c"]
    k = g["k_h"] * g["k_w"] * g["in_c"]
    direct = int(g["k_h"] == 1 and g["k_w"] == 1 and g["stride_h"] == 1 and g["stride_w"] == 1 and g["pad_h"] == 0
                 and g["pad_w"] == 0 and g["in_h"] == g["out_h"] and g["in_w"] == g["out_w"])
    rows = g["batches"] * g["out_h"] * g["out_w"]
    oc = _matrix_op(op, ctx, wdata.reshape(n, k), b, consts, fields, macs,
                    {"rows": rows, "k": k, "out_c": n, "direct": direct, **geo}, xin, yout)
    if oc is not None:  # in place, both rows are copied before a row is stored
        oc.inplace_safe = bool(direct and n <= g["in_c"] and op.index in ctx.inplace)
    return oc


def s16_fc(op: Op, ctx: EmitContext, x: Tensor, w: Tensor, y: Tensor, b: Tensor | None, geom: dict, fields: dict,
           consts: dict, macs: int) -> OpCode | None:
    """The DSP cores' int16x8 FULLY_CONNECTED kernel (a matrix product over batches), or None."""
    if (family(ctx.options.get("target")) != "dsp" or w.dtype != "int8" or w.data is None
            or int(fields["filter_offset"]) != 0 or (b is not None and b.data is None)):
        return None
    n, k, rows = geom["out_depth"], geom["in_depth"], geom["batches"]
    p = {"rows": rows, "k": k, "out_c": n, "direct": 1, "batches": rows, "in_h": 1, "in_w": 1, "in_c": k,
         "out_h": 1, "out_w": 1, "k_h": 1, "k_w": 1, "stride_h": 1, "stride_w": 1, "dil_h": 1, "dil_w": 1,
         "pad_h": 0, "pad_w": 0}
    return _matrix_op(op, ctx, np.asarray(w.data, np.int64).reshape(n, k), b, consts, fields, macs, p,
                      ctx.ptr(x.index), ctx.ptr(y.index))


def _matrix_op(op: Op, ctx: EmitContext, w2d: np.ndarray, b: Tensor | None, consts: dict, fields: dict, macs: int,
               p: dict, xin: str, yout: str) -> OpCode | None:
    kp = -(-p["k"] // 4) * 4
    scratch = kp  # the row pair as int16
    if p["direct"] and kp == p["k"] and op.index not in ctx.inplace:
        p, scratch = {**p, "direct": 2}, 0  # rows read where they are (kernels/opt_dsp_s16.h)
    if scratch * 4 > SCRATCH_LIMIT:
        return None
    ch = _channel_consts(ctx, op, w2d, b, consts, pad_even=True)
    if ch is None:
        return None
    wname = ctx.const_name(op, "s16_w8")
    code = (f"{_params({**p, 'kp': kp}, fields)}\nhil_s16_conv_dsp(&p, {xin}, {wname}, {', '.join(ch)}, "
            f"{'hil_scratch' if scratch else '(int32_t *)0'}, {yout});")
    return OpCode(code=code, constants={**ch, wname: _matrix(w2d)}, kernels=[*_kernels("dsp"), HEADER], macs=macs,
                  scratch_words=scratch)
