"""Elementwise arithmetic (ADD, SUB, MUL) and MEAN, bit-exact with TFLM's reference kernels.

The multipliers are computed here exactly as TFLM's Prepare computes them, because a
multiplier one LSB off shows up in outputs: ADD/SUB rescale both inputs to twice the larger
scale after a 20-bit (int8) or 15-bit (int16) left shift; MEAN folds 1/count into the
multiplier with an integer division.
"""

from __future__ import annotations

import numpy as np

from harness.codegen.fixedpoint import (
    ACT_NONE,
    activation_range,
    activation_range_float,
    quantize_multiplier,
)
from harness.codegen.ir import Graph, Op, Tensor
from harness.codegen.ops import EmitContext, OpCode, register
from harness.codegen.optimized import family

_SUFFIX = {"int8": "s8", "int16": "s16", "float32": "f32"}
MAX_DIMS = 6
_FLT_MAX = float(np.finfo(np.float32).max)


# int8 ADD/SUB of at least this many elements use the table kernel on the optimized targets: its
# 512 table entries cost about 1/2 of an element's saving each
LUT_MIN_ELEMENTS = 1024


def _kernels(op: str, dtype: str) -> list[str]:
    """Kernel sources per op family and data type, so an image carries only what it calls."""
    if op == "MEAN":
        src = "arith_mean.c"
    elif op in ("MAXIMUM", "MINIMUM"):
        src = "arith_maxmin.c"
    elif dtype == "float32":
        src = "arith_f32.c"
    else:
        src = f"arith_{'mul' if op == 'MUL' else 'addsub'}_{_SUFFIX[dtype]}.c"
    return ["arith.h", src]


def _row_major_strides(shape: tuple[int, ...]) -> list[int]:
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= int(d)
    return strides[::-1]


def broadcast_walk(s1: tuple[int, ...], s2: tuple[int, ...], out: tuple[int, ...]
                   ) -> tuple[list[int], list[int], list[int]] | None:
    """(dims, stride1, stride2) for walking `out` in order, or None when no broadcast is needed.

    Like TFLM, equal element counts mean elementwise. Size-1 dims are dropped and dims that are
    contiguous for both inputs are merged, so the C loop stays short.
    """
    n = lambda s: int(np.prod(s)) if len(s) else 1  # noqa: E731
    if n(s1) == n(s2) == n(out):
        return None
    rank = len(out)
    p1 = (1,) * (rank - len(s1)) + tuple(s1)
    p2 = (1,) * (rank - len(s2)) + tuple(s2)
    st1, st2 = _row_major_strides(p1), _row_major_strides(p2)
    dims, a, b = [], [], []
    for d in range(rank):
        if out[d] == 1:
            continue
        dims.append(int(out[d]))
        a.append(0 if p1[d] == 1 else st1[d])
        b.append(0 if p2[d] == 1 else st2[d])
    # merge dim k into k-1 when both inputs step contiguously across the boundary
    md: list[int] = []
    ma: list[int] = []
    mb: list[int] = []
    for d, x, y in zip(dims, a, b):
        if md and ma[-1] == x * d and mb[-1] == y * d:
            md[-1] *= d
            ma[-1], mb[-1] = x, y
        else:
            md.append(d)
            ma.append(x)
            mb.append(y)
    if not md:
        md, ma, mb = [1], [0], [0]
    return md, ma, mb


def _struct(type_name: str, var: str, fields: dict) -> str:
    """`static const T var = {.field = value, ...};` (lists are padded to MAX_DIMS)."""
    def fmt(v):
        if isinstance(v, (list, tuple)):
            vals = list(v) + [0] * (MAX_DIMS - len(v))
            return "{" + ", ".join(str(int(x)) for x in vals) + "}"
        return str(int(v))
    body = ", ".join(f".{k} = {fmt(v)}" for k, v in fields.items())
    return f"static const {type_name} {var} = {{{body}}};"


_ADDSUB_FIELDS = ("in1_offset", "in2_offset", "out_offset", "left_shift", "in1_mult", "in1_shift", "in2_mult",
                  "in2_shift", "out_mult", "out_shift", "act_min", "act_max")


def _bcast_code(op: Op, ctx: EmitContext, t1: Tensor, t2: Tensor, y: Tensor) -> tuple[str, str]:
    walk = broadcast_walk(t1.shape, t2.shape, y.shape)
    if walk is None:
        return "", "NULL"
    dims, a, b = walk
    if len(dims) > MAX_DIMS:
        raise ctx.unsupported(op, f"broadcast over {len(dims)} dimensions", f"at most {MAX_DIMS}")
    return _struct("hil_bcast_t", "b", {"ndim": len(dims), "dims": dims, "stride1": a, "stride2": b}) + "\n", "&b"


def _check_binary(op: Op, graph: Graph, ctx: EmitContext) -> tuple[Tensor, Tensor, Tensor]:
    t1, t2, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if not (t1.dtype == t2.dtype == y.dtype) or y.dtype not in ("int8", "int16", "float32"):
        raise ctx.unsupported(op, f"types {t1.dtype}, {t2.dtype} -> {y.dtype}",
                              "int8, int16 or float32, the same for inputs and output")
    if y.dtype != "float32":
        for t in (t1, t2, y):
            if t.quant is None or t.quant.per_channel:
                raise ctx.unsupported(op, f"tensor '{t.name}' is not per-tensor quantized",
                                      "per-tensor quantized int8/int16")
        if y.dtype == "int16" and any(t.zero_point != 0 for t in (t1, t2, y)):
            raise ctx.unsupported(op, "int16 with a non-zero zero point", "int16 with zero points 0 (as TFLM)")
    for t in (t1, t2):
        if len(t.shape) > MAX_DIMS:
            raise ctx.unsupported(op, f"rank {len(t.shape)}", f"rank <= {MAX_DIMS}")
    return t1, t2, y


def _act(op: Op, ctx: EmitContext) -> int:
    act = int(op.options.get("fusedActivationFunction", ACT_NONE) or 0)
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(op, f"fused activation {act}", "NONE, RELU, RELU_N1_TO_1, RELU6")
    return act


def addsub_params(op: str, s1: float, zp1: int, s2: float, zp2: int, so: float, zpo: int,
                  dtype: str, act: int) -> list[int]:
    """hil_addsub_params_t fields as TFLM's CalculateOpDataAdd / CalculateOpDataSub compute them."""
    left_shift = 15 if dtype == "int16" else 20
    f32 = np.float32
    # Both in double from the float32 file scales. (Some TFLM sources compute SUB's in float32;
    # the pinned runtime does not: a float32 SUB multiplier is off by a few LSB and shows up
    # in int16 outputs — test_ops_elementwise_single.py covers it.)
    twice = 2.0 * float(max(f32(s1), f32(s2)))
    r1 = float(f32(s1)) / twice
    r2 = float(f32(s2)) / twice
    ro = twice / ((1 << left_shift) * float(f32(so)))
    m1, sh1 = quantize_multiplier(r1)
    m2, sh2 = quantize_multiplier(r2)
    mo, sho = quantize_multiplier(ro)
    lo, hi = activation_range(act, dtype, float(so), int(zpo))
    return [-int(zp1), -int(zp2), int(zpo), left_shift, m1, sh1, m2, sh2, mo, sho, lo, hi]


def _float_binary(op: Op, ctx: EmitContext, t1: Tensor, t2: Tensor, y: Tensor, kind: int) -> OpCode:
    lo, hi = activation_range_float(_act(op, ctx))
    # TFLM clamps "no activation" at +-FLT_MAX (numeric_limits<float>::max), not at infinity
    fl = lambda v: f"{float(np.float32(max(min(v, _FLT_MAX), -_FLT_MAX))).hex()}f"  # noqa: E731
    bdecl, bptr = _bcast_code(op, ctx, t1, t2, y)
    code = (f"{bdecl}hil_binary_f32({kind}, {bptr}, {ctx.ptr(t1.index)}, {ctx.ptr(t2.index)}, "
            f"{ctx.ptr(y.index)}, {y.size}, {fl(lo)}, {fl(hi)});")
    return OpCode(code=code, kernels=_kernels(op.opcode, y.dtype))


@register("ADD", "SUB")
def emit_add_sub(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    t1, t2, y = _check_binary(op, graph, ctx)
    act = _act(op, ctx)
    if y.dtype == "float32":
        return _float_binary(op, ctx, t1, t2, y, 0 if op.opcode == "ADD" else 1)
    p = addsub_params(op.opcode, t1.scale, t1.zero_point, t2.scale, t2.zero_point, y.scale, y.zero_point,
                      y.dtype, act)
    bdecl, bptr = _bcast_code(op, ctx, t1, t2, y)
    params = _struct("hil_addsub_params_t", "p", dict(zip(_ADDSUB_FIELDS, p)))
    optimized = family(ctx.options.get("target")) != "portable"
    if y.dtype == "int8" and bptr == "NULL" and y.size >= LUT_MIN_ELEMENTS and optimized:
        # an optimized target's residual ADD: both inputs' terms tabulated per call (512 scratch words)
        code = (f"{params}\nhil_addsub_lut_s8(&p, {ctx.ptr(t1.index)}, {ctx.ptr(t2.index)}, {ctx.ptr(y.index)}, "
                f"{y.size}, {int(op.opcode == 'SUB')}, hil_scratch);")
        # opt_common.h: the v6-M requantization without a 64-bit multiply
        return OpCode(code=code, kernels=["arith.h", "hil_simd.h", "opt_common.h", "arith_addsub_lut_s8.c"],
                      scratch_words=512)
    fn = f"hil_{op.opcode.lower()}_{'s8' if y.dtype == 'int8' else 's16'}"
    code = (params + "\n" + bdecl
            + f"{fn}(&p, {bptr}, {ctx.ptr(t1.index)}, {ctx.ptr(t2.index)}, {ctx.ptr(y.index)}, {y.size});")
    return OpCode(code=code, kernels=_kernels(op.opcode, y.dtype))


@register("MUL")
def emit_mul(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    t1, t2, y = _check_binary(op, graph, ctx)
    act = _act(op, ctx)
    if y.dtype == "float32":
        return _float_binary(op, ctx, t1, t2, y, 2)
    real = float(np.float32(t1.scale)) * float(np.float32(t2.scale)) / float(np.float32(y.scale))
    m, s = quantize_multiplier(real)
    lo, hi = activation_range(act, y.dtype, y.scale, y.zero_point)
    p = {"in1_offset": -t1.zero_point, "in2_offset": -t2.zero_point, "out_offset": y.zero_point,
         "out_mult": m, "out_shift": s, "act_min": lo, "act_max": hi}
    bdecl, bptr = _bcast_code(op, ctx, t1, t2, y)
    fn = f"hil_mul_{'s8' if y.dtype == 'int8' else 's16'}"
    code = (_struct("hil_mul_params_t", "p", p) + "\n" + bdecl
            + f"{fn}(&p, {bptr}, {ctx.ptr(t1.index)}, {ctx.ptr(t2.index)}, {ctx.ptr(y.index)}, {y.size});")
    return OpCode(code=code, kernels=_kernels(op.opcode, y.dtype), macs=y.size)


def mean_multiplier(in_scale: float, out_scale: float, count: int) -> tuple[int, int]:
    """TFLM's MEAN rescale: QuantizeMultiplier(s_in/s_out), then 1/count folded in by an
    integer division of the multiplier shifted left by floor(log2(count)) (clamped)."""
    m, s = quantize_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)))
    shift = count.bit_length() - 1
    shift = min(shift, 32, 31 + s)
    m = int((m << shift) // count) if shift >= 0 else int((m >> -shift) // count)
    return m, s - shift


@register("MEAN")
def emit_mean(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x, axes_t, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if x.dtype != y.dtype or x.dtype not in ("int8", "int16", "float32"):
        raise ctx.unsupported(op, f"types {x.dtype} -> {y.dtype}", "int8, int16 or float32 in and out")
    if not axes_t.is_const:
        raise ctx.unsupported(op, "axis tensor computed at run time", "a constant axis tensor")
    rank = len(x.shape)
    if rank > MAX_DIMS:
        raise ctx.unsupported(op, f"rank {rank}", f"rank <= {MAX_DIMS}")
    axes = sorted({int(a) % rank for a in np.asarray(axes_t.data).reshape(-1)}) if rank else []
    strides = _row_major_strides(x.shape)
    kept = [d for d in range(rank) if d not in axes and x.shape[d] != 1]
    red = [d for d in axes if x.shape[d] != 1]
    count = int(np.prod([x.shape[d] for d in axes])) if axes else 1
    num_out = int(np.prod([x.shape[d] for d in kept])) if kept else 1
    if count == 0 or num_out != y.size:
        raise ctx.unsupported(op, f"input {list(x.shape)} axes {axes} output {list(y.shape)}",
                              "MEAN with a non-empty reduction whose output size matches")
    outer_d, outer_s = [x.shape[d] for d in kept] or [1], [strides[d] for d in kept] or [0]
    inner_d, inner_s = [x.shape[d] for d in red] or [1], [strides[d] for d in red] or [0]
    if x.dtype == "float32":
        m = s = zi = zo = 0
    else:
        if x.quant is None or y.quant is None:
            raise ctx.unsupported(op, "unquantized int tensor", "quantized int8/int16")
        m, s = mean_multiplier(x.scale, y.scale, count)
        zi, zo = x.zero_point, y.zero_point
    p = {"n_outer": len(outer_d), "outer_dims": outer_d, "outer_strides": outer_s, "n_inner": len(inner_d),
         "inner_dims": inner_d, "inner_strides": inner_s, "num_out": num_out, "count": count, "in_zp": zi,
         "out_zp": zo, "mult": m, "shift": s}
    fn = {"int8": "hil_mean_s8", "int16": "hil_mean_s16", "float32": "hil_mean_f32"}[x.dtype]
    code = _struct("hil_mean_params_t", "p", p) + f"\n{fn}(&p, {ctx.ptr(x.index)}, {ctx.ptr(y.index)});"
    return OpCode(code=code, kernels=_kernels(op.opcode, x.dtype), macs=x.size)


@register("MAXIMUM", "MINIMUM")
def emit_maximum_minimum(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    """Raw-value comparison with broadcasting; TFLM does not rescale, so neither do we."""
    t1, t2, y = _check_binary(op, graph, ctx)
    bdecl, bptr = _bcast_code(op, ctx, t1, t2, y)
    fn = f"hil_maxmin_{_SUFFIX[y.dtype]}"
    code = (f"{bdecl}{fn}({1 if op.opcode == 'MAXIMUM' else 0}, {bptr}, {ctx.ptr(t1.index)}, "
            f"{ctx.ptr(t2.index)}, {ctx.ptr(y.index)}, {y.size});")
    return OpCode(code=code, kernels=_kernels(op.opcode, y.dtype))


@register("PRELU")
def emit_prelu(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x, a, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    ok = (x.dtype == y.dtype == a.dtype and x.dtype in ("int8", "float32")) or \
         (x.dtype == y.dtype == "int16" and a.dtype == "int8")
    if not ok:
        raise ctx.unsupported(op, f"types {x.dtype}, alpha {a.dtype} -> {y.dtype}",
                              "int8 (int8 alpha), int16 (int8 alpha) or float32")
    if len(y.shape) > MAX_DIMS:
        raise ctx.unsupported(op, f"rank {len(y.shape)}", f"rank <= {MAX_DIMS}")
    bdecl, bptr = _bcast_code(op, ctx, x, a, y)
    kern = ["arith.h", "arith_prelu.c"]
    if x.dtype == "float32":
        code = f"{bdecl}hil_prelu_f32({bptr}, {ctx.ptr(x.index)}, {ctx.ptr(a.index)}, {ctx.ptr(y.index)}, {y.size});"
        return OpCode(code=code, kernels=kern)
    for t in (x, a, y):
        if t.quant is None or t.quant.per_channel:
            raise ctx.unsupported(op, f"tensor '{t.name}' is not per-tensor quantized", "per-tensor quantization")
    f32 = np.float32
    m1, s1 = quantize_multiplier(float(f32(x.scale)) / float(f32(y.scale)))
    m2, s2 = quantize_multiplier(float(f32(x.scale)) * float(f32(a.scale)) / float(f32(y.scale)))
    p = {"in_offset": -x.zero_point, "alpha_offset": -a.zero_point, "out_offset": y.zero_point,
         "mult_pos": m1, "shift_pos": s1, "mult_neg": m2, "shift_neg": s2}
    fn = "hil_prelu_s8" if x.dtype == "int8" else "hil_prelu_s16"
    code = (_struct("hil_prelu_params_t", "p", p) + "\n" + bdecl
            + f"{fn}(&p, {bptr}, {ctx.ptr(x.index)}, {ctx.ptr(a.index)}, {ctx.ptr(y.index)}, {y.size});")
    return OpCode(code=code, kernels=kern, macs=y.size)
