"""Packed 4-/2-bit weights for CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (int8 activations).

Why: a w4a8 / w2a8 model is an int8 model whose weights lie on a per-channel b-bit grid
(weight = code * step_c, harness.quant.grid), and an INT4 model's weights are 4-bit values. Storing
the codes packed (2 or 4 per byte, harness.quant.packing's layout) cuts the filter's flash to 1/2
or 1/4. The step is an integer, so the kernels stay exact: sum(x * w) = step_c * sum(x * code);
the output is bit-exact with TFLM running the unchanged int8 model.

Detection is from the weights alone: per output channel the step is the gcd of the channel's
weights (the largest integer step, so the smallest codes); a layer is packed at the smallest
width (2, then 4 bits) whose two's-complement range holds every code. An ordinary int8 layer
fails that test and keeps the int8 kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.codegen.ir import Graph, Op, Tensor
from harness.codegen.ops import EmitContext, OpCode
from harness.codegen.ops._common import c_struct
from harness.quant.packing import pack, value_range

__all__ = ["PackedFilter", "detect_packed", "packed_conv", "packed_fc", "PACK_BITS"]

PACK_BITS = (2, 4)
# A packed convolution unpacks two output channels' codes (2 * k_h * k_w * in_c bytes) into the
# model's shared scratch buffer (hil_scratch, RAM) and reuses them for every interior pixel, and
# gathers border windows there (k_h * k_w * in_c more); a layer with a larger filter per channel
# keeps the int8 kernel rather than claim that much RAM.
SCRATCH_MAX_BYTES = 4096
KERNEL_HEADER = "packed_w4w2.h"


@dataclass(frozen=True)
class PackedFilter:
    """A filter as codes: `weights == codes * steps` along `channel_axis`, exactly."""

    bits: int
    codes: np.ndarray  # int8, the filter's shape and layout
    steps: np.ndarray  # int16, one per output channel
    packed: np.ndarray  # uint8, pack(codes, bits)

    @property
    def uniform_step(self) -> bool:
        return bool(np.all(self.steps == self.steps[0]))


def detect_packed(weights: np.ndarray, channel_axis: int, allowed: tuple[int, ...] = PACK_BITS) -> PackedFilter | None:
    """The filter as packed b-bit codes with integer per-channel steps, or None if it is not on a grid."""
    w = np.asarray(weights).astype(np.int64)
    if w.size == 0:
        return None
    chans = np.moveaxis(w, channel_axis, 0).reshape(w.shape[channel_axis], -1)
    steps = np.gcd.reduce(np.abs(chans), axis=1)
    steps[steps == 0] = 1  # an all-zero channel: codes 0
    codes_c = chans // steps[:, None]
    lo, hi = int(codes_c.min()), int(codes_c.max())
    for bits in sorted(allowed):
        vmin, vmax = value_range(bits)
        if vmin <= lo and hi <= vmax:
            codes = np.moveaxis(codes_c.reshape(np.moveaxis(w, channel_axis, 0).shape), 0, channel_axis).astype(np.int8)
            assert np.array_equal(codes.astype(np.int64) * _expand(steps, channel_axis, w.ndim), w)
            packed = np.frombuffer(pack(codes, bits), np.uint8).copy()
            return PackedFilter(bits, codes, steps.astype(np.int16), packed)
    return None


def _expand(steps: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = len(steps)
    return steps.reshape(shape)


def _pack_consts(op: Op, ctx: EmitContext, pk: PackedFilter) -> tuple[str, str, dict[str, np.ndarray]]:
    codes, step = ctx.const_name(op, "wcodes"), ctx.const_name(op, "wstep")
    steps = pk.steps[:1] if pk.uniform_step else pk.steps
    return codes, step, {codes: pk.packed, step: steps}


def _enabled(ctx: EmitContext) -> bool:
    return bool(ctx.options.get("pack_weights", True))


def packed_conv(op: Op, ctx: EmitContext, w: Tensor, x: Tensor, y: Tensor, b: Tensor | None, geom: dict,
                fields: dict, consts: dict[str, np.ndarray], macs: int) -> OpCode | None:
    """OpCode running CONV_2D / DEPTHWISE_CONV_2D (int8 in/out, int32 bias) on packed codes, or
    None when packing is off or the filter is not on a 4-/2-bit grid (the int8 kernel runs).

    `fields` / `consts` are the int8 emitter's (offsets, clamp, per_channel; mult, shift, bias_eff
    in that order)."""
    dw = op.opcode == "DEPTHWISE_CONV_2D"
    if not _enabled(ctx) or w.data is None:
        return None
    w_size = int(np.prod(w.shape[1:]))
    if not dw and 3 * w_size > SCRATCH_MAX_BYTES:
        return None
    pk = detect_packed(w.data, 3 if dw else 0)
    if pk is None:
        return None
    codes, step, extra = _pack_consts(op, ctx, pk)
    mult, shift, beff = list(consts)[:3]
    keys = ("input_offset", "output_offset", "act_min", "act_max", "per_channel")
    params = c_struct("hil_conv_pk_params_t",
                      {**geom, **{k: fields[k] for k in keys}, "per_channel_step": int(not pk.uniform_step)})
    kind = "dwconv" if dw else "conv"
    fn = f"hil_{kind}_s8w{pk.bits}"
    if dw:  # border windows start from the bias and add the input offset per tap
        bias = ctx.ptr(b.index) if b is not None else "(const int32_t *)0"
        args = f"{bias}, {beff}, {mult}, {shift}"
    else:  # two channels' codes or one gathered window, in the model's shared scratch buffer
        args = f"{beff}, {mult}, {shift}, (int8_t *)hil_scratch"
    code = f"{params}\n{fn}(&p, {ctx.ptr(x.index)}, {codes}, {step}, {args}, {ctx.ptr(y.index)});"
    kernels = [KERNEL_HEADER, *(["dwconv_s8pk.h"] if dw else []), f"{kind}_s8w{pk.bits}.c"]
    return OpCode(code=code, constants={**consts, **extra}, kernels=kernels, macs=macs, weight_bits=pk.bits,
                  scratch_words=0 if dw else -(-3 * w_size // 4))


def packed_fc(op: Op, ctx: EmitContext, w: Tensor, x: Tensor, y: Tensor, geom: dict, fields: dict,
              consts: dict[str, np.ndarray], macs: int) -> OpCode | None:
    """OpCode running FULLY_CONNECTED (int8 in/out) on packed codes, or None (int8 kernel runs).

    `consts` are the int8 emitter's (mult, shift, bias_eff in that order); the filter zero point
    must be 0 (it always is for per-channel weights)."""
    if not _enabled(ctx) or w.data is None or fields.get("filter_offset", 0) != 0:
        return None
    pk = detect_packed(w.data, 0)
    if pk is None:
        return None
    codes, step, extra = _pack_consts(op, ctx, pk)
    mult, shift, beff = list(consts)[:3]
    keys = ("input_offset", "output_offset", "act_min", "act_max", "per_channel")
    params = c_struct("hil_fc_pk_params_t",
                      {**geom, **{k: fields[k] for k in keys}, "per_channel_step": int(not pk.uniform_step)})
    code = (f"{params}\nhil_fc_s8w{pk.bits}(&p, {ctx.ptr(x.index)}, {codes}, {step}, {beff}, {mult}, {shift}, "
            f"{ctx.ptr(y.index)});")
    return OpCode(code=code, constants={**consts, **extra}, kernels=[KERNEL_HEADER, f"fc_s8w{pk.bits}.c"],
                  macs=macs, weight_bits=pk.bits)


def weight_bits_of(op: Op, graph: Graph, oc: OpCode) -> int | None:
    """Stored weight width of a conv/FC layer: the packed width, else the filter's element bits."""
    if oc.weight_bits:
        return int(oc.weight_bits)
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(op.inputs) > 1 and op.inputs[1] >= 0:
        t = graph.tensor(op.inputs[1])
        return {"float32": 32, "int8": 8, "int4": 8, "int16": 16}.get(t.dtype)
    return None


def dsp_first_stream(w: np.ndarray, bias: np.ndarray, mult: np.ndarray, rsh: np.ndarray) -> np.ndarray:
    """[n, k_h, k_w, in_c] int8 filter + per-channel constants -> kernels/opt_dsp_first.h's stream:
    per 4 output channels (a, b, c, d; n padded with zero channels whose constants repeat the last)
    the 4 biases, then per kernel row, per pair of adjacent window values (t0, t1) (k_w * in_c
    padded to even with a zero tap) the words (a0, b0, a1, b1), (c0, d0, c1, d1) (SXTB16 / SXTB16
    ROR 8 unpack them into each channel's 16-bit (t0, t1) pair, the order of the kernel's widened
    input rows), then the 4 multipliers and the 4 right shifts. One byte per weight (+ padding)."""
    n, k_h, k_w, in_c = w.shape
    seg = k_w * in_c
    nw = -(-seg // 2)
    quads = -(-n // 4)
    full = np.zeros((quads * 4, k_h, 2 * nw), np.int64)
    full[:n, :, :seg] = w.reshape(n, k_h, seg)
    assert full.min(initial=0) >= -128 and full.max(initial=0) <= 127
    # [quad, channel a..d, k_h, nw, t] -> [quad, k_h, nw, (ab | cd), t, (a | b)]
    order = full.reshape(-1, 2, 2, k_h, nw, 2).transpose(0, 3, 4, 1, 5, 2)
    words = np.ascontiguousarray(order.astype(np.int8)).reshape(quads, -1).view("<u4").astype(np.int64)

    def per_quad(v: np.ndarray) -> np.ndarray:
        v = np.broadcast_to(np.asarray(v, np.int64).reshape(-1), (n,))
        return np.concatenate([v, np.repeat(v[-1:], quads * 4 - n)]).reshape(quads, 4) & 0xFFFFFFFF

    return np.concatenate([per_quad(bias), words, per_quad(mult), per_quad(rsh)], axis=1).astype(np.uint32).reshape(-1)


def dsp_first_scratch_words(g: dict) -> int:
    """Words of scratch hil_opt_first_dsp takes (HIL_FIRST_NW / HIL_FIRST_RW in opt_dsp_first.h):
    per channel quad 12 constant words and 4 per tap pair (unpacked), then a ring of 2 k_h widened rows."""
    nw = (g["k_w"] * g["in_c"] + 1) // 2
    ow2 = g["out_w"] + g["out_w"] % 2
    rw = ((ow2 - 1) * g["stride_w"] * g["in_c"] + 2 * nw + 1) // 2
    return -(-g["out_c"] // 4) * (12 + g["k_h"] * nw * 4) + 2 * g["k_h"] * rw
