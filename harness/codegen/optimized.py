"""Per-core optimized int8 conv / depthwise / FC: target names, weight re-layout, kernel choice.

Why at generation time: the generator knows the core, every shape and every quantization
parameter, so it can store the weights in the layout the core's instructions want (16-bit pairs
for SMLAD on the DSP cores), fold the input zero point into the bias, and emit calls that the
compiler specializes with constant loop bounds (kernels/opt_dsp.h, opt_v6m.h). Outputs stay bit-exact with
the portable kernels; anything the fast kernels do not cover falls back to them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.codegen.ir import Op, Tensor
from harness.codegen.ops import EmitContext, OpCode
from harness.codegen.ops._common import c_struct
from harness.codegen.optimized_v6m import (
    V6M_DW_PLANE_LIMIT,
    V6M_DWC_WORDS,
    V6M_RQ3_HEADER,
    v6m_matrix,
    v6m_matrix_consts,
    v6m_plane_dw,
    v6m_rq_pieces,
    v6m_split,
)
from harness.codegen.packing import dsp_first_scratch_words, dsp_first_stream
from harness.errors import ConfigError

# core name (as in boards/*.toml) -> kernel family
FAMILIES = {
    "portable": "portable",
    "cortex-m4": "dsp", "cortex-m7": "dsp", "cortex-m33": "dsp", "cortex-m55": "dsp",
    "cortex-m0": "v6m", "cortex-m0plus": "v6m",
    "cortex-m3": "v7m",  # ARMv7-M without DSP: MLA / SMLAL kernels (kernels/opt_v7m.h)
}
TARGETS = tuple(FAMILIES)
# the generator's flash/speed trade-off (`--prefer`, or a target "cortex-m4:size"): "size" (the
# default) keeps every weight int8-sized in flash (the DSP kernels unpack with SXTB16, the matrix
# kernel amortizing it over blocks of 3 rows: kernels/opt_dsp_mm8.h; constants <= the portable
# build's), "speed" stores the DSP cores' weights as 16-bit pairs (twice the weight flash; faster
# only on deep 3x3 convolutions and batch-1 FC layers).
PREFER = ("size", "speed")
DEFAULT_PREFER = "size"
SCRATCH_LIMIT = 4096  # bytes of im2col scratch a layer may use before it keeps the portable kernel
DWP_WT_WORDS = 11  # hil_opt_dwp3_s8's per-channel words after its planes (kernels/opt_dsp_dwp.h: wt)
RING_LIMIT = 8192  # bytes of padded input rows the DSP depthwise ring may take (VWW's 3x3x256 rows: 7,680)
MAX_TAPS = 64  # HIL_OPT_MAX_TAPS in kernels/opt_common.h


def split_target(target: str | None) -> tuple[str | None, str | None]:
    """"cortex-m4:speed" -> ("cortex-m4", "speed"); a bare core name -> (core, None)."""
    if target is None:
        return None, None
    core, sep, prefer = target.partition(":")
    if sep and prefer not in PREFER:
        raise ConfigError(f"codegen target {target!r}: unknown preference {prefer!r}; use {' or '.join(PREFER)}",
                          field="target", value=target)
    return core, (prefer if sep else None)


def family(target: str | None) -> str:
    """'dsp', 'v6m' or 'portable' for a target name (None: portable; "core:prefer" allowed)."""
    core, _ = split_target(target)
    if core is None:
        return "portable"
    try:
        return FAMILIES[core]
    except KeyError:
        raise ConfigError(f"unknown codegen target {target!r}; use one of: {', '.join(TARGETS)} "
                          f"(a board's `core`), optionally with :size or :speed", field="target",
                          value=target) from None


def resolve_prefer(target: str | None, prefer: str | None) -> str:
    """The preference of a generation: the explicit one, else the target's suffix, else the default."""
    _, suffix = split_target(target)
    if prefer is not None and prefer not in PREFER:
        raise ConfigError(f"unknown preference {prefer!r}; use {' or '.join(PREFER)}", field="prefer", value=prefer)
    if prefer is not None and suffix is not None and prefer != suffix:
        raise ConfigError(f"target {target!r} contradicts prefer={prefer!r}", field="prefer", value=prefer)
    return prefer or suffix or DEFAULT_PREFER


def _int8_words(ctx: EmitContext, fam: str) -> int:
    """1 when this generation keeps the DSP weights int8 (prefer size), else 0."""
    return int(fam == "dsp" and ctx.options.get("prefer", DEFAULT_PREFER) == "size")


def _kernels(fam: str, ctx: EmitContext | None = None) -> list[str]:
    """The family's header and what it includes (pooling.h: the DSP average pool's parameters;
    v6-M: the split-table format's header first)."""
    rq3 = [V6M_RQ3_HEADER] if fam == "v6m" and ctx is not None and v6m_rq_pieces(ctx) == 3 else []
    v6m = ["opt_v6m_rq.h", "opt_v6m_rows.h", "opt_v6m_dw.h"] if fam == "v6m" else []
    family = [*rq3, f"opt_{fam}.h", *v6m, *(["opt_dsp_mm8.h"] if fam == "dsp" else [])]
    return ["hil_simd.h", "opt_common.h", *(["pooling.h"] if fam == "dsp" else []), *family]


def _dw_kernels(fam: str, ctx: EmitContext | None = None) -> list[str]:
    """The headers of a depthwise layer: the family's, plus the DSP depthwise kernels' own."""
    return [*_kernels(fam, ctx), *(["opt_dsp_dw.h", "opt_dsp_dwp_copy.h", "opt_dsp_dwp.h"] if fam == "dsp" else [])]


def _dsp_dw3_tr(g: dict) -> bool:
    """Does hil_opt_dwp3_s8 run this layer transposed (plane rows along the output's height, the
    longer axis, at stride 1)? The same test as in kernels/opt_dsp_dwp.h."""
    return g["stride_h"] == 1 and g["stride_w"] == 1 and g["out_h"] > g["out_w"]


def _dsp_dw_plane_words(g: dict, flags: dict) -> int:
    """Scratch words of hil_opt_dwp3_s8's int16 channel plane, or 0 when the layer is not its
    shape (3x3, stride 1 or 2, no dilation, every right shift >= 2, no left shift), the plane
    would take more than RING_LIMIT bytes or an asm offset would not fit 12 bits."""
    if (g["k_h"], g["k_w"], g["dil_h"], g["dil_w"]) != (3, 3, 1, 1) or g["stride_h"] not in (1, 2) \
            or g["stride_w"] not in (1, 2) or not flags["rs2"] or flags["has_lshift"]:
        return 0
    tr = _dsp_dw3_tr(g)
    (out_h, out_w), (sh, sw) = ((g["out_w"], g["out_h"]), (1, 1)) if tr else \
        ((g["out_h"], g["out_w"]), (g["stride_h"], g["stride_w"]))
    npair = ((out_w - 1) * sw + 5) // 2  # words a plane row
    words = ((out_h - 1) * sh + 3) * npair
    step = g["in_c"] * (g["out_w"] if tr else 1)  # bytes between a row's outputs
    # the asm loops' immediate offsets (12 bits): two plane rows, four output pixels
    fits = 4 * words <= RING_LIMIT and 8 * npair <= 4095 and 4 * step <= 4095
    in_w, pad_w = (g["in_h"], g["pad_h"]) if tr else (g["in_w"], g["pad_w"])
    xn = in_w if pad_w + in_w < 2 * npair else 2 * npair - pad_w  # input values a plane row copies
    rows4 = _dsp_dw_plane_rows(sh * sw > 1 and g["in_c"] % 4 == 0 and xn >= 6 and 32 * npair <= 4095,
                               words // npair, npair, sh, out_h)
    # 4 planes a pass (in bands of rows4 output rows they fit the one whole plane's words)
    return (4 * words if rows4 == out_h else words) + DWP_WT_WORDS if fits else 0


def _dsp_dw_plane_rows(g4: bool, ph: int, npair: int, sh: int, out_h: int) -> int:
    """Output rows hil_opt_dwp3_s8 takes a pass of 4 channels (all, or bands whose 4 planes fit the
    scratch of one whole plane), 0: one channel a pass. The same test as hil_dwp_rows in
    kernels/opt_dsp_dwp.h (g4: stride 2, channels in fours, plane rows of >= 6 input values)."""
    bh = (ph // 4 - 3) // sh + 1
    return 0 if not g4 else out_h if 16 * ph * npair <= RING_LIMIT else bh if bh >= 2 else 0


def _dsp_dw3_stream(taps: np.ndarray, beff: np.ndarray, mult: np.ndarray, rsh: np.ndarray, tr: bool) -> np.ndarray:
    """hil_opt_dwp3_s8's constants, per channel 6 words: per kernel row r the int8 bytes
    (w_r0, w_r2, w_r1, w_r1) (SXTB16 / SXTB16 ROR 8 give (w_r0, w_r1), (w_r2, w_r1)), then bias_eff,
    multiplier, right shift - 2. taps: [9, channels], tap = 3 * ky + kx; tr: the kernel runs the
    layer transposed, so its rows are the window's columns."""
    w = taps.reshape(3, 3, -1)  # [ky, kx, c]
    if tr:
        w = w.transpose(1, 0, 2)
    rows = np.stack([w[:, 0], w[:, 2], w[:, 1], w[:, 1]], axis=-1)  # [row, c, 4]
    words = np.ascontiguousarray(rows.transpose(1, 0, 2).astype(np.int8)).view("<u4").reshape(-1, 3)
    per_ch = np.stack([np.asarray(a, np.int64) for a in (beff, mult, rsh)], axis=1) & 0xFFFFFFFF
    return np.concatenate([words.astype(np.int64), per_ch], axis=1).astype(np.uint32).reshape(-1)


def _dsp_pairs(w: np.ndarray) -> np.ndarray:
    """[rows, k] ints -> [rows, kp] int16 with each group of 4 ordered 0,2,1,3 (zero padded to 4):
    the order SXTB16 / SXTB16 ROR 8 unpack an input word into."""
    rows, k = w.shape
    kp = -(-k // 4) * 4
    out = np.zeros((rows, kp), np.int64)
    out[:, :k] = w
    out = out.reshape(rows, kp // 4, 4)[:, :, [0, 2, 1, 3]].reshape(rows, kp)
    assert out.min(initial=0) >= -32768 and out.max(initial=0) <= 32767
    return out.astype(np.int16)


def _dsp_stream8(w: np.ndarray, bias: np.ndarray, mult: np.ndarray, rsh: np.ndarray) -> np.ndarray:
    """[n, k] weights + per-channel constants -> the int8 DSP matrix kernel's one constant stream
    (prefer size, kernels/opt_dsp_mm8.h): per pair of output channels the two bias_eff words, per
    step of 4 input values (wa, wb) words of 4 int8 in input order (SXTB16 / SXTB16 ROR 8 give the
    (0,2), (1,3) pairs), then the two multipliers and the two right shifts. k is zero padded to a
    multiple of 4, an odd channel count padded with a zero channel (its constants repeat the last).
    One byte per weight, as the portable build's filter; 12 bytes of constants per channel."""
    n, k = w.shape
    kp = -(-k // 4) * 4
    full = np.zeros((n + n % 2, kp), np.int64)
    full[:n, :k] = w
    assert full.min(initial=0) >= -128 and full.max(initial=0) <= 127
    quads = full.reshape(-1, 2, kp // 4, 4).transpose(0, 2, 1, 3).astype(np.int8)
    words = np.ascontiguousarray(quads).view("<u4").reshape(-1, kp // 2).astype(np.int64)
    per_ch = [np.concatenate([a, a[-1:]] if n % 2 else [a]).reshape(-1, 2) & 0xFFFFFFFF
              for a in (np.broadcast_to(np.asarray(v, np.int64).reshape(-1), (n,)) for v in (bias, mult, rsh))]
    return np.concatenate([per_ch[0], words, per_ch[1], per_ch[2]], axis=1).astype(np.uint32).reshape(-1)


def _v7m_matrix(w: np.ndarray) -> np.ndarray:
    """[n, k] weights -> the M3 matrix layout: per pair of output channels, per step of 4 input
    values, (wa, wb) words of 4 int8 in input order (SXTB / SBFX unpack them); k zero padded to a
    multiple of 4, an odd channel count padded with a zero channel. One byte per weight, as the
    portable build's filter."""
    n, k = w.shape
    kp = -(-k // 4) * 4
    full = np.zeros((n + n % 2, kp), np.int64)
    full[:n, :k] = w
    assert full.min(initial=0) >= -128 and full.max(initial=0) <= 127
    return full.reshape(-1, 2, kp // 4, 4).transpose(0, 2, 1, 3).astype(np.int8).reshape(-1)


def _dsp_matrix(w: np.ndarray) -> np.ndarray:
    """[n, k] weights -> the DSP matrix kernel's layout: per pair of output channels, per step of 4
    input values, (wa, wa', wb, wb') words of 16-bit pairs; an odd channel count is padded with a
    zero channel. One pointer then walks both channels with post-incremented LDRDs."""
    w16 = _dsp_pairs(w)
    n, kp = w16.shape
    if n % 2:
        w16 = np.concatenate([w16, np.zeros((1, kp), np.int16)])
    return w16.reshape(-1, 2, kp // 4, 4).transpose(0, 2, 1, 3).reshape(-1)


def _pad_even(consts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-channel arrays padded to an even length (the DSP kernel reads channel pairs)."""
    return {k: (np.concatenate([v, v[-1:]]) if len(v) % 2 else v) for k, v in consts.items()}


def _requant(ctx: EmitContext, op: Op, mult: np.ndarray, shift: np.ndarray, n: int) -> tuple[dict, dict, list[str]]:
    mult = np.broadcast_to(np.asarray(mult, np.int64), (n,)) if len(mult) == 1 else np.asarray(mult, np.int64)
    shift = np.broadcast_to(np.asarray(shift, np.int64), (n,)) if len(shift) == 1 else np.asarray(shift, np.int64)
    assert (mult >= 0).all(), "multipliers of positive scales are >= 0"
    lsh, rsh = np.maximum(shift, 0), np.maximum(-shift, 0)
    names = [ctx.const_name(op, "opt_mult"), ctx.const_name(op, "opt_rsh"), ctx.const_name(op, "opt_lsh")]
    rs2 = int(bool((rsh >= 2).all()))  # both roundings fold into one high word (kernels/opt_common.h)
    consts = {names[0]: mult.astype(np.int32), names[1]: (rsh - 2 * rs2).astype(np.int32)}
    has_ls = int((lsh > 0).any())
    if has_ls:
        consts[names[2]] = lsh.astype(np.int32)
    else:
        names[2] = "(const int32_t *)0"
    return consts, {"has_lshift": has_ls, "has_rshift0": int((rsh == 0).any()), "rs2": rs2}, names


MM8_ROWS = 3  # HIL_MM8_ROWS in kernels/opt_dsp_mm8.h


def _matrix_scratch_words(fam: str, w8: int, kp: int, n: int, rows: int) -> int:
    """Words of scratch a matrix kernel takes: the im2col row, then the widened rows (DSP: two
    16-bit-weight rows, or MM8_ROWS int8-weight rows after a buffer that also stages a last partial
    block's outputs, one row if that is all; v6-M: a pair of int32 rows, or one row and
    hil_v6m_g8's arguments for its 8-channel path: v6m_matrix_consts)."""
    if fam == "dsp" and w8 and rows == 1:
        return kp // 4 + kp // 2
    if fam == "dsp" and w8:
        return -(-max(kp, MM8_ROWS * n) // 4) + MM8_ROWS * kp // 2
    return kp // 4 + kp if fam == "dsp" else 2 * kp


def _v7m_scratch(rows: int, direct: int, k: int) -> int:
    """Words of scratch hil_opt_conv_v7m uses (kernels/opt_v7m.h): an im2col byte row unless the
    rows are direct, the row pair widened to int32 (one row: kp words), none for a single direct
    row with k % 4 == 0 (read as int8 words)."""
    kp = -(-k // 4) * 4
    if rows == 1 and direct and k == kp:
        return 0
    return (0 if direct else kp // 4) + (kp if rows == 1 else 2 * kp)


def _matrix_layout(ctx: EmitContext, op: Op, fam: str) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """The matrix kernels' weight array name and layout function for this family and preference
    (the DSP cores' int8-weight path has its own stream, _dsp8_call; v7m: int8 pairs of channels,
    the bytes unpacked by SXTB/SBFX)."""
    if fam == "dsp":
        return ctx.const_name(op, "opt_w16"), _dsp_matrix
    return ctx.const_name(op, "opt_w8"), (_v7m_matrix if fam == "v7m" else v6m_matrix)


def _rq30(w2d: np.ndarray, beff: np.ndarray, rs_minus2: np.ndarray, out_off: int) -> int:
    """1 when hil_opt_rq30 (kernels/opt_dsp.h) is exact for this layer: every accumulator (bias_eff +
    int8 inputs x weights) within +-2^30 (it is doubled), and the rounding addend
    (1 + 2 * offset) << (rs - 1) plus the high word within int32. Needs rs2 (the caller checks)."""
    bound = np.abs(np.asarray(beff, np.int64)).reshape(-1) + 128 * np.abs(w2d).sum(axis=1)
    kk = np.abs(2 + 4 * int(out_off)) * (np.int64(1) << np.asarray(rs_minus2, np.int64))
    return int(bool((bound < 2**30).all() and (bound + kk + 2 < 2**31).all()))


MM8_NROWS = 256  # at most this many rows a chunk of hil_mm8_narrow (its set-up: ~30 instructions a chunk and channel)


def _mm8_narrow_rows(p: dict, rq30: int, room: int) -> int:
    """Rows a chunk of hil_mm8_narrow (kernels/opt_dsp_mm8.h: direct rows of at most 8 inputs, rq30,
    the full int8 clamp; -O2) within `room` scratch words (kp / 2 a row; up to MM8_NROWS, >= 16 or
    all rows), or 0 when the layer is not its shape. The same test as hil_opt_conv_dsp8's."""
    if not (p["direct"] and p["kp"] <= 8 and rq30 and (p["act_min"], p["act_max"]) == (-128, 127)
            and p["out_c"] <= 255 and p["rows"] > 1):
        return 0
    rows = min(p["rows"], MM8_NROWS, room // (p["kp"] // 2))
    return rows if rows >= min(16, p["rows"]) else 0


def _mm8_unpacked_words(p: dict, rq30: int) -> int:
    """Scratch words of hil_opt_conv_dsp8 when it unpacks the weights (kernels/opt_dsp_mm8.h, HIL_MM8_UNP:
    rq30, the full clamp, an even channel count, kp <= 64; -O2 on the DSP cores): the block path's
    words, then kp + 8 per channel pair of a group (all pairs with >= 24 rows, or groups of >= 8
    within SCRATCH_LIMIT with >= 96 rows); else 0."""
    if _mm8_narrow_rows(p, rq30, SCRATCH_LIMIT // 4):
        return 0
    base = _matrix_scratch_words("dsp", 1, p["kp"], p["out_c"], p["rows"])
    pairs, gmax = p["out_c"] // 2, (SCRATCH_LIMIT // 4 - base) // (p["kp"] + 8)
    ok = (rq30 and (p["act_min"], p["act_max"]) == (-128, 127) and p["out_c"] % 2 == 0 and p["kp"] <= 64
          and 2 * p["out_c"] + 1 <= 4095 and gmax > 0
          and (p["rows"] >= 24 if pairs <= gmax else gmax >= 8 and p["rows"] >= 96))
    if not ok:
        return 0
    groups = -(-pairs // gmax)  # HIL_MM8_GROUPS, HIL_MM8_GCH: a group's pairs
    return base + -(-pairs // groups) * (p["kp"] + 8)


def _base_scratch_words(ctx: EmitContext) -> int:
    """The model's largest scratch need without the matrix kernel's narrow / unpacked paths: those
    take scratch only up to it (RAM budgets: the kws suite's scratch would grow 392 -> 3,280 B).
    One pass over the graph's ops with those paths off, once a model (ctx.memo)."""
    if "mm8_base_scratch" not in ctx.memo:
        from harness.codegen.ops import lookup  # the op registry imports this module

        sub = EmitContext(ctx.graph, ctx.ptr, {**ctx.options, "mm8_wide_scratch": False}, ctx.inplace)
        words = 0
        for other in ctx.graph.ops:
            spec = lookup(other.opcode)
            if spec is not None and not spec.alias and spec.emit is not None:
                words = max(words, spec.emit(other, ctx.graph, sub).scratch_words)
        ctx.memo["mm8_base_scratch"] = words
    return int(ctx.memo["mm8_base_scratch"])


def _dsp8_call(ctx: EmitContext, op: Op, p: dict, xin: str, yout: str, w2d: np.ndarray, beff: np.ndarray,
               rq: dict, rq_names: list[str]) -> tuple[str, dict, int]:
    """The int8-weight DSP matrix kernel's call, constants and the scratch words its narrow or
    unpacked path needs (0 when the model's scratch has no room for it: wide_scratch): one stream
    (_dsp_stream8) and, only when some channel shifts left, the left shifts; p: the layer's
    hil_opt_conv_t fields (rq30 and wide_scratch added)."""
    rq30 = _rq30(w2d, beff, rq[rq_names[1]], p["out_off"]) if p["rs2"] and not p["has_lshift"] else 0
    # rq30 = 2: rows widened doubled and biases doubled, so the requantization skips its LSL: one
    # instruction less an output for kp / 2 more a row (one SXTAB16 a widened word)
    dbl = int(rq30 and p["out_c"] > p["kp"] // 2)
    wide = extra = 0  # the narrow path's rows a chunk, or 1 for the unpacked path; their scratch words
    if ctx.options.get("mm8_wide_scratch", True) and (_mm8_narrow_rows(p, rq30, SCRATCH_LIMIT // 4)
                                                      or _mm8_unpacked_words(p, rq30)):
        room = max(_matrix_scratch_words("dsp", 1, p["kp"], p["out_c"], p["rows"]), _base_scratch_words(ctx))
        wide = _mm8_narrow_rows(p, rq30, room)
        extra = wide * p["kp"] // 2 if wide else _mm8_unpacked_words(p, rq30)
        wide = wide or int(0 < extra <= room)
        extra = extra if wide else 0
    params = c_struct("hil_opt_conv_t", {**p, "rq30": rq30 + dbl, "wide_scratch": wide})
    name = ctx.const_name(op, "opt_w8")
    # rq30 layers' shift words hold rs - 1 (hil_opt_rq30), the others rs - 2 (rs2) or rs
    consts = {name: _dsp_stream8(w2d, np.asarray(beff, np.int64) * (1 + dbl), rq[rq_names[0]], rq[rq_names[1]] + rq30)}
    lsh = rq_names[2]
    if lsh in rq:
        consts[lsh] = _pad_even({lsh: rq[lsh]})[lsh]
    return f"{params}\nhil_opt_conv_dsp8(&p, {xin}, {name}, {lsh}, hil_scratch, {yout});", consts, extra


def _dsp_first(ctx: EmitContext, op: Op, p: dict, xin: str, yout: str, w: np.ndarray, g: dict, beff: np.ndarray,
               rq: dict, rq_names: list[str], macs: int) -> OpCode | None:
    """A first layer's conv (1-3 input channels; kernels/opt_dsp_first.h: widened input rows, SMLAD
    pairs across taps), or None when its scratch would exceed SCRATCH_LIMIT. p: the layer's
    hil_opt_conv_t fields. With rq30 (the matrix kernel's test, _rq30) the kernel doubles the
    weights as it unpacks them and the stream holds doubled biases and rs - 1: hil_opt_rq30's 4
    instructions an output instead of hil_opt_rq2_dsp's 6."""
    scratch = dsp_first_scratch_words(g)
    if scratch * 4 > SCRATCH_LIMIT:
        return None
    rq30 = _rq30(w.reshape(len(w), -1).astype(np.int64), beff, rq[rq_names[1]], p["out_off"]) \
        if p["rs2"] and not p["has_lshift"] else 0
    params = c_struct("hil_opt_conv_t", {**p, "rq30": 2 * rq30})
    name = ctx.const_name(op, "opt_wf")
    consts = {name: dsp_first_stream(w, np.asarray(beff, np.int64) * (1 + rq30), rq[rq_names[0]],
                                     rq[rq_names[1]] + rq30)}
    if rq_names[2] in rq:  # left shifts, padded to the channel quads
        ls = rq[rq_names[2]]
        consts[rq_names[2]] = np.concatenate([ls, np.repeat(ls[-1:], -len(ls) % 4)])
    code = f"{params}\nhil_opt_first_dsp(&p, {xin}, {name}, {rq_names[2]}, hil_scratch, {yout});"
    return OpCode(code=code, constants=consts, kernels=[*_kernels("dsp", ctx), "opt_dsp_first.h"], macs=macs,
                  scratch_words=scratch)


def optimized_conv(op: Op, ctx: EmitContext, x: Tensor, w: Tensor, y: Tensor, geom: dict, fields: dict,
                   consts: dict, macs: int, dw: bool) -> OpCode | None:
    """The core's int8 CONV_2D / DEPTHWISE_CONV_2D kernel, or None to keep the portable one."""
    fam = family(ctx.options.get("target"))
    if fam == "portable" or w.dtype != "int8" or w.data is None:
        return None
    g = geom
    scratch = 0  # words of hil_scratch this layer's kernel uses
    mult, shift = consts[ctx.const_name(op, "mult")], consts[ctx.const_name(op, "shift")]
    beff_name = ctx.const_name(op, "bias_eff")
    n = g["out_c"]
    rq, flags, rq_names = _requant(ctx, op, mult, shift, n)
    k = g["k_h"] * g["k_w"] * (1 if dw else g["in_c"])
    kp = -(-k // 4) * 4
    rows = g["batches"] * g["out_h"] * g["out_w"]
    direct = int(not dw and g["k_h"] == 1 and g["k_w"] == 1 and g["stride_h"] == 1 and g["stride_w"] == 1
                 and g["pad_h"] == 0 and g["pad_w"] == 0 and g["in_h"] == g["out_h"] and g["in_w"] == g["out_w"])
    p = {"rows": rows, "k": k, "kp": kp, "out_c": n, "direct": direct,
         **{f: g[f] for f in ("batches", "in_h", "in_w", "in_c", "out_h", "out_w", "k_h", "k_w", "stride_h",
                               "stride_w", "dil_h", "dil_w", "pad_h", "pad_w")},
         "in_zp": -fields["input_offset"], "out_off": fields["output_offset"],
         "act_min": fields["act_min"], "act_max": fields["act_max"], **flags}
    w8 = _int8_words(ctx, fam)
    sfx = "8" if w8 else ""  # the int8-weight kernels: hil_opt_conv_dsp8, hil_opt_dwr8_s8, hil_opt_dw_dsp8
    out_consts = {beff_name: consts[beff_name], **rq}
    params = c_struct("hil_opt_conv_t", p)
    xin, yout = ctx.ptr(x.index), ctx.ptr(y.index)
    if dw:
        if g["depth_multiplier"] != 1 or g["k_h"] * g["k_w"] > MAX_TAPS or g["in_c"] > SCRATCH_LIMIT:
            return None
        taps = w.data.reshape(g["k_h"] * g["k_w"], g["in_c"]).astype(np.int64)
        span = (g["k_h"] - 1) * g["dil_h"] + 1
        ring = 2 * span * ((g["out_w"] - 1) * g["stride_w"] + (g["k_w"] - 1) * g["dil_w"] + 1) * g["in_c"]
        plane = _dsp_dw_plane_words(g, flags)
        ring_fits = g["in_c"] % 4 == 0 and ring <= RING_LIMIT
        # 3x3 over per-channel int16 planes (opt_dsp_dwp.h), stride 1 or 2: fewer instructions than the
        # ring on every such layer since its rows run in one asm block (VWW's 3x3x128, stride 2: 4.27
        # against 4.54 insn/MAC)
        if fam == "dsp" and plane:
            stream = ctx.const_name(op, "opt_dwp")
            # rq30 == 2 (the usual case): weights and bias doubled, so the requantization is
            # hil_opt_rq30's 4 instructions instead of 6; its stream holds rs - 1 (else rs - 2)
            r30 = _rq30(taps.T, consts[beff_name], rq[rq_names[1]], p["out_off"])
            words = _dsp_dw3_stream(taps, np.asarray(consts[beff_name], np.int64) * (1 + r30), rq[rq_names[0]],
                                    rq[rq_names[1]] + r30, _dsp_dw3_tr(g))
            params = c_struct("hil_opt_conv_t", {**p, "rq30": 2 * r30})
            code = f"{params}\nhil_opt_dwp3_s8(&p, {xin}, {stream}, hil_scratch, {yout});"
            return OpCode(code=code, constants={stream: words}, kernels=_dw_kernels(fam, ctx), macs=macs,
                          inplace_safe=True, scratch_words=plane)
        if fam == "dsp" and ring_fits:
            # padded input rows in a ring: no bounds checks, natively in place; one constant stream
            scratch = max(scratch, -(-ring // 4))
            if w8:  # per 4 channels a tap's 4 int8 weights as one word (the filter's own bytes)
                quads = taps.astype(np.int8).reshape(len(taps), -1, 4).transpose(1, 0, 2)  # [group, tap, 4]
                words = np.ascontiguousarray(quads).view("<u4").reshape(g["in_c"] // 4, -1).astype(np.int64)
            else:
                pairs = _dsp_pairs(taps).reshape(len(taps), -1, 4)  # [tap, group of 4 channels, 4]
                words = pairs.transpose(1, 0, 2).reshape(g["in_c"] // 4, -1).view(np.uint32).astype(np.int64)
            per_ch = [np.asarray(out_consts[beff_name], np.int64), np.asarray(rq[rq_names[0]], np.int64),
                      np.asarray(rq[rq_names[1]], np.int64)]
            chans = np.stack([a.reshape(-1, 4) for a in per_ch], axis=1).reshape(g["in_c"] // 4, 12) & 0xFFFFFFFF
            stream = ctx.const_name(op, "opt_dwq")
            lsh = rq_names[2]
            dwr_consts = {stream: np.concatenate([words, chans], axis=1).astype(np.uint32).reshape(-1)}
            if lsh in rq:
                dwr_consts[lsh] = rq[lsh]
            code = f"{params}\nhil_opt_dwr{sfx}_s8(&p, {xin}, {stream}, {lsh}, hil_scratch, {yout});"
            return OpCode(code=code, constants=dwr_consts, kernels=_dw_kernels(fam, ctx), macs=macs, inplace_safe=True,
                          scratch_words=scratch)

        if fam == "v7m":  # one window's patch (kernels/opt_v7m.h)
            if taps.size > SCRATCH_LIMIT:
                return None
            scratch = -(-taps.size // 4)
        # the tap table (k_h*k_w pointers, 8-byte ones on a 64-bit host) + a row of input zero points
        scratch = max(scratch, 2 * g["k_h"] * g["k_w"] + -(-g["in_c"] // 4))
        w16 = "(const int16_t *)0"
        bias_arg, w8_arg = beff_name, ""  # v6-M with the split table: neither is read
        if fam == "dsp" and g["in_c"] % 4 == 0 and not w8:  # (with w8 the filter's own words)
            w16 = ctx.const_name(op, "opt_w16")
            out_consts[w16] = _dsp_pairs(taps).reshape(-1)
        elif fam == "v6m" and taps.shape[0] == 9:
            # per channel its 9 taps as int8 (LDRB with immediate offsets + SXTB)
            name = ctx.const_name(op, "opt_w9")
            out_consts[name] = taps.T.astype(np.int8).reshape(-1)
            w16 = f"(const int16_t *)(const void *){name}"
            # the plane path (table present, 3x3 stride 1, out_w <= 12) copies one channel's input plane
            # (x + 128, rows HIL_V6M_DWS = 14 bytes apart) into the scratch; its bias drops 128 * sum(w)
            plane_geom = v6m_plane_dw(fam, g, {"has_lshift": 0}, ["", "", "hil_w_"])
            plane = 14 * ((g["out_h"] + 5) & ~3)  # rows rounded so the arguments after it are aligned
            if not plane_geom or plane <= V6M_DW_PLANE_LIMIT:
                beff = np.asarray(consts[beff_name], np.int64)
                # odd channel counts off the plane path reach the shared per-channel loop (multiplier
                # and shift arrays, bias_eff, the 1HWC filter)
                table_only = plane_geom or g["in_c"] % 2 == 0
                v6m_split(ctx, op, taps.T, beff, mult, shift, fields["output_offset"], flags, rq_names, out_consts,
                           b_tab=beff - 128 * taps.sum(axis=0) if plane_geom else beff, only_table=table_only)
                if rq_names[2] in out_consts and table_only:  # every path starts from the table's b
                    out_consts.pop(beff_name)
                    bias_arg, w8_arg = "(const int32_t *)0", "(const int8_t *)0"
                if rq_names[2] in out_consts and plane_geom:
                    scratch = max(scratch, plane // 4 + V6M_DWC_WORDS)
        code = (f"{params}\nhil_opt_dw_{fam}{sfx}(&p, {xin}, {w8_arg or ctx.ptr(w.index)}, {w16}, {bias_arg}, "
                f"{', '.join(rq_names)}, hil_scratch, {yout});")
        return OpCode(code=code, constants=out_consts, kernels=_dw_kernels(fam, ctx), macs=macs,
                      inplace_safe=v6m_plane_dw(fam, g, flags, rq_names), scratch_words=scratch)
    # first layers whose kernel rows are not whole words (the matrix kernel copies those per pixel
    # before widening; rows of 4k values it widens in place, as fast, with no weight unpacking);
    # a 1x1 conv has no taps to pair: it stays on the matrix kernel
    if (fam == "dsp" and g["in_c"] <= 3 and (g["dil_h"], g["dil_w"]) == (1, 1) and g["k_w"] * g["in_c"] % 4
            and g["k_h"] * g["k_w"] > 1):
        first = _dsp_first(ctx, op, p, xin, yout, w.data, g, consts[beff_name], rq, rq_names, macs)
        if first is not None:
            return first
    if w8:
        need = _matrix_scratch_words(fam, w8, kp, n, rows)
        if need * 4 > SCRATCH_LIMIT:
            return None
        code, out_consts, narrow = _dsp8_call(ctx, op, p, xin, yout, w.data.reshape(n, k).astype(np.int64),
                                              consts[beff_name], rq, rq_names)
        return OpCode(code=code, constants=out_consts, kernels=_kernels(fam, ctx), macs=macs,
                      inplace_safe=bool(direct and n <= g["in_c"]), scratch_words=max(scratch, need, narrow))
    col_words = _v7m_scratch(rows, direct, k) if fam == "v7m" else _matrix_scratch_words(fam, 0, kp, n, rows)
    out_consts = _pad_even(out_consts)
    wname, matrix = _matrix_layout(ctx, op, fam)
    out_consts[wname] = matrix(w.data.reshape(n, k).astype(np.int64))
    bias_arg = beff_name
    if fam == "v6m":
        col_words, bias_arg = v6m_matrix_consts(ctx, op, w.data.reshape(n, k).astype(np.int64), beff_name,
                                                 consts, mult, shift, fields, flags, rq_names, out_consts, wname)
    if col_words * 4 > SCRATCH_LIMIT:
        return None
    scratch = max(scratch, col_words)
    code = (f"{params}\nhil_opt_conv_{fam}{sfx}(&p, {xin}, {wname}, {bias_arg}, {', '.join(rq_names)}, "
            f"hil_scratch, {yout});")
    # direct rows are copied into `col` before their outputs are stored: output row r may overwrite
    # input row r when rows are no wider out than in
    return OpCode(code=code, constants=out_consts, kernels=_kernels(fam, ctx), macs=macs,
                  inplace_safe=bool(direct and n <= g["in_c"]), scratch_words=scratch)


def optimized_fc(op: Op, ctx: EmitContext, x: Tensor, w: Tensor, y: Tensor, geom: dict, fields: dict,
                 consts: dict, macs: int) -> OpCode | None:
    """The core's int8 FULLY_CONNECTED kernel (a matrix product over batches), or None."""
    fam = family(ctx.options.get("target"))
    if fam == "portable" or w.dtype != "int8" or w.data is None:
        return None
    foff = int(fields["filter_offset"])
    if fam in ("v6m", "v7m") and foff != 0:
        return None
    n, k, rows = geom["out_depth"], geom["in_depth"], geom["batches"]
    kp = -(-k // 4) * 4
    rq, flags, rq_names = _requant(ctx, op, consts[ctx.const_name(op, "mult")], consts[ctx.const_name(op, "shift")], n)
    beff_name = ctx.const_name(op, "bias_eff")
    p = {"rows": rows, "k": k, "kp": kp, "out_c": n, "direct": 1, "batches": rows, "in_h": 1, "in_w": 1,
         "in_c": k, "out_h": 1, "out_w": 1, "k_h": 1, "k_w": 1, "stride_h": 1, "stride_w": 1, "dil_h": 1,
         "dil_w": 1, "pad_h": 0, "pad_w": 0, "in_zp": -fields["input_offset"], "out_off": fields["output_offset"],
         "act_min": fields["act_min"], "act_max": fields["act_max"], **flags}
    if _int8_words(ctx, fam):
        scratch = _matrix_scratch_words(fam, 1, kp, n, rows)
        if scratch * 4 > SCRATCH_LIMIT:
            return None
        code, out_consts, narrow = _dsp8_call(ctx, op, p, ctx.ptr(x.index), ctx.ptr(y.index),
                                              w.data.reshape(n, k).astype(np.int64) + foff, consts[beff_name], rq,
                                              rq_names)
        return OpCode(code=code, constants=out_consts, kernels=_kernels(fam, ctx), macs=macs,
                      scratch_words=max(scratch, narrow))
    out_consts = {beff_name: consts[beff_name], **rq}
    out_consts = _pad_even(out_consts)
    wname, matrix = _matrix_layout(ctx, op, fam)
    out_consts[wname] = matrix(w.data.reshape(n, k).astype(np.int64) + foff)
    words = _v7m_scratch(rows, 1, k) if fam == "v7m" else _matrix_scratch_words(fam, 0, kp, n, rows)
    bias_arg = beff_name
    if fam == "v6m":
        words, bias_arg = v6m_matrix_consts(ctx, op, w.data.reshape(n, k).astype(np.int64) + foff, beff_name,
                                             consts, consts[ctx.const_name(op, "mult")],
                                             consts[ctx.const_name(op, "shift")], fields, flags, rq_names,
                                             out_consts, wname)
    if words * 4 > SCRATCH_LIMIT:
        return None
    scratch = words
    fn = f"hil_opt_conv_{fam}"
    code = (f"{c_struct('hil_opt_conv_t', p)}\n{fn}(&p, {ctx.ptr(x.index)}, {wname}, {bias_arg}, "
            f"{', '.join(rq_names)}, {'hil_scratch' if scratch else '(int32_t *)0'}, {ctx.ptr(y.index)});")
    return OpCode(code=code, constants=out_consts, kernels=_kernels(fam, ctx), macs=macs, scratch_words=scratch)


def optimized_avgpool(ctx: EmitContext, x: Tensor, y: Tensor, fields: dict, params: str, macs: int) -> OpCode | None:
    """The DSP cores' int8 AVERAGE_POOL_2D (16-bit lane sums, 4 channels a word), or None."""
    if family(ctx.options.get("target")) != "dsp" or x.dtype != "int8" or fields["channels"] % 4:
        return None
    if fields["f_h"] * fields["f_w"] > 256:  # a lane holds 256 * 128
        return None
    code = f"{params}\nhil_opt_avgpool_s8(&p, {ctx.ptr(x.index)}, {ctx.ptr(y.index)});"
    return OpCode(code=code, kernels=_kernels("dsp"), macs=macs)
