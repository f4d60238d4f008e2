"""FULLY_CONNECTED plug-in (int8 per-tensor/per-channel, int16x8, float32; keep_num_dims)."""

from __future__ import annotations

import numpy as np

from harness.codegen.ir import Graph, Op
from harness.codegen.ops import EmitContext, OpCode, register
from harness.codegen.ops._common import c_struct, effective_bias, float_range, out_range, requant_arrays, tensors
from harness.codegen.optimized import optimized_fc
from harness.codegen.optimized_s16 import s16_fc
from harness.codegen.packing import packed_fc

SUPPORTED = ("int8 (per-tensor or per-channel weights), int16 activations with int8 weights and int64/int32 "
             "bias (16x8), float32; DEFAULT weights format, fused NONE/RELU/RELU6/RELU_N1_TO_1")


@register("FULLY_CONNECTED")
def emit_fc(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    ins, (y, *_) = tensors(op, graph)
    x, w, b = (ins + [None, None, None])[:3]
    o = op.options
    if x is None or w is None or len(w.shape) != 2:
        raise ctx.unsupported(op, "filter must be rank-2 [units, depth]", SUPPORTED)
    if int(o.get("weightsFormat", 0)) != 0:
        raise ctx.unsupported(op, f"weights format {o.get('weightsFormat')}", SUPPORTED)
    act = int(o.get("fusedActivationFunction", 0))
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(op, f"fused activation code {act}", SUPPORTED)
    units, depth = w.shape
    if x.size % depth:
        raise ctx.unsupported(op, f"input of {x.size} values is not a multiple of depth {depth}", SUPPORTED)
    batches = x.size // depth
    if y.size != batches * units:
        raise ctx.unsupported(op, f"output shape {list(y.shape)} for {batches} x {units}", SUPPORTED)
    macs = batches * units * depth
    geom = {"batches": batches, "in_depth": depth, "out_depth": units}
    if x.dtype == "float32":
        if w.dtype != "float32" or y.dtype != "float32":
            raise ctx.unsupported(op, f"float32 input with {w.dtype} weights (hybrid models)", SUPPORTED)
        lo, hi = float_range(act)
        bias = ctx.ptr(b.index) if b is not None else "(const float *)0"
        params = c_struct("hil_fc_f32_params_t", {**geom, "act_min": lo, "act_max": hi})
        code = f"{params}\nhil_fc_f32(&p, {ctx.ptr(x.index)}, {ctx.ptr(w.index)}, {bias}, {ctx.ptr(y.index)});"
        return OpCode(code=code, kernels=["fully_connected.h", "fully_connected_f32.c"], macs=macs)
    if w.dtype not in ("int8", "int4") or w.quant is None or x.quant is None or y.quant is None:
        raise ctx.unsupported(op, f"{x.dtype} input with {w.dtype} weights", SUPPORTED)
    if w.quant.per_channel and (len(w.quant.scale) != units or np.any(w.quant.zero_point != 0)
                                or w.quant.quantized_dimension != 0):
        raise ctx.unsupported(op, "per-channel weights need one scale per unit and zero points of 0", SUPPORTED)
    mult, shift, per_channel = requant_arrays(x, w, y, units)
    lo, hi = out_range(act, y)
    consts = {ctx.const_name(op, "mult"): mult, ctx.const_name(op, "shift"): shift}
    fields = {**geom, "input_offset": -x.zero_point, "filter_offset": -w.zero_point,
              "output_offset": y.zero_point, "act_min": lo, "act_max": hi, "per_channel": per_channel}
    if x.dtype == "int8" and y.dtype == "int8":
        if b is not None and b.dtype != "int32":
            raise ctx.unsupported(op, f"int8 input with {b.dtype} bias", SUPPORTED)
        suffix = "s8"
        if w.data is None or (b is not None and b.data is None):
            raise ctx.unsupported(op, "non-constant weights or bias", SUPPORTED)
        bias = ctx.const_name(op, "bias_eff")
        consts[bias] = effective_bias(None if b is None else b.data, w.data, -x.zero_point, 0, -w.zero_point)
        packed = packed_fc(op, ctx, w, x, y, geom, fields, consts, macs)  # 4-/2-bit grid weights
        if packed is not None:
            return packed
        fast = optimized_fc(op, ctx, x, w, y, geom, fields, consts, macs)  # per-core kernels
        if fast is not None:
            return fast
    elif x.dtype == "int16" and y.dtype == "int16":
        if x.zero_point != 0 or y.zero_point != 0:
            raise ctx.unsupported(op, "int16 activations with a non-zero zero point", SUPPORTED)
        suffix = "s16"
        fast = s16_fc(op, ctx, x, w, y, b, geom, fields, consts, macs)  # the DSP cores' int16x8 kernels
        if fast is not None:
            return fast
        if b is None:
            bias = "(const int64_t *)0"
        elif b.dtype in ("int64", "int32") and b.data is not None:
            bias = ctx.const_name(op, "bias64")
            consts[bias] = b.data.astype(np.int64).reshape(-1)
        else:
            raise ctx.unsupported(op, f"int16 input with {b.dtype} bias", SUPPORTED)
    else:
        raise ctx.unsupported(op, f"{x.dtype} input with {y.dtype} output", SUPPORTED)
    names = list(consts)
    code = (f"{c_struct('hil_fc_params_t', fields)}\nhil_fc_{suffix}(&p, {ctx.ptr(x.index)}, {ctx.ptr(w.index)}, "
            f"{bias}, {names[0]}, {names[1]}, {ctx.ptr(y.index)});")
    return OpCode(code=code, constants=consts, kernels=["fully_connected.h", f"fully_connected_{suffix}.c"], macs=macs)
