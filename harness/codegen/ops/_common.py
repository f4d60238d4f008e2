"""Helpers shared by the core op plug-ins (not an op module itself)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from harness.codegen.fixedpoint import activation_range, activation_range_float, channel_multipliers
from harness.codegen.ir import Graph, Op, Tensor
from harness.codegen.ops import EmitContext


def c_struct(ctype: str, fields: Mapping[str, object], name: str = "p") -> str:
    """`static const T p = {.a = 1, ...};` with floats written exactly."""
    parts = []
    for k, v in fields.items():
        if isinstance(v, float):
            if math.isinf(v):
                s = "0x1.fffffep+127f" if v > 0 else "-0x1.fffffep+127f"  # +-FLT_MAX, as TFLM clamps
            else:
                s = f"{float(np.float32(v)).hex()}f" if k != "dscale" else f"{v.hex()}"
        else:
            s = str(v)
        parts.append(f".{k} = {s}")
    body = ", ".join(parts)
    return f"static const {ctype} {name} = {{{body}}};"


def same_padding(padding: int, in_size: int, out_size: int, filt: int, stride: int, dilation: int = 1) -> int:
    """Leading (top/left) padding as TFLM computes it; 0 for VALID (padding code 1)."""
    if padding != 0:
        return 0
    eff = (filt - 1) * dilation + 1
    total = max(0, (out_size - 1) * stride + eff - in_size)
    return total // 2


def out_range(act: int, y: Tensor) -> tuple[int, int]:
    return activation_range(act, y.dtype, y.scale, y.zero_point)


def float_range(act: int) -> tuple[float, float]:
    return activation_range_float(act)


def requant_arrays(x: Tensor, w: Tensor, y: Tensor, channels: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(multipliers, shifts, per_channel flag) for a conv/FC output."""
    if w.quant is None:
        raise ValueError(f"requant_arrays: weights '{w.name}' are not quantized (the plug-in checks this first)")
    per_channel = w.quant.per_channel
    n = channels if per_channel else 1
    mult, shift = channel_multipliers(x.scale, w.quant.scale, y.scale, n)
    return mult, shift, int(per_channel)


def tensors(op: Op, graph: Graph) -> tuple[list[Tensor | None], list[Tensor]]:
    ins = [graph.tensor(i) if i >= 0 else None for i in op.inputs]
    outs = [graph.tensor(i) for i in op.outputs]
    return ins, outs


def first_io(op: Op, graph: Graph, ctx: EmitContext, supported: str) -> tuple[Tensor, Tensor]:
    """The op's first input and first output, for plug-ins of one-input ops (an absent input is
    an unsupported model, not a crash)."""
    ins, outs = tensors(op, graph)
    if not ins or ins[0] is None or not outs:
        raise ctx.unsupported(op, f"a missing input or output tensor (inputs {op.inputs}, outputs {op.outputs})",
                              supported)
    return ins[0], outs[0]


def effective_bias(bias: np.ndarray | None, weights: np.ndarray, input_offset: int, channel_axis: int,
                   filter_offset: int = 0) -> np.ndarray:
    """bias + input_offset * sum(w + filter_offset) per output channel, with int32 wrap-around:
    folds the input zero point out of the MAC loop without changing the integer result."""
    w = weights.astype(np.int64) + filter_offset
    sums = np.moveaxis(w, channel_axis, 0).reshape(w.shape[channel_axis], -1).sum(axis=1)
    b = np.zeros(len(sums), np.int64) if bias is None else bias.astype(np.int64).reshape(-1)
    v = (b + int(input_offset) * sums) & 0xFFFFFFFF
    return np.where(v >= 2**31, v - 2**32, v).astype(np.int32)
