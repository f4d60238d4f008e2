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
from harness.errors import ConfigError

# core name (as in boards/*.toml) -> kernel family
FAMILIES = {
    "portable": "portable",
    "cortex-m4": "dsp", "cortex-m7": "dsp", "cortex-m33": "dsp", "cortex-m55": "dsp",
    "cortex-m0": "v6m", "cortex-m0plus": "v6m",
    "cortex-m3": "v7m",  # ARMv7-M without DSP: MLA / SMLAL kernels (kernels/opt_v7m.h)
}
TARGETS = tuple(FAMILIES)
# the generator's flash/speed trade-off (`--prefer`, or a target "cortex-m4:size"): "size" keeps
# every weight int8-sized in flash (the DSP kernels unpack with SXTB16; constants <= the portable
# build's), "speed" stores the DSP cores' weights as 16-bit pairs (8-35 % fewer instructions,
# twice the weight flash). The default stays "speed": "size" would break the suites' M4
# instruction budgets (har 77.7 k, kws 1.56 M) until its kernels block over more rows.
PREFER = ("size", "speed")
DEFAULT_PREFER = "speed"
SCRATCH_LIMIT = 4096  # bytes of im2col scratch a layer may use before it keeps the portable kernel
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


def _kernels(fam: str) -> list[str]:
    """The family's header and what it includes (pooling.h: the DSP average pool's parameters)."""
    family = [f"opt_{fam}.h", *(["opt_v6m_dw.h"] if fam == "v6m" else [])]
    return ["hil_simd.h", "opt_common.h", *(["pooling.h"] if fam == "dsp" else []), *family]


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


def _dsp_matrix8(w: np.ndarray) -> np.ndarray:
    """[n, k] weights -> the int8 DSP matrix layout (prefer size): per pair of output channels, per
    step of 4 input values, (wa, wb) words of 4 int8 in input order (SXTB16 / SXTB16 ROR 8 give the
    (0,2), (1,3) pairs); k zero padded to a multiple of 4, an odd channel count padded with a zero
    channel. One byte per weight, as the portable build's filter."""
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


def _v6m_matrix(w: np.ndarray) -> np.ndarray:
    """[n, k] weights -> the v6-M matrix kernel's layout: per pair of output channels, per input
    value, (wa + 128, wb + 128) as uint8, k zero-padded to a multiple of 4 (stored 128), an odd
    channel count padded with a zero channel."""
    n, k = w.shape
    kp = -(-k // 4) * 4
    full = np.zeros((n + n % 2, kp), np.int64)
    full[:n, :k] = w
    assert full.min(initial=0) >= -128 and full.max(initial=0) <= 127
    return (full.reshape(-1, 2, kp).transpose(0, 2, 1) + 128).astype(np.uint8).reshape(-1)


# v6-M split requantization (kernels/opt_v6m.h, hil_v6m_rq): per channel 4 words
# (K, b, m0 | m1 << 16, m2 | rs << 16): m = m2 * 2^22 + m1 * 2^11 + m0, so every partial product
# acc * m_i fits in 32 bits when |acc| < 2^20; K = 2^(8+rs) + 2^8 + out_off * 2^(9+rs); b = the
# bias the kernel starts its accumulator from.
V6M_RQ_WORDS = 4
V6M_G8_WORDS = 9  # hil_v6m_g8_t, kept in the scratch after the row pair
V6M_DWC_WORDS = 11  # hil_v6m_dwc_t, kept in the scratch after the depthwise plane
V6M_DW_PLANE_LIMIT = 2048  # bytes of scratch the v6-M depthwise plane may take (else no split table)


def _v6m_rq_table(mult: np.ndarray, shift: np.ndarray, out_off: int, bound: np.ndarray,
                  b_dw: np.ndarray | None = None) -> np.ndarray | None:
    """The v6-M split-multiplier table, or None when a channel needs the general path (a left
    shift, a right shift < 2, or an accumulator bound too large for 32-bit partial products).
    bound: per channel max |acc| (|bias_eff| + 128 * sum|w|), known here from the weights."""
    n = len(bound)
    mult = np.broadcast_to(np.asarray(mult, np.int64), (n,))
    rs = -np.broadcast_to(np.asarray(shift, np.int64), (n,))
    bound = np.asarray(bound, np.int64)
    if (rs < 2).any() or (rs > 24).any() or (mult < 0).any():
        return None
    m0, m1, m2 = mult & 0x7FF, (mult >> 11) & 0x7FF, mult >> 22
    k = (1 << (8 + rs)) + 256 + out_off * (1 << (9 + rs))
    lim = 1 << 31
    # (acc*m0 >> 11) + acc*m1, then (. >> 11) + acc*m2 + K: every sum stays in int32
    if ((bound * (1 << 11) + bound + 1) >= lim).any() or ((bound * m2 + bound + 1 + np.abs(k)) >= lim).any():
        return None
    t = np.zeros((n + n % 2, V6M_RQ_WORDS), np.int64)
    b = np.zeros(n, np.int64) if b_dw is None else np.asarray(b_dw, np.int64)
    t[:n] = np.stack([k, b, m0 | (m1 << 16), m2 | (rs << 16)], 1)
    if n % 2:
        t[n] = t[n - 1]
    assert t.min() >= -lim and t.max() < lim
    return t.astype(np.int32).reshape(-1)


def v6m_rq_eval(acc: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Python mirror of HIL_V6M_RQ (before the activation clamp), for the tests."""
    acc = np.asarray(acc, np.int64)
    k, w2, w3 = int(row[0]), int(row[2]), int(row[3])
    m0, m1, m2, rs = w2 & 0xFFFF, w2 >> 16, w3 & 0xFFFF, w3 >> 16
    t = (acc * m0) >> 11
    t = (acc * m1 + t) >> 11
    u = acc * m2 + t + k
    return ((u >> 9) - (acc < 0)) >> rs


def _v6m_matrix8(w: np.ndarray) -> np.ndarray:
    """[n, k] weights (n % 8 == 0) -> the v6-M 8-channel layout used with the split requantization:
    per group of 8 output channels, per input value, the 8 weights + 128 as uint8 (k zero-padded to
    a multiple of 4, stored 128)."""
    n, k = w.shape
    kp = -(-k // 4) * 4
    full = np.zeros((n, kp), np.int64)
    full[:, :k] = w
    assert n % 8 == 0 and full.min(initial=0) >= -128 and full.max(initial=0) <= 127
    return (full.reshape(-1, 8, kp).transpose(0, 2, 1) + 128).astype(np.uint8).reshape(-1)


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


def _v6m_split(ctx: EmitContext, op: Op, w2d: np.ndarray, beff: np.ndarray, mult: np.ndarray, shift: np.ndarray,
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
    tab = _v6m_rq_table(mult, shift, out_off, bound, beff if b_tab is None else b_tab)
    if tab is None:
        return
    name = ctx.const_name(op, "opt_rq6")
    out_consts[name] = tab
    rq_names[2] = name
    if only_table:
        for i in (0, 1):
            out_consts.pop(rq_names[i], None)
            rq_names[i] = "(const int32_t *)0"


def v6m_plane_dw(fam: str, g: dict, flags: dict, rq_names: list[str]) -> bool:
    """Does hil_opt_dw_v6m take the channel-plane path (the same test as in opt_v6m.h)? It
    copies each channel's whole input plane before writing that channel's outputs, so the output
    may be the input itself: the planner's in-place layers then need no row ring."""
    return (fam == "v6m" and g["k_h"] == 3 and g["k_w"] == 3 and not flags["has_lshift"]
            and rq_names[2].startswith("hil_w_") and g["stride_h"] == 1 and g["stride_w"] == 1
            and g["dil_h"] == 1 and g["dil_w"] == 1 and g["out_w"] <= 12)


def _v7m_scratch(rows: int, direct: int, k: int) -> int:
    """Words of scratch hil_opt_conv_v7m uses (kernels/opt_v7m.h): an im2col byte row unless the
    rows are direct, the row pair widened to int32 (one row: kp words), none for a single direct
    row with k % 4 == 0 (read as int8 words)."""
    kp = -(-k // 4) * 4
    if rows == 1 and direct and k == kp:
        return 0
    return (0 if direct else kp // 4) + (kp if rows == 1 else 2 * kp)


def _matrix_layout(ctx: EmitContext, op: Op, fam: str, w8: int) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """The matrix kernels' weight array name and layout function for this family and preference
    (v7m: the DSP cores' int8 layout, its bytes unpacked by SXTB/SBFX)."""
    if fam == "dsp" and not w8:
        return ctx.const_name(op, "opt_w16"), _dsp_matrix
    return ctx.const_name(op, "opt_w8"), (_dsp_matrix8 if fam in ("dsp", "v7m") else _v6m_matrix)


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
        if fam == "dsp" and g["in_c"] % 4 == 0 and ring <= RING_LIMIT:
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
            return OpCode(code=code, constants=dwr_consts, kernels=_kernels(fam), macs=macs, inplace_safe=True,
                          scratch_words=scratch)

        if fam == "v7m":  # one window's patch (kernels/opt_v7m.h)
            if taps.size > SCRATCH_LIMIT:
                return None
            scratch = -(-taps.size // 4)
        # the tap table (k_h*k_w pointers, 8-byte ones on a 64-bit host) + a row of input zero points
        scratch = max(scratch, 2 * g["k_h"] * g["k_w"] + -(-g["in_c"] // 4))
        w16 = "(const int16_t *)0"
        if fam == "dsp" and g["in_c"] % 4 == 0 and not w8:  # (with w8 the filter's own words)
            w16 = ctx.const_name(op, "opt_w16")
            out_consts[w16] = _dsp_pairs(taps).reshape(-1)
        elif fam == "v6m" and taps.shape[0] == 9:
            # per channel its 9 taps as int32 (LDR with immediate offsets)
            name = ctx.const_name(op, "opt_w32")
            out_consts[name] = taps.T.astype(np.int32).reshape(-1)
            w16 = f"(const int16_t *)(const void *){name}"
            # the fast path (table present, 3x3 stride 1, out_w <= 12) copies one channel's input plane
            # (x + 128, rows HIL_V6M_DWS = 14 bytes apart) into the scratch; its bias drops 128 * sum(w)
            plane = 14 * ((g["out_h"] + 5) & ~3)  # rows rounded so the arguments after it are aligned
            if plane <= V6M_DW_PLANE_LIMIT:
                # odd channel counts can reach the shared per-channel loop (multiplier and shift arrays)
                _v6m_split(ctx, op, taps.T, consts[beff_name], mult, shift, fields["output_offset"], flags,
                           rq_names, out_consts, b_tab=np.asarray(consts[beff_name], np.int64) - 128 * taps.sum(axis=0),
                           only_table=g["in_c"] % 2 == 0)
                scratch = max(scratch, plane // 4 + V6M_DWC_WORDS)
        code = (f"{params}\nhil_opt_dw_{fam}{sfx}(&p, {xin}, {ctx.ptr(w.index)}, {w16}, {beff_name}, "
                f"{', '.join(rq_names)}, hil_scratch, {yout});")
        return OpCode(code=code, constants=out_consts, kernels=_kernels(fam), macs=macs,
                      inplace_safe=v6m_plane_dw(fam, g, flags, rq_names), scratch_words=scratch)
    words = kp // 4 + (kp if fam == "dsp" else 2 * kp)
    need = _v7m_scratch(rows, direct, k) if fam == "v7m" else words
    if need * 4 > SCRATCH_LIMIT:
        return None
    scratch = max(scratch, need)
    out_consts = _pad_even(out_consts)
    wname, matrix = _matrix_layout(ctx, op, fam, w8)
    out_consts[wname] = matrix(w.data.reshape(n, k).astype(np.int64))
    if fam == "v6m":
        _v6m_split(ctx, op, w.data.reshape(n, k).astype(np.int64), consts[beff_name], mult, shift,
                   fields["output_offset"], flags, rq_names, out_consts)
        if n % 8 == 0 and rq_names[2] in out_consts:  # the kernel's 8-channel path (kernels/opt_v6m.h)
            out_consts[wname] = _v6m_matrix8(w.data.reshape(n, k).astype(np.int64))
            scratch = max(scratch, words + V6M_G8_WORDS)
    code = (f"{params}\nhil_opt_conv_{fam}{sfx}(&p, {xin}, {wname}, {beff_name}, {', '.join(rq_names)}, "
            f"hil_scratch, {yout});")
    # direct rows are copied into `col` before their outputs are stored: output row r may overwrite
    # input row r when rows are no wider out than in
    return OpCode(code=code, constants=out_consts, kernels=_kernels(fam), macs=macs,
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
    words = _v7m_scratch(rows, 1, k) if fam == "v7m" else kp // 4 + (kp if fam == "dsp" else 2 * kp)
    if words * 4 > SCRATCH_LIMIT:
        return None
    scratch = words
    rq, flags, rq_names = _requant(ctx, op, consts[ctx.const_name(op, "mult")], consts[ctx.const_name(op, "shift")], n)
    beff_name = ctx.const_name(op, "bias_eff")
    p = {"rows": rows, "k": k, "kp": kp, "out_c": n, "direct": 1, "batches": rows, "in_h": 1, "in_w": 1,
         "in_c": k, "out_h": 1, "out_w": 1, "k_h": 1, "k_w": 1, "stride_h": 1, "stride_w": 1, "dil_h": 1,
         "dil_w": 1, "pad_h": 0, "pad_w": 0, "in_zp": -fields["input_offset"], "out_off": fields["output_offset"],
         "act_min": fields["act_min"], "act_max": fields["act_max"], **flags}
    w8 = _int8_words(ctx, fam)
    out_consts = {beff_name: consts[beff_name], **rq}
    out_consts = _pad_even(out_consts)
    wname, matrix = _matrix_layout(ctx, op, fam, w8)
    out_consts[wname] = matrix(w.data.reshape(n, k).astype(np.int64) + foff)
    if fam == "v6m":
        _v6m_split(ctx, op, w.data.reshape(n, k).astype(np.int64) + foff, consts[beff_name],
                   consts[ctx.const_name(op, "mult")], consts[ctx.const_name(op, "shift")],
                   fields["output_offset"], flags, rq_names, out_consts)
        if n % 8 == 0 and rq_names[2] in out_consts:
            out_consts[wname] = _v6m_matrix8(w.data.reshape(n, k).astype(np.int64) + foff)
            scratch = max(scratch, words + V6M_G8_WORDS)
    fn = f"hil_opt_conv_{fam}{'8' if w8 else ''}"
    code = (f"{c_struct('hil_opt_conv_t', p)}\n{fn}(&p, {ctx.ptr(x.index)}, {wname}, {beff_name}, "
            f"{', '.join(rq_names)}, {'hil_scratch' if scratch else '(int32_t *)0'}, {ctx.ptr(y.index)});")
    return OpCode(code=code, constants=out_consts, kernels=_kernels(fam), macs=macs, scratch_words=scratch)


def optimized_avgpool(ctx: EmitContext, x: Tensor, y: Tensor, fields: dict, params: str, macs: int) -> OpCode | None:
    """The DSP cores' int8 AVERAGE_POOL_2D (16-bit lane sums, 4 channels a word), or None."""
    if family(ctx.options.get("target")) != "dsp" or x.dtype != "int8" or fields["channels"] % 4:
        return None
    if fields["f_h"] * fields["f_w"] > 256:  # a lane holds 256 * 128
        return None
    code = f"{params}\nhil_opt_avgpool_s8(&p, {ctx.ptr(x.index)}, {ctx.ptr(y.index)});"
    return OpCode(code=code, kernels=_kernels("dsp"), macs=macs)
