"""AVERAGE_POOL_2D and MAX_POOL_2D plug-ins (int8, int16, float32)."""

from __future__ import annotations

from harness.codegen.ir import Graph, Op
from harness.codegen.ops import EmitContext, OpCode, register
from harness.codegen.ops._common import c_struct, first_io, float_range, out_range, same_padding
from harness.codegen.optimized import optimized_avgpool

SUPPORTED = ("rank-4 NHWC int8, int16 or float32 with equal input/output quantization, SAME/VALID padding, "
             "fused NONE/RELU/RELU6/RELU_N1_TO_1")


@register("AVERAGE_POOL_2D", "MAX_POOL_2D")
def emit_pool(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x, y = first_io(op, graph, ctx, SUPPORTED)
    o = op.options
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[3] != y.shape[3]:
        raise ctx.unsupported(op, f"input {list(x.shape)} / output {list(y.shape)}", SUPPORTED)
    if x.dtype != y.dtype or x.dtype not in ("int8", "int16", "float32"):
        raise ctx.unsupported(op, f"{x.dtype} input with {y.dtype} output", SUPPORTED)
    if x.dtype != "float32" and (x.scale != y.scale or x.zero_point != y.zero_point):
        raise ctx.unsupported(op, "input and output quantization differ", SUPPORTED)
    act = int(o.get("fusedActivationFunction", 0))
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(op, f"fused activation code {act}", SUPPORTED)
    batches, in_h, in_w, ch = x.shape
    _, out_h, out_w, _ = y.shape
    fh, fw = int(o.get("filterHeight", 1)), int(o.get("filterWidth", 1))
    sh, sw = int(o.get("strideH", 1)), int(o.get("strideW", 1))
    pad = int(o.get("padding", 0))
    if x.dtype == "float32":
        lo, hi = -(2**31), 2**31 - 1
        flo, fhi = float_range(act)
    else:
        lo, hi = out_range(act, y)
        flo, fhi = 0.0, 0.0
    fields = {
        "batches": batches, "in_h": in_h, "in_w": in_w, "channels": ch, "out_h": out_h, "out_w": out_w,
        "f_h": fh, "f_w": fw, "stride_h": sh, "stride_w": sw,
        "pad_h": same_padding(pad, in_h, out_h, fh, sh), "pad_w": same_padding(pad, in_w, out_w, fw, sw),
        "act_min": lo if lo > -(2**31) else "HIL_INT32_MIN", "act_max": hi, "act_min_f": flo, "act_max_f": fhi,
    }
    kind = "avgpool" if op.opcode == "AVERAGE_POOL_2D" else "maxpool"
    suffix = {"int8": "s8", "int16": "s16", "float32": "f32"}[x.dtype]
    src = "pool_f32.c" if suffix == "f32" else f"{kind}_{suffix}.c"
    params = c_struct("hil_pool_params_t", fields)
    macs = batches * out_h * out_w * ch * fh * fw if kind == "avgpool" else 0
    if kind == "avgpool":
        fast = optimized_avgpool(ctx, x, y, fields, params, macs)  # the core's kernel, if it has one
        if fast is not None:
            return fast
    code = f"{params}\nhil_{kind}_{suffix}(&p, {ctx.ptr(x.index)}, {ctx.ptr(y.index)});"
    body = ["pool_body.inc"] if suffix == "f32" else ["pool_q.h", "pool_body.inc"]  # the shared template
    return OpCode(code=code, kernels=["pooling.h", "hil_fixedpoint.h", *body, src], macs=macs)
