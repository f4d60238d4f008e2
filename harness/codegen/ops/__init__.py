"""Op registry: one plug-in per TFLite builtin op turns an IR op into C.

Protocol
--------
A plug-in is a function registered for one or more builtin names::

    @register("RELU6")
    def emit_relu6(op: Op, graph: Graph, ctx: EmitContext) -> OpCode: ...

It is called once per op, after memory planning, and must

1. validate: dtypes, quantization, options. If anything is not handled, raise
   ``ctx.unsupported(op, "what is wrong", "what is supported")`` — an ``UnsupportedModel``
   naming the model, the op, its index and the supported set;
2. return an :class:`OpCode`:
   - ``code``: C statements for this op. The emitter puts them in their own ``{ ... }`` block
     inside ``hil_model_invoke`` (so locals such as a ``static const`` params struct are fine).
     Get tensor pointers with ``ctx.ptr(tensor_index)``: a typed C pointer expression
     (arena, caller's input/output buffer, or a constant array in flash; constant tensors are
     emitted automatically, named ``hil_w_op<i>_filter|bias|in<k>`` after their first reader);
   - ``constants``: extra constant arrays (derived data: multipliers, shifts, LUTs), name ->
     numpy array, emitted as ``const <ctype> name[]`` in flash. Names come from
     ``ctx.const_name(op, "mult")`` -> ``hil_w_op<index>_mult`` (the ``hil_w_`` prefix lets the
     footprint code count weights apart from code);
   - ``kernels``: kernel source files (relative to ``harness/codegen/kernels/``) the op needs;
     the emitter copies them (and ``hil_fixedpoint.h``, always) into the output dir. Each
     ``.h`` listed is ``#include``-d by model.c; each ``.c`` is compiled by the user;
   - ``macs``: multiply-accumulates of one invocation (0 for data movement).

Conventions for kernels: one C function per op and data type (``hil_add_s8``,
``hil_conv_s16``...), an explicit ``const`` parameter struct, ``hil_`` prefix on every
external symbol, C99, clean with ``-Wall -Wextra -Werror`` on arm-none-eabi-gcc and host gcc.
The other helper owns ``kernels/arith*``, ``kernels/activations*``, ``kernels/tensor_ops*``.

Aliases
-------
``register_alias("RESHAPE")`` marks an op whose output is its input's bytes reinterpreted
(same byte size). No plug-in is called, no code and no copy is emitted; the planner gives the
output the input's storage. Aliases: RESHAPE, EXPAND_DIMS, SQUEEZE.

Worked example (int8 RELU6: TFLM clamps in the input's quantization, to [zero point, 6/scale +
zero point]; the real plug-in is ``emit_relu6`` in ``ops/activations.py``)::

    @register("RELU6")
    def emit_relu6(op, graph, ctx):
        x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
        if x.dtype != "int8":
            raise ctx.unsupported(op, f"{x.dtype} input", "int8")
        six = min(max(round(6.0 / x.scale) + x.zero_point, -128), 127)
        code = f"hil_clamp_s8({ctx.ptr(x.index)}, {ctx.ptr(y.index)}, {x.size}, {x.zero_point}, {six});"
        return OpCode(code=code, kernels=["activations.h", "activations_s8.c"])

What else a plug-in needs from the generated library it returns in typed fields of its
:class:`OpCode`, never through ``ctx.options``: ``scratch_words`` (words of the shared
``hil_scratch`` buffer), ``ring_bytes`` (bytes of the shared ``hil_ring`` row buffer of in-place
layers), ``inplace_safe`` (the kernel itself may write over its input). The emitter sizes the
shared buffers as the maximum over all ops.

Modules in this package are imported automatically (every ``ops/*.py``), so a new op file
plugs in by existing.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from harness.codegen.ir import Graph, Op
from harness.errors import UnsupportedModel

__all__ = [
    "OpCode",
    "EmitContext",
    "OpSpec",
    "register",
    "register_alias",
    "lookup",
    "is_alias",
    "in_place_cost",
    "supported_ops",
    "c_array",
]


@dataclass
class OpCode:
    """What a plug-in returns for one op."""

    code: str
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    kernels: list[str] = field(default_factory=list)
    macs: int = 0
    weight_bits: int = 0  # stored filter width when the plug-in packs it (4, 2); 0: the tensor's own
    inplace_safe: bool = False  # the kernel reads each output row's inputs before writing that row
    scratch_words: int = 0  # words of the shared hil_scratch buffer the kernel uses (im2col rows, tables)
    ring_bytes: int = 0  # bytes of the shared hil_ring buffer (an in-place layer's waiting output rows)

    def needs(self, *, scratch_words: int = 0, ring_bytes: int = 0) -> OpCode:
        """This OpCode with at least that much scratch / ring (the larger of each); returns self."""
        self.scratch_words = max(self.scratch_words, int(scratch_words))
        self.ring_bytes = max(self.ring_bytes, int(ring_bytes))
        return self


Emitter = Callable[[Op, Graph, "EmitContext"], OpCode]
InPlace = Callable[[Op, Graph], "int | None"]


@dataclass
class OpSpec:
    opcode: str
    emit: Emitter | None
    alias: bool = False
    inplace: InPlace | None = None  # bytes of row buffer to run in place, None: it cannot (planner)


_REGISTRY: dict[str, OpSpec] = {}


def register(*opcodes: str, inplace: InPlace | None = None) -> Callable[[Emitter], Emitter]:
    """Decorator: register `fn` as the plug-in for each builtin name in `opcodes`.

    `inplace(op, graph)`: the bytes of buffer the plug-in needs to write this op's output over its
    first input, or None when it cannot (the planner may then give both one block; the plug-in
    finds `op.index` in `ctx.inplace` and must honour it). A name registered twice is an error
    (two plug-ins for one op would silently depend on import order)."""

    def deco(fn: Emitter) -> Emitter:
        for name in opcodes:
            _add(OpSpec(name, fn, alias=False, inplace=inplace))
        return fn

    return deco


def register_alias(*opcodes: str) -> None:
    """Mark ops whose output reuses the input's bytes (no code, no copy)."""
    for name in opcodes:
        _add(OpSpec(name, None, alias=True))


def _add(spec: OpSpec) -> None:
    old = _REGISTRY.get(spec.opcode)
    if old is not None:
        where = getattr(old.emit, "__module__", "an alias") if old.emit else "an alias"
        raise ValueError(f"op {spec.opcode} is already registered (by {where}); one plug-in per op")
    _REGISTRY[spec.opcode] = spec


def lookup(opcode: str) -> OpSpec | None:
    _load_plugins()
    return _REGISTRY.get(opcode)


def is_alias(opcode: str) -> bool:
    spec = lookup(opcode)
    return bool(spec and spec.alias)


def in_place_cost(op: Op, graph: Graph) -> int | None:
    """Buffer bytes `op` needs to run in place, or None when it cannot."""
    spec = lookup(op.opcode)
    return spec.inplace(op, graph) if spec is not None and spec.inplace is not None else None


def supported_ops() -> list[str]:
    _load_plugins()
    return sorted(_REGISTRY)


class EmitContext:
    """What a plug-in may ask of the emitter: tensor pointers, constant names, errors.

    Built by the emitter after memory planning. `ptr_fn` maps a tensor index to a typed
    C pointer expression.
    """

    def __init__(self, graph: Graph, ptr_fn: Callable[[int], str], options: dict | None = None,
                 inplace: frozenset[int] | set[int] = frozenset(), memo: dict | None = None) -> None:
        self.graph = graph
        self._ptr_fn = ptr_fn
        self.options = dict(options or {})  # generator options (read only), e.g. {"pack_weights": True}
        self.inplace = frozenset(inplace)  # ops the planner runs in place (their output over input 0)
        self.options.setdefault("inplace", self.inplace)  # the older spelling, kept for plug-ins that read it
        # what a plug-in computed once for the whole model (e.g. its scratch need), shared with
        # with_pointers' contexts
        self.memo: dict = {} if memo is None else memo

    def ptr(self, tensor_index: int) -> str:
        """Typed C pointer expression to the tensor's data (e.g. `((int8_t *)(hil_arena + 64))`)."""
        return self._ptr_fn(tensor_index)

    def with_pointers(self, exprs: dict[int, str]) -> EmitContext:
        """This context with `ptr(t)` = exprs[t] for the given tensors (e.g. row pointers of an
        in-place loop). Options and the in-place set stay the same."""
        return EmitContext(self.graph, lambda t: exprs[t] if t in exprs else self._ptr_fn(t), self.options,
                           self.inplace, self.memo)

    def const_name(self, op: Op, what: str) -> str:
        """Name for a derived constant array of `op`: `hil_w_op<index>_<what>`."""
        return f"hil_w_op{op.index}_{re.sub(r'[^A-Za-z0-9_]', '_', what)}"

    def unsupported(self, op: Op, problem: str, supported: str) -> UnsupportedModel:
        """An error naming the model, op and index, what is wrong and what is supported."""
        return UnsupportedModel(
            f"model '{self.graph.name}': op #{op.index} {op.opcode}: {problem}; supported: {supported}",
            model=self.graph.name,
            op=op.opcode,
            index=op.index,
        )


def c_array(values: np.ndarray | list, per_line: int = 16) -> str:
    """Format numbers as a C initializer body (no braces)."""
    arr = np.asarray(values).reshape(-1)
    if arr.dtype.kind == "f":
        items = [_c_float(float(v)) for v in arr]
    elif arr.dtype.kind == "b":
        items = [str(int(v)) for v in arr]
    else:
        items = [_c_int(int(v), arr.dtype) for v in arr]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n    ".join(lines)


def _c_int(v: int, dtype: np.dtype) -> str:
    if dtype == np.int64:
        return f"INT64_C({v})" if v != -(2**63) else "INT64_MIN"
    if dtype == np.int32 and v == -(2**31):
        return "INT32_MIN"
    if dtype == np.uint32:
        return f"{v}u"
    return str(v)


def _c_float(v: float) -> str:
    if v != v:
        return "NAN"
    if v in (float("inf"), float("-inf")):
        return "INFINITY" if v > 0 else "-INFINITY"
    return f"{float(np.float32(v)).hex()}f" if v != 0 else ("-0.0f" if str(v).startswith("-") else "0.0f")


_loaded = False


def _load_plugins() -> None:
    """Import every module of this package once, so each registers its ops."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")


register_alias("RESHAPE", "EXPAND_DIMS", "SQUEEZE")
