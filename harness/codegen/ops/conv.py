"""CONV_2D and DEPTHWISE_CONV_2D plug-ins (int8, int16x8, float32)."""

from __future__ import annotations

import re

import numpy as np

from harness.codegen.ir import Graph, Op, ctype, itemsize
from harness.codegen.ops import EmitContext, OpCode, register
from harness.codegen.ops._common import c_struct, effective_bias, float_range, out_range, requant_arrays, same_padding, tensors
from harness.codegen.optimized import optimized_conv
from harness.codegen.optimized_s16 import s16_conv
from harness.codegen.packing import packed_conv

SUPPORTED = ("int8 (per-tensor or per-channel weights), int16 activations with int8 weights (16x8), float32; "
             "NHWC input, SAME/VALID padding, any stride/dilation, fused NONE/RELU/RELU6/RELU_N1_TO_1")


def _row_geometry(op: Op, graph: Graph) -> dict | None:
    """(pad_h, span, rows, in_h, row_bytes) when the output can be written over the input row by
    row: same shape and type, batch 1, stride 1 down the rows, every window touching the input."""
    if len(op.inputs) < 2 or op.inputs[0] < 0 or not op.outputs:
        return None
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if (len(x.shape) != 4 or len(w.shape) != 4 or tuple(x.shape) != tuple(y.shape) or x.dtype != y.dtype
            or x.shape[0] != 1 or int(op.options.get("strideH", 1)) != 1):
        return None
    k_h = w.shape[1]
    dil = int(op.options.get("dilationHFactor", 1))
    pad = same_padding(int(op.options.get("padding", 0)), x.shape[1], y.shape[1], k_h, 1, dil)
    span = (k_h - 1) * dil + 1
    if pad >= span:
        return None
    return {"pad": pad, "span": span, "rows": y.shape[1], "in_h": x.shape[1],
            "row_bytes": x.shape[2] * x.shape[3] * itemsize(x.dtype)}


def conv_in_place(op: Op, graph: Graph) -> int | None:
    """Ring bytes to run in place (at most: kernels that read each row first need none)."""
    g = _row_geometry(op, graph)
    return None if g is None else (g["pad"] + 1) * g["row_bytes"]


@register("CONV_2D", "DEPTHWISE_CONV_2D", inplace=conv_in_place)
def emit_conv(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    """The op's kernel call. In place (the planner's choice) the output goes over the input:
    directly when the kernel reads each row before writing it (`OpCode.inplace_safe`), else row by
    row through a ring of pad_h + 1 output rows, output row r going over input row r once no later
    output reads it (after output row r + pad_h)."""
    if op.index not in ctx.inplace:
        return _emit_conv(op, graph, ctx)
    g = _row_geometry(op, graph)
    assert g is not None, f"op #{op.index}: planned in place without a row geometry"
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    base = f"(uint8_t *)(void *){ctx.ptr(x.index)}"
    oc = _emit_conv(op, graph, ctx.with_pointers({x.index: f"(({ctype(x.dtype)} *)(void *)hil_ip_x)",
                                                  y.index: f"(({ctype(y.dtype)} *)(void *)hil_ip_y)"}))
    *decls, call = oc.code.strip().splitlines()
    m = re.fullmatch(r"static const (\w+) p = .*", decls[-1] if decls else "")
    if m is None or "(&p," not in call:
        raise AssertionError(f"op #{op.index}: kernel code is not 'params struct + one call': {oc.code!r}")
    if oc.inplace_safe:  # the kernel itself reads each row before writing it
        oc.code = "\n".join([*decls, f"uint8_t *const hil_ip_x = {base}, *const hil_ip_y = hil_ip_x;", call])
        return oc
    d, rb, rows = g["pad"], g["row_bytes"], g["rows"]
    oc.needs(ring_bytes=(d + 1) * rb)
    rows_field = f" hil_q.rows = {y.shape[2]};" if m.group(1) == "hil_opt_conv_t" else ""
    oc.code = "\n".join([
        *decls,
        f"uint8_t *const hil_t = {base};",
        f"for (int32_t hil_r = 0; hil_r < {rows + d}; ++hil_r) {{",
        f"    if (hil_r < {rows}) {{",
        f"        {m.group(1)} hil_q = p;",
        f"        const int32_t hil_y0 = hil_r - {d}, hil_lo = hil_y0 > 0 ? hil_y0 : 0;",
        f"        const int32_t hil_hi = hil_y0 + {g['span']} < {g['in_h']} ? hil_y0 + {g['span']} : {g['in_h']};",
        f"        hil_q.in_h = hil_hi - hil_lo; hil_q.pad_h = hil_lo - hil_y0; hil_q.out_h = 1;{rows_field}",
        f"        uint8_t *const hil_ip_x = hil_t + hil_lo * {rb};",
        f"        uint8_t *const hil_ip_y = hil_ring + (hil_r % {d + 1}) * {rb};",
        "        " + call.replace("(&p,", "(&hil_q,"),
        "    }",
        f"    if (hil_r >= {d}) {{",
        f"        memcpy(hil_t + (hil_r - {d}) * {rb}, hil_ring + ((hil_r - {d}) % {d + 1}) * {rb}, {rb});",
        "    }",
        "}",
    ])
    return oc


def _emit_conv(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    (x, w, b, *_), (y, *_) = tensors(op, graph)
    dw = op.opcode == "DEPTHWISE_CONV_2D"
    o = op.options
    if x is None or w is None or len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
        raise ctx.unsupported(op, "input, filter and output must be rank-4 (NHWC)", SUPPORTED)
    batches, in_h, in_w, in_c = x.shape
    _, out_h, out_w, out_c = y.shape
    if dw:
        _, k_h, k_w, f_c = w.shape
        if f_c != out_c or out_c % in_c:
            raise ctx.unsupported(op, f"filter {list(w.shape)} does not match input {list(x.shape)} / output {list(y.shape)}", SUPPORTED)
        depth_multiplier = out_c // in_c
    else:
        f_o, k_h, k_w, f_i = w.shape
        if f_o != out_c or f_i != in_c:
            raise ctx.unsupported(op, f"grouped convolution (filter {list(w.shape)}, input {list(x.shape)})", SUPPORTED)
        depth_multiplier = 1
    sh, sw = int(o.get("strideH", 1)), int(o.get("strideW", 1))
    dh, dwl = int(o.get("dilationHFactor", 1)), int(o.get("dilationWFactor", 1))
    pad = int(o.get("padding", 0))
    act = int(o.get("fusedActivationFunction", 0))
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(op, f"fused activation code {act}", SUPPORTED)
    geom = {
        "batches": batches, "in_h": in_h, "in_w": in_w, "in_c": in_c,
        "out_h": out_h, "out_w": out_w, "out_c": out_c, "k_h": k_h, "k_w": k_w,
        "stride_h": sh, "stride_w": sw, "dil_h": dh, "dil_w": dwl,
        "pad_h": same_padding(pad, in_h, out_h, k_h, sh, dh),
        "pad_w": same_padding(pad, in_w, out_w, k_w, sw, dwl),
        "depth_multiplier": depth_multiplier,
    }
    macs = batches * out_h * out_w * out_c * k_h * k_w * (1 if dw else in_c)
    kind = "dwconv" if dw else "conv"
    header = ["conv.h"]
    bias = "(const void *)0"
    if x.dtype == "float32":
        if w.dtype != "float32" or y.dtype != "float32" or (b is not None and b.dtype != "float32"):
            raise ctx.unsupported(op, f"float32 input with {w.dtype} filter / {y.dtype} output", SUPPORTED)
        lo, hi = float_range(act)
        params = c_struct("hil_conv_f32_params_t", {**geom, "act_min": lo, "act_max": hi})
        bias = ctx.ptr(b.index) if b is not None else "(const float *)0"
        code = f"{params}\nhil_{kind}_f32(&p, {ctx.ptr(x.index)}, {ctx.ptr(w.index)}, {bias}, {ctx.ptr(y.index)});"
        return OpCode(code=code, kernels=header + ["conv_f32.c"], macs=macs)

    if w.dtype not in ("int8", "int4") or w.quant is None or x.quant is None or y.quant is None:
        raise ctx.unsupported(op, f"{x.dtype} input with {w.dtype} filter", SUPPORTED)
    if np.any(w.quant.zero_point != 0):
        raise ctx.unsupported(op, "filter zero point is not 0", SUPPORTED)
    if w.quant.per_channel and w.quant.quantized_dimension != (3 if dw else 0):
        raise ctx.unsupported(op, f"filter quantized along dimension {w.quant.quantized_dimension}", SUPPORTED)
    if w.quant.per_channel and len(w.quant.scale) != out_c:
        raise ctx.unsupported(op, f"{len(w.quant.scale)} filter scales for {out_c} output channels", SUPPORTED)
    mult, shift, per_channel = requant_arrays(x, w, y, out_c)
    lo, hi = out_range(act, y)
    consts = {ctx.const_name(op, "mult"): mult, ctx.const_name(op, "shift"): shift}
    fields = {**geom, "input_offset": -x.zero_point, "output_offset": y.zero_point,
              "act_min": lo, "act_max": hi, "per_channel": per_channel}
    if x.dtype == "int8" and y.dtype == "int8":
        if b is not None and b.dtype != "int32":
            raise ctx.unsupported(op, f"int8 conv with {b.dtype} bias", SUPPORTED)
        suffix = "s8"
        if w.data is None or (b is not None and b.data is None):
            raise ctx.unsupported(op, "non-constant filter or bias", SUPPORTED)
        beff = ctx.const_name(op, "bias_eff")
        consts[beff] = effective_bias(None if b is None else b.data, w.data, -x.zero_point, 3 if dw else 0)
        packed = packed_conv(op, ctx, w, x, y, b, geom, fields, consts, macs)  # 4-/2-bit grid filters
        if packed is not None:
            return packed
        fast = optimized_conv(op, ctx, x, w, y, geom, fields, consts, macs, dw)  # per-core kernels
        if fast is not None:
            return fast
        # the raw bias only now: ctx.ptr emits it to flash, and the kernels above may not read it
        bias = f"{ctx.ptr(b.index) if b is not None else '(const int32_t *)0'}, {beff}"
    elif x.dtype == "int16" and y.dtype == "int16":
        if x.zero_point != 0 or y.zero_point != 0:
            raise ctx.unsupported(op, "int16 activations with a non-zero zero point", SUPPORTED)
        suffix = "s16"
        fast = s16_conv(op, ctx, x, w, y, b, geom, fields, consts, macs, dw)  # the DSP cores' int16x8 kernels
        if fast is not None:
            return fast
        if b is None:
            bias = "(const int64_t *)0"
        elif b.dtype in ("int64", "int32") and b.data is not None:
            name = ctx.const_name(op, "bias64")
            consts[name] = b.data.astype(np.int64).reshape(-1)
            bias = name
        else:
            raise ctx.unsupported(op, f"int16 conv with {b.dtype} bias", SUPPORTED)
    else:
        raise ctx.unsupported(op, f"{x.dtype} input with {y.dtype} output", SUPPORTED)
    params = c_struct("hil_conv_params_t", fields)
    names = list(consts)
    code = (f"{params}\nhil_{kind}_{suffix}(&p, {ctx.ptr(x.index)}, {ctx.ptr(w.index)}, {bias}, "
            f"{names[0]}, {names[1]}, {ctx.ptr(y.index)});")
    body = ["dwconv_body.inc"] if dw else []  # the int8 and int16x8 depthwise kernels' shared template
    return OpCode(code=code, constants=consts, kernels=header + body + [f"{kind}_{suffix}.c"], macs=macs)
