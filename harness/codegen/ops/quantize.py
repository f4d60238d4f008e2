"""QUANTIZE (float -> int8/int16, int8/int16 -> int8/int16) and DEQUANTIZE (int8/int16 -> float)."""

from __future__ import annotations

import numpy as np

from harness.codegen.fixedpoint import quantize_multiplier
from harness.codegen.ir import Graph, Op
from harness.codegen.ops import EmitContext, OpCode, register
from harness.codegen.ops._common import c_struct, first_io

SUPPORTED = "QUANTIZE float32/int8/int16 -> int8/int16 (per-tensor); DEQUANTIZE int8/int16 -> float32"
_SUF = {"int8": "s8", "int16": "s16", "float32": "f32"}


@register("QUANTIZE", "DEQUANTIZE")
def emit_quantize(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x, y = first_io(op, graph, ctx, SUPPORTED)
    if x.size != y.size:
        raise ctx.unsupported(op, f"input {list(x.shape)} / output {list(y.shape)}", SUPPORTED)
    for t in (x, y):
        if t.dtype != "float32" and (t.quant is None or t.quant.per_channel):
            raise ctx.unsupported(op, f"tensor '{t.name}' is {t.dtype} without per-tensor quantization", SUPPORTED)
    fields = {"size": x.size, "scale": 0.0, "dscale": 0.0, "multiplier": 0, "shift": 0,
              "input_zero_point": x.zero_point, "output_zero_point": y.zero_point}
    pair = (x.dtype, y.dtype)
    if op.opcode == "DEQUANTIZE" and pair in (("int8", "float32"), ("int16", "float32")):
        fields["dscale"] = float(np.float32(x.scale))
        fn, src = f"hil_dequantize_{_SUF[x.dtype]}_f32", "quantize_f32.c"
    elif op.opcode == "QUANTIZE" and pair in (("float32", "int8"), ("float32", "int16")):
        fields["scale"] = float(np.float32(y.scale))
        fn, src = f"hil_quantize_f32_{_SUF[y.dtype]}", "quantize_f32.c"
    elif op.opcode == "QUANTIZE" and x.dtype in ("int8", "int16") and y.dtype in ("int8", "int16"):
        m, s = quantize_multiplier(float(np.float32(x.scale)) / float(np.float32(y.scale)))
        fields.update({"multiplier": m, "shift": s})
        fn, src = f"hil_requantize_{_SUF[x.dtype]}_{_SUF[y.dtype]}", "requantize.c"
    else:
        raise ctx.unsupported(op, f"{x.dtype} -> {y.dtype}", SUPPORTED)
    code = f"{c_struct('hil_quant_params_t', fields)}\n{fn}(&p, {ctx.ptr(x.index)}, {ctx.ptr(y.index)});"
    return OpCode(code=code, kernels=["quantize.h", src])
