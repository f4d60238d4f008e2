"""Cortex-M0/M0+ (ARMv6-M) parts of the optimized kernels' constants: the weight layouts of the
v6-M matrix kernels and the split-multiplier requantization table (kernels/opt_v6m*.h).

Why a table: ARMv6-M has only a 32x32->32 multiply, so TFLM's 64-bit requantization is split into
3 or 4 partial products that each fit 32 bits for the layer's accumulator bound, known here from
the weights; a layer whose bound does not fit keeps the general path.
"""

from __future__ import annotations

import weakref

import numpy as np

from harness.codegen.ir import Op
from harness.codegen.ops import EmitContext


def v6m_matrix(w: np.ndarray) -> np.ndarray:
    """[n, k] weights -> the v6-M matrix kernel's layout: per pair of output channels, per input
    value, (wa + 128, wb + 128) as uint8, k zero-padded to a multiple of 4 (stored 128), an odd
    channel count padded with a zero channel."""
    n, k = w.shape
    kp = -(-k // 4) * 4
    full = np.zeros((n + n % 2, kp), np.int64)
    full[:n, :k] = w
    assert full.min(initial=0) >= -128 and full.max(initial=0) <= 127
    return (full.reshape(-1, 2, kp).transpose(0, 2, 1) + 128).astype(np.uint8).reshape(-1)


# v6-M split requantization (kernels/opt_v6m_rq.h, hil_v6m_rq): per channel 4 words. Two formats, one
# per model (a header, opt_v6m_rq3.h, selects it at compile time):
# - 3 pieces (K, b, m0 | m1 << 16, m2 | rs << 16): m = m2 * 2^22 + m1 * 2^11 + m0, every partial
#   product acc * m_i fits in 32 bits when |acc| < 2^20; K = 2^(8+rs) + 2^8 + out_off * 2^(9+rs);
# - 4 pieces (K, b, m0 | m1 << 8 | m2 << 16 | m3 << 24, rs): 8-bit pieces, |acc| < 2^23 (3x3x64
#   convolutions, 640-deep FCs), 4 more instructions an output; K = 2^(6+rs) + 2^6 + out_off * 2^(7+rs).
# b = the bias the kernel starts its accumulator from.
V6M_RQ_WORDS = 4
V6M_RQ3_HEADER = "opt_v6m_rq3.h"
V6M_G8_WORDS = 9  # hil_v6m_g8_t, kept in the scratch after the row
V6M_DWC_WORDS = 11 + 9  # hil_v6m_dwc_t and the channel's 9 taps as int32, after the depthwise plane
V6M_DW_PLANE_LIMIT = 2048  # bytes of scratch the v6-M depthwise plane may take (else no split table)
_RQ_LIMIT = {3: 1 << 20, 4: 1 << 23}  # accumulator bound of each format
_RQ_PIECES: weakref.WeakKeyDictionary[EmitContext, int] = weakref.WeakKeyDictionary()  # per generation


def v6m_rq_pieces(ctx: EmitContext) -> int:
    """The model's split-table format: 4 pieces when some int8 conv / depthwise / FC layer's
    accumulator bound (|bias| + (128 + |input zero point|) * sum|w| per channel) reaches 2^20, else
    3 (4 fewer instructions an output). The per-layer table check stays the authority: a layer
    whose exact bound does not fit gets no table (the general path), whatever the format."""
    if ctx not in _RQ_PIECES:
        need4 = False
        for op in ctx.graph.ops:
            if op.opcode not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") or len(op.inputs) < 2:
                continue
            w = ctx.graph.tensor(op.inputs[1])
            if w.dtype != "int8" or w.data is None:
                continue
            axis = 3 if op.opcode == "DEPTHWISE_CONV_2D" else 0
            sw = np.abs(np.moveaxis(w.data.astype(np.int64), axis, 0).reshape(w.shape[axis], -1)).sum(axis=1)
            x = ctx.graph.tensor(op.inputs[0])
            zp = int(np.abs(x.quant.zero_point).max()) if x.quant is not None else 0
            b = ctx.graph.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
            bias = np.abs(b.data.astype(np.int64)).reshape(-1) if b is not None and b.data is not None else 0
            need4 |= bool(((128 + zp) * sw + bias >= _RQ_LIMIT[3]).any())
        _RQ_PIECES[ctx] = 4 if need4 else 3
    return _RQ_PIECES[ctx]


def v6m_rq_table(mult: np.ndarray, shift: np.ndarray, out_off: int, bound: np.ndarray,
                  b_dw: np.ndarray | None = None, pieces: int = 4) -> np.ndarray | None:
    """The v6-M split-multiplier table (`pieces` 3 or 4), or None when a channel needs the general
    path (a left shift, a right shift < 2, or an accumulator bound too large for 32-bit partial
    products). bound: per channel max |acc| (|bias_eff| + 128 * sum|w|), known here from the weights."""
    n = len(bound)
    mult = np.broadcast_to(np.asarray(mult, np.int64), (n,))
    rs = -np.broadcast_to(np.asarray(shift, np.int64), (n,))
    bound = np.asarray(bound, np.int64)
    if (rs < 2).any() or (rs > 24).any() or (mult < 0).any():
        return None
    lim = 1 << 31
    if pieces == 3:
        m0, m1, top = mult & 0x7FF, (mult >> 11) & 0x7FF, mult >> 22
        k = (1 << (8 + rs)) + 256 + out_off * (1 << (9 + rs))
        low = bound * (1 << 11) + bound + 1  # (acc*m0 >> 11) + acc*m1
        words = [m0 | (m1 << 16), top | (rs << 16)]
    else:
        m = [(mult >> (8 * i)) & 0xFF for i in range(4)]  # m3 = m >> 24 < 128
        top = m[3]
        k = (1 << (6 + rs)) + 64 + out_off * (1 << (7 + rs))
        low = bound * 256 + bound + 1  # (acc*m0 >> 8) + acc*m1, likewise m2
        words = [m[0] | (m[1] << 8) | (m[2] << 16) | (m[3] << 24), rs]
    # then (. >> p) + acc*top + K: every sum stays in int32
    if (low >= lim).any() or ((bound * top + bound + 1 + np.abs(k)) >= lim).any():
        return None
    t = np.zeros((n + n % 2, V6M_RQ_WORDS), np.int64)
    b = np.zeros(n, np.int64) if b_dw is None else np.asarray(b_dw, np.int64)
    t[:n] = np.stack([k, b, *words], 1)
    if n % 2:
        t[n] = t[n - 1]
    assert t.min() >= -lim and t.max() < lim
    return t.astype(np.int32).reshape(-1)


def v6m_rq_eval(acc: np.ndarray, row: np.ndarray, pieces: int = 4) -> np.ndarray:
    """Python mirror of HIL_V6M_RQ_SEQ (before the activation clamp), for the tests."""
    acc = np.asarray(acc, np.int64)
    k, w2, w3 = int(row[0]), int(row[2]), int(row[3])
    if pieces == 3:
        t = (acc * (w2 & 0xFFFF)) >> 11
        t = (acc * (w2 >> 16) + t) >> 11
        u = acc * (w3 & 0xFFFF) + t + k
        return ((u >> 9) - (acc < 0)) >> (w3 >> 16)
    m = [(w2 >> (8 * i)) & 0xFF for i in range(4)]
    t = (acc * m[0]) >> 8
    t = (acc * m[1] + t) >> 8
    t = (acc * m[2] + t) >> 8
    u = acc * m[3] + t + k
    return ((u >> 7) - (acc < 0)) >> w3


def v6m_matrix8(w: np.ndarray) -> np.ndarray:
    """[n, k] weights (n % 8 == 0) -> the v6-M 8-channel layout used with the split requantization:
    per group of 8 output channels, per input value, the 8 weights + 128 as uint8 (k zero-padded to
    a multiple of 4, stored 128)."""
    n, k = w.shape
    kp = -(-k // 4) * 4
    full = np.zeros((n, kp), np.int64)
    full[:, :k] = w
    assert n % 8 == 0 and full.min(initial=0) >= -128 and full.max(initial=0) <= 127
    return (full.reshape(-1, 8, kp).transpose(0, 2, 1) + 128).astype(np.uint8).reshape(-1)


def v6m_split(ctx: EmitContext, op: Op, w2d: np.ndarray, beff: np.ndarray, mult: np.ndarray, shift: np.ndarray,
               out_off: int, flags: dict, rq_names: list[str], out_consts: dict,
               b_tab: np.ndarray | None = None, only_table: bool = True) -> None:
    """v6-M: when every channel allows it, emit the split-multiplier table and pass it as the
    kernel's `lsh` argument (unused without left shifts). w2d: [n, k] weights; b_tab: the bias
    the kernel's fast path starts from (default bias_eff). only_table: every kernel path then
    requantizes with the table, so the per-channel multiplier and shift arrays are not emitted."""
    if flags["has_lshift"]:
        return
    beff = np.asarray(beff, np.int64)
    bound = np.abs(beff) + 128 * np.abs(w2d).sum(axis=1)
    n = len(beff)
    mult = np.broadcast_to(np.asarray(mult, np.int64).reshape(-1), (n,)) if np.size(mult) == 1 else mult
    shift = np.broadcast_to(np.asarray(shift, np.int64).reshape(-1), (n,)) if np.size(shift) == 1 else shift
    tab = v6m_rq_table(mult, shift, out_off, bound, beff if b_tab is None else b_tab, v6m_rq_pieces(ctx))
    if tab is None:
        return
    name = ctx.const_name(op, "opt_rq6")
    out_consts[name] = tab
    rq_names[2] = name
    if only_table:
        for i in (0, 1):
            out_consts.pop(rq_names[i], None)
            rq_names[i] = "(const int32_t *)0"


def v6m_matrix_consts(ctx: EmitContext, op: Op, w2d: np.ndarray, beff_name: str, consts: dict, mult: np.ndarray,
                       shift: np.ndarray, fields: dict, flags: dict, rq_names: list[str], out_consts: dict,
                       wname: str) -> tuple[int, str]:
    """v6-M conv / FC constants beyond the pair layout: the split table when every channel allows
    it (its b words are then the biases: no bias_eff array) and, with out_c % 8 == 0, the 8-channel
    weight layout (one row at a time: kp words of scratch + hil_v6m_g8's arguments; else the
    interleaved row pair, 2 kp). Returns (scratch words, the kernel's bias argument)."""
    n, k = w2d.shape
    kp = -(-k // 4) * 4
    v6m_split(ctx, op, w2d, consts[beff_name], mult, shift, fields["output_offset"], flags, rq_names, out_consts)
    if rq_names[2] not in out_consts:
        return 2 * kp, beff_name
    out_consts.pop(beff_name, None)
    if n % 8:
        return 2 * kp, "(const int32_t *)0"
    out_consts[wname] = v6m_matrix8(w2d)
    return kp + V6M_G8_WORDS, "(const int32_t *)0"


def v6m_plane_dw(fam: str, g: dict, flags: dict, rq_names: list[str]) -> bool:
    """Does hil_opt_dw_v6m take the channel-plane path (the same test as in opt_v6m.h)? It
    copies each channel's whole input plane before writing that channel's outputs, so the output
    may be the input itself: the planner's in-place layers then need no row ring."""
    return (fam == "v6m" and g["k_h"] == 3 and g["k_w"] == 3 and not flags["has_lshift"]
            and rq_names[2].startswith("hil_w_") and g["stride_h"] == 1 and g["stride_w"] == 1
            and g["dil_h"] == 1 and g["dil_w"] == 1 and g["out_w"] <= 12)
