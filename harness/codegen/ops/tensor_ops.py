"""Tensor ops: PAD, PADV2, CONCATENATION, PACK, UNPACK, SPLIT, SPLIT_V, STRIDED_SLICE, SLICE,
TRANSPOSE, TILE, GATHER, RESIZE_NEAREST_NEIGHBOR, SHAPE, ARG_MAX, ARG_MIN.

Most of them move bytes, so each becomes one or more copies whose strides and offsets are
worked out here at generation time: a contiguous block is a plain memcpy, anything strided one
`hil_copy_nd` call. SPLIT/UNPACK outputs are copies (not views): the planner gives every output
its own storage. Ops whose inputs are all constant
(SHAPE of a static shape, STRIDED_SLICE / PACK on shape vectors, as Keras' Flatten emits) can
be evaluated here: `FOLDERS` maps an opcode to a function returning the output arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.codegen.ir import Graph, Op, Tensor, itemsize
from harness.codegen.ops import EmitContext, OpCode, register

KERNELS = ["tensor_ops.h", "tensor_ops.c"]
MAX_DIMS = 6


def _strides(shape) -> list[int]:
    out, acc = [], 1
    for d in reversed(list(shape)):
        out.append(acc)
        acc *= int(d)
    return out[::-1]


class _Copies:
    """Collects the copies of one op and renders them as C: one contiguous block becomes a
    plain memcpy, anything strided a `hil_copy_nd` call with a const descriptor."""

    def __init__(self, op: Op, ctx: EmitContext) -> None:
        self.op, self.ctx, self.k = op, ctx, 0
        self.lines: list[str] = []
        self.strided = False

    def add(self, src: int, dst: int, count, src_stride, dst_stride, elem: int,
            src_off: int = 0, dst_off: int = 0) -> None:
        """Copy a block: element counts/strides per dim, offsets in elements."""
        dims = [(int(c), int(s), int(d)) for c, s, d in zip(count, src_stride, dst_stride) if int(c) != 1]
        if any(c == 0 for c, _, _ in dims):
            return
        merged: list[list[int]] = []
        for c, s, d in dims:
            if merged and merged[-1][1] == s * c and merged[-1][2] == d * c:
                merged[-1] = [merged[-1][0] * c, s, d]
            else:
                merged.append([c, s, d])
        run = elem
        if merged and merged[-1][1] == 1 and merged[-1][2] == 1:
            run = merged[-1][0] * elem
            merged.pop()
        if len(merged) > MAX_DIMS:
            raise self.ctx.unsupported(self.op, f"a copy over {len(merged)} strided dimensions",
                                       f"at most {MAX_DIMS}")
        sp = f"(const uint8_t *){self.ctx.ptr(src)} + {src_off * elem}"
        dp = f"(uint8_t *){self.ctx.ptr(dst)} + {dst_off * elem}"
        if not merged:
            self.lines.append(f"memcpy({dp}, {sp}, {run});")
            return
        self.strided = True
        pad = lambda v: "{" + ", ".join(str(x) for x in v + [0] * (MAX_DIMS - len(v))) + "}"  # noqa: E731
        name = f"c{self.k}"
        self.k += 1
        self.lines.append(
            f"static const hil_copy_nd_t {name} = {{.ndim = {len(merged)}, .count = {pad([m[0] for m in merged])}, "
            f".src_stride = {pad([m[1] * elem for m in merged])}, .dst_stride = {pad([m[2] * elem for m in merged])}, "
            f".run = {run}}};")
        self.lines.append(f"hil_copy_nd(&{name}, {sp}, {dp});")

    def code(self, prefix: str = "") -> OpCode:
        kernels = list(KERNELS) if self.strided or prefix else ["tensor_ops.h"]
        return OpCode(code=prefix + "\n".join(self.lines), kernels=kernels)


def _same_quant(op: Op, ctx: EmitContext, a: Tensor, b: Tensor) -> None:
    """TFLM's data-movement int8 kernels copy bytes: they need one scale/zero point."""
    if a.dtype != b.dtype:
        raise ctx.unsupported(op, f"types {a.dtype} -> {b.dtype}", "the same type in and out")
    if a.dtype == "int8" and a.quant is not None and b.quant is not None:
        if float(a.scale) != float(b.scale) or a.zero_point != b.zero_point:
            raise ctx.unsupported(
                op, f"int8 tensors '{a.name}' and '{b.name}' with different scale/zero point "
                f"({a.scale}/{a.zero_point} vs {b.scale}/{b.zero_point})",
                "equal quantization (TFLM does not rescale here; requantize before this op)")


def _axis(v, rank: int) -> int:
    v = int(np.asarray(v).reshape(-1)[0])
    return v + rank if v < 0 else v


def _const(op: Op, graph: Graph, ctx: EmitContext, i: int, what: str) -> np.ndarray:
    t = graph.tensor(op.inputs[i])
    if not t.is_const:
        raise ctx.unsupported(op, f"{what} computed at run time", f"a constant {what} tensor")
    return np.asarray(t.data)


# ------------------------------------------------------------------ index arithmetic (shared)

def strided_slice_plan(shape, begin, end, strides, opts: dict) -> tuple[list[int], list[int], list[int], list[int]]:
    """(start, step, count, out_shape) per input dim, TFLite STRIDED_SLICE semantics (no ellipsis/new axis).

    Python slice semantics give the same clamping as TFLite's StartForAxis/StopForAxis.
    """
    rank = len(shape)
    bm, em = int(opts.get("beginMask", 0) or 0), int(opts.get("endMask", 0) or 0)
    sm = int(opts.get("shrinkAxisMask", 0) or 0)
    if int(opts.get("ellipsisMask", 0) or 0) or int(opts.get("newAxisMask", 0) or 0):
        raise ValueError("ellipsis_mask/new_axis_mask")
    offset = bool(opts.get("offset", False))
    starts: list[int] = []
    steps: list[int] = []
    counts: list[int] = []
    out_shape: list[int] = []
    for d in range(rank):
        dim = int(shape[d])
        if d >= len(begin):
            starts.append(0)
            steps.append(1)
            counts.append(dim)
            out_shape.append(dim)
            continue
        b, e, s = int(begin[d]), int(end[d]), int(strides[d])
        if s == 0:
            raise ValueError("zero stride")
        if offset:
            e = b + e
        if sm & (1 << d):
            i = b + dim if b < 0 else b
            if not 0 <= i < dim:
                raise ValueError(f"shrink index {b} out of range for dim {dim}")
            starts.append(i)
            steps.append(1)
            counts.append(1)
            continue
        sl = slice(None if bm & (1 << d) else b, None if em & (1 << d) else e, s)
        r = range(dim)[sl]
        starts.append(r.start if len(r) else 0)
        steps.append(s)
        counts.append(len(r))
        out_shape.append(len(r))
    return starts, steps, counts, out_shape


def _split_sizes(op: Op, graph: Graph, x: Tensor, axis: int) -> list[int]:
    if op.opcode == "SPLIT_V":
        sizes = [int(v) for v in np.asarray(graph.tensor(op.inputs[1]).data).reshape(-1)]
        if -1 in sizes:
            k = sizes.index(-1)
            sizes[k] = x.shape[axis] - (sum(sizes) + 1)
        return sizes
    n = len(op.outputs)
    return [x.shape[axis] // n] * n


# ------------------------------------------------------------------ folders (generation-time evaluation)

Folder = Callable[[Op, Graph], "list[np.ndarray] | None"]


def _all_const(op: Op, graph: Graph, idx=None) -> bool:
    ins = op.inputs if idx is None else [op.inputs[i] for i in idx]
    return all(i >= 0 and graph.tensor(i).is_const for i in ins)


def _out_dtype(graph: Graph, op: Op, k: int = 0):
    from harness.codegen.ir import DTYPES
    return DTYPES[graph.tensor(op.outputs[k]).dtype][2]


def fold_shape(op: Op, graph: Graph) -> list[np.ndarray]:
    x = graph.tensor(op.inputs[0])
    return [np.asarray(x.shape, dtype=_out_dtype(graph, op))]


def fold_strided_slice(op: Op, graph: Graph) -> list[np.ndarray] | None:
    if not _all_const(op, graph):
        return None
    x, b, e, s = (np.asarray(graph.tensor(i).data) for i in op.inputs[:4])
    try:
        starts, steps, counts, out_shape = strided_slice_plan(x.shape, b.reshape(-1), e.reshape(-1), s.reshape(-1), op.options)
    except ValueError:
        return None
    idx = tuple(np.arange(st, st + st_ * c, st_) if c else np.arange(0) for st, st_, c in zip(starts, steps, counts))
    out = x[np.ix_(*idx)] if idx else x
    return [out.reshape(out_shape).astype(_out_dtype(graph, op))]


def fold_pack(op: Op, graph: Graph) -> list[np.ndarray] | None:
    if not _all_const(op, graph):
        return None
    arrs = [np.asarray(graph.tensor(i).data) for i in op.inputs]
    axis = int(op.options.get("axis", 0) or 0)
    return [np.stack(arrs, axis=axis if axis >= 0 else axis + arrs[0].ndim + 1).astype(_out_dtype(graph, op))]


def fold_concatenation(op: Op, graph: Graph) -> list[np.ndarray] | None:
    if not _all_const(op, graph) or int(op.options.get("fusedActivationFunction", 0) or 0):
        return None
    ts = [graph.tensor(i) for i in op.inputs]
    y = graph.tensor(op.outputs[0])
    if y.quant is not None and any(t.quant is None or t.scale != y.scale or t.zero_point != y.zero_point for t in ts):
        return None
    axis = int(op.options.get("axis", 0) or 0)
    return [np.concatenate([np.asarray(t.data) for t in ts], axis=axis).astype(_out_dtype(graph, op))]


def fold_gather(op: Op, graph: Graph) -> list[np.ndarray] | None:
    if not _all_const(op, graph) or int(op.options.get("batchDims", 0) or 0):
        return None
    p, i = (np.asarray(graph.tensor(k).data) for k in op.inputs[:2])
    axis = int(op.options.get("axis", 0) or 0)
    if np.any(i < 0) or np.any(i >= p.shape[axis]):
        return None
    return [np.take(p, i, axis=axis).astype(_out_dtype(graph, op))]


def fold_transpose(op: Op, graph: Graph) -> list[np.ndarray] | None:
    if not _all_const(op, graph):
        return None
    x, perm = (np.asarray(graph.tensor(k).data) for k in op.inputs[:2])
    return [np.transpose(x, perm.reshape(-1)).astype(_out_dtype(graph, op))]


FOLDERS: dict[str, Folder] = {
    "SHAPE": fold_shape,
    "STRIDED_SLICE": fold_strided_slice,
    "PACK": fold_pack,
    "CONCATENATION": fold_concatenation,
    "GATHER": fold_gather,
    "TRANSPOSE": fold_transpose,
}

try:  # the core's folding pass, when it exists (see CONTRACT-REQUESTS.md)
    from harness.codegen.ops import register_fold  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the core's version
    register_fold = None
if register_fold is not None:
    for _name, _fn in FOLDERS.items():
        register_fold(_name)(_fn)


# ------------------------------------------------------------------ plug-ins

@register("SHAPE")
def emit_shape(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    y = graph.tensor(op.outputs[0])
    if y.dtype not in ("int32", "int64"):
        raise ctx.unsupported(op, f"output type {y.dtype}", "int32 or int64")
    data = fold_shape(op, graph)[0]
    name = ctx.const_name(op, "shape")
    return OpCode(code=f"memcpy({ctx.ptr(y.index)}, {name}, {y.nbytes});", constants={name: data},
                  kernels=["tensor_ops.h"])


@register("CONCATENATION")
def emit_concatenation(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    y = graph.tensor(op.outputs[0])
    if int(op.options.get("fusedActivationFunction", 0) or 0):
        raise ctx.unsupported(op, "a fused activation", "CONCATENATION without fused activation")
    rank = len(y.shape)
    axis = _axis(op.options.get("axis", 0), rank)
    ins = [graph.tensor(i) for i in op.inputs]
    for t in ins:
        _same_quant(op, ctx, t, y)
        if y.dtype == "int16" and (t.zero_point != 0 or y.zero_point != 0):
            raise ctx.unsupported(op, "int16 with a non-zero zero point", "int16 with zero points 0 (as TFLM)")
    ost, elem = _strides(y.shape), itemsize(y.dtype)
    cp, pos = _Copies(op, ctx), 0
    for t in ins:
        shp = tuple(t.shape) if len(t.shape) == rank else (1,) * (rank - len(t.shape)) + tuple(t.shape)
        cp.add(t.index, y.index, shp, _strides(shp), ost, elem, 0, pos * ost[axis])
        pos += shp[axis]
    return cp.code()


@register("PACK")
def emit_pack(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    y = graph.tensor(op.outputs[0])
    rank = len(y.shape)
    axis = _axis(op.options.get("axis", 0), rank)
    ost, elem = _strides(y.shape), itemsize(y.dtype)
    cp = _Copies(op, ctx)
    for k, i in enumerate(op.inputs):
        t = graph.tensor(i)
        _same_quant(op, ctx, t, y)
        shp = tuple(t.shape[:axis]) + (1,) + tuple(t.shape[axis:])
        cp.add(t.index, y.index, shp, _strides(shp), ost, elem, 0, k * ost[axis])
    return cp.code()


@register("UNPACK")
def emit_unpack(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x = graph.tensor(op.inputs[0])
    rank = len(x.shape)
    axis = _axis(op.options.get("axis", 0), rank)
    xst, elem = _strides(x.shape), itemsize(x.dtype)
    cp = _Copies(op, ctx)
    for k, o in enumerate(op.outputs):
        t = graph.tensor(o)
        _same_quant(op, ctx, x, t)
        shp = tuple(x.shape[:axis]) + (1,) + tuple(x.shape[axis + 1:])
        cp.add(x.index, t.index, shp, xst, _strides(shp), elem, k * xst[axis], 0)
    return cp.code()


@register("SPLIT", "SPLIT_V")
def emit_split(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    if op.opcode == "SPLIT":
        x, axis_i = graph.tensor(op.inputs[1]), 0
    else:
        x, axis_i = graph.tensor(op.inputs[0]), 2
        _const(op, graph, ctx, 1, "size_splits")
    rank = len(x.shape)
    axis = _axis(_const(op, graph, ctx, axis_i, "axis"), rank)
    sizes = _split_sizes(op, graph, x, axis)
    xst, elem = _strides(x.shape), itemsize(x.dtype)
    cp, pos = _Copies(op, ctx), 0
    for o, n in zip(op.outputs, sizes):
        t = graph.tensor(o)
        _same_quant(op, ctx, x, t)
        shp = tuple(x.shape[:axis]) + (n,) + tuple(x.shape[axis + 1:])
        cp.add(x.index, t.index, shp, xst, _strides(shp), elem, pos * xst[axis], 0)
        pos += n
    return cp.code()


def _slice_copy(op: Op, graph: Graph, ctx: EmitContext, starts, steps, counts) -> OpCode:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _same_quant(op, ctx, x, y)
    xst, elem = _strides(x.shape), itemsize(x.dtype)
    cp = _Copies(op, ctx)
    src_off = sum(s * st for s, st in zip(starts, xst))
    cp.add(x.index, y.index, counts, [st * sp for st, sp in zip(xst, steps)], _strides(counts), elem, src_off, 0)
    return cp.code()


@register("STRIDED_SLICE")
def emit_strided_slice(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    b = _const(op, graph, ctx, 1, "begin").reshape(-1)
    e = _const(op, graph, ctx, 2, "end").reshape(-1)
    s = _const(op, graph, ctx, 3, "strides").reshape(-1)
    try:
        starts, steps, counts, out_shape = strided_slice_plan(x.shape, b, e, s, op.options)
    except ValueError as err:
        raise ctx.unsupported(op, str(err), "begin/end/shrink masks with constant begin, end, strides") from None
    if int(np.prod(out_shape)) != y.size:
        raise ctx.unsupported(op, f"computed output shape {out_shape} != {list(y.shape)}", "static shapes")
    return _slice_copy(op, graph, ctx, starts, steps, counts)


@register("SLICE")
def emit_slice(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x = graph.tensor(op.inputs[0])
    b = [int(v) for v in _const(op, graph, ctx, 1, "begin").reshape(-1)]
    n = [int(v) for v in _const(op, graph, ctx, 2, "size").reshape(-1)]
    counts = [x.shape[d] - b[d] if n[d] == -1 else n[d] for d in range(len(x.shape))]
    return _slice_copy(op, graph, ctx, b, [1] * len(b), counts)


@register("TRANSPOSE")
def emit_transpose(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _same_quant(op, ctx, x, y)
    perm = [int(v) for v in _const(op, graph, ctx, 1, "perm").reshape(-1)]
    xst, elem = _strides(x.shape), itemsize(x.dtype)
    cp = _Copies(op, ctx)
    cp.add(x.index, y.index, [x.shape[p] for p in perm], [xst[p] for p in perm], _strides(y.shape), elem)
    return cp.code()


@register("PAD", "PADV2")
def emit_pad(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.dtype not in ("int8", "int16", "int32", "float32"):
        raise ctx.unsupported(op, f"type {x.dtype}", "int8, int16, int32, float32")
    _same_quant(op, ctx, x, y)
    pads = _const(op, graph, ctx, 1, "paddings").reshape(-1, 2)
    if np.any(pads < 0):
        raise ctx.unsupported(op, "negative padding", "paddings >= 0")
    rank = len(x.shape)
    value: int | float = 0
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        cv = graph.tensor(op.inputs[2])
        if not cv.is_const:
            raise ctx.unsupported(op, "pad value computed at run time", "a constant pad value")
        if x.dtype == "int8" and (cv.quant is None or cv.scale != y.scale or cv.zero_point != y.zero_point):
            raise ctx.unsupported(op, "int8 pad value quantized differently from the output",
                                  "the output's scale and zero point (as TFLM)")
        value = np.asarray(cv.data).reshape(-1)[0].item()
    elif x.dtype == "int8":
        value = y.zero_point
    yst, elem = _strides(y.shape), itemsize(y.dtype)
    if x.dtype == "int8":
        fill = f"hil_fill_8({ctx.ptr(y.index)}, {y.size}, {int(value)});\n"
    elif x.dtype == "int16":
        fill = f"hil_fill_16({ctx.ptr(y.index)}, {y.size}, {int(value)});\n"
    else:
        bits = int(np.asarray([value], dtype=np.float32 if x.dtype == "float32" else np.int32).view(np.uint32)[0])
        fill = f"hil_fill_32({ctx.ptr(y.index)}, {y.size}, {bits}u);\n"
    cp = _Copies(op, ctx)
    dst_off = sum(int(pads[d][0]) * yst[d] for d in range(rank))
    cp.add(x.index, y.index, x.shape, _strides(x.shape), yst, elem, 0, dst_off)
    return cp.code(prefix=fill)


@register("GATHER")
def emit_gather(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    p, idx, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if int(op.options.get("batchDims", 0) or 0):
        raise ctx.unsupported(op, "batch_dims != 0", "batch_dims 0")
    if idx.dtype != "int32":
        raise ctx.unsupported(op, f"indices of type {idx.dtype}", "int32 indices")
    _same_quant(op, ctx, p, y)
    axis = _axis(op.options.get("axis", 0), len(p.shape))
    outer = int(np.prod(p.shape[:axis])) if axis else 1
    inner = int(np.prod(p.shape[axis + 1:])) * itemsize(p.dtype)
    code = (f"hil_gather({ctx.ptr(p.index)}, {ctx.ptr(y.index)}, {ctx.ptr(idx.index)}, {idx.size}, "
            f"{outer}, {p.shape[axis]}, {inner});")
    return OpCode(code=code, kernels=["tensor_ops.h", "tensor_ops_gather.c"])


__all__ = ["FOLDERS", "strided_slice_plan", "nearest_index_map"]


@register("ARG_MAX", "ARG_MIN")
def emit_arg_max(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.dtype not in ("int8", "int16", "float32") or y.dtype != "int32":
        raise ctx.unsupported(op, f"{x.dtype} -> {y.dtype}", "int8, int16 or float32 in, int32 out")
    axis = _axis(_const(op, graph, ctx, 1, "axis"), len(x.shape))
    outer = int(np.prod(x.shape[:axis])) if axis else 1
    inner = int(np.prod(x.shape[axis + 1:]))
    sfx = {"int8": "s8", "int16": "s16", "float32": "f32"}[x.dtype]
    code = (f"hil_argmax_{sfx}({ctx.ptr(x.index)}, {ctx.ptr(y.index)}, {outer}, {x.shape[axis]}, {inner}, "
            f"{1 if op.opcode == 'ARG_MAX' else 0});")
    return OpCode(code=code, kernels=["tensor_ops.h", "tensor_ops_argmax.c"])


def nearest_index_map(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """Input index of every output index, in float32 as TFLM's GetNearestNeighbor computes it."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    out = []
    for o in range(out_size):
        v = float(f32(f32(o) + offset) * scale)
        i = int(np.floor(v + 0.5)) if align_corners else int(np.floor(v))  # TfLiteRound: half away (v >= 0)
        i = min(i, in_size - 1)
        if half_pixel_centers:
            i = max(0, i)
        out.append(i)
    return np.asarray(out, dtype=np.int32)


@register("RESIZE_NEAREST_NEIGHBOR")
def emit_resize_nearest(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _same_quant(op, ctx, x, y)
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise ctx.unsupported(op, f"rank {len(x.shape)}", "NHWC rank-4 tensors")
    ac = bool(op.options.get("alignCorners", False))
    hpc = bool(op.options.get("halfPixelCenters", False))
    ymap = nearest_index_map(x.shape[1], y.shape[1], ac, hpc)
    xmap = nearest_index_map(x.shape[2], y.shape[2], ac, hpc)
    yn, xn = ctx.const_name(op, "ymap"), ctx.const_name(op, "xmap")
    code = (f"hil_resize_nearest({ctx.ptr(x.index)}, {ctx.ptr(y.index)}, {yn}, {xn}, {x.shape[0]}, "
            f"{y.shape[1]}, {y.shape[2]}, {x.shape[1]}, {x.shape[2]}, {x.shape[3] * itemsize(x.dtype)});")
    return OpCode(code=code, constants={yn: ymap, xn: xmap}, kernels=["tensor_ops.h", "tensor_ops_gather.c"])


@register("TILE")
def emit_tile(op: Op, graph: Graph, ctx: EmitContext) -> OpCode:
    """out[i] = in[i mod in_dim]: each dim becomes (repeat: src stride 0) x (copy: src stride)."""
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _same_quant(op, ctx, x, y)
    mult = [int(v) for v in _const(op, graph, ctx, 1, "multiples").reshape(-1)]
    xst, yst, elem = _strides(x.shape), _strides(y.shape), itemsize(x.dtype)
    count, src, dst = [], [], []
    for d, m in enumerate(mult):
        count += [m, x.shape[d]]
        src += [0, xst[d]]
        dst += [x.shape[d] * yst[d], yst[d]]
    cp = _Copies(op, ctx)
    cp.add(x.index, y.index, count, src, dst, elem)
    return cp.code()
