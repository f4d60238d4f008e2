"""Static memory plan: where every tensor lives, decided at generation time.

Constants stay in flash. Graph inputs/outputs are used in place in the caller's buffers
(when aligned). Every other activation gets an offset in one arena, from a liveness-based,
greedy-by-size, best-fit placement. Alias ops (RESHAPE...) put their output in their input's
storage, so they cost neither bytes nor a copy. An op whose plug-in can run in place (a
same-shape convolution, row by row) writes its output over its input when that input dies there:
a depthwise-separable stack then lives in one activation buffer instead of two.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.codegen.ir import Graph, itemsize
from harness.codegen.ops import in_place_cost, is_alias

ALIGN = 4


def _align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclass(frozen=True)
class Location:
    """kind: 'arena' (offset into hil_arena), 'input'/'output' (offset into the caller's
    buffer), or 'const' (flash array emitted from the tensor's data)."""

    kind: str
    offset: int = 0


@dataclass
class Plan:
    locations: dict[int, Location]
    arena_bytes: int
    lower_bound: int
    input_offsets: list[int]  # byte offset of each graph input in the caller's input buffer
    output_offsets: list[int]
    copy_in: list[tuple[int, int]] = field(default_factory=list)  # (tensor, input byte offset): memcpy into arena
    copy_out: list[tuple[int, int]] = field(default_factory=list)  # (tensor, output byte offset): memcpy at end
    lifetimes: dict[int, tuple[int, int]] = field(default_factory=dict)  # arena group root -> (first, last) step
    blocks: dict[int, tuple[int, int]] = field(default_factory=dict)  # arena group root -> (offset, bytes)
    inplace: set[int] = field(default_factory=set)  # ops whose output is written over their input
    inplace_buffer: int = 0  # the largest row buffer those ops may need (outside the arena)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _offsets(graph: Graph, tensors: list[int]) -> list[int]:
    offs, pos = [], 0
    for t in tensors:
        offs.append(pos)
        pos += graph.tensor(t).nbytes
    return offs


def fold_constant_aliases(graph: Graph) -> None:
    """An alias op (RESHAPE...) of a constant yields a constant: give its output the data, so it
    is emitted to flash like any weight instead of being planned as an (unwritten) activation."""
    for op in graph.ops:
        if is_alias(op.opcode) and op.inputs and op.outputs:
            src, dst = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
            if src.data is not None and dst.data is None and src.size == dst.size:  # src.is_const, not dst.is_const
                dst.data = src.data.reshape(dst.shape)


def _merge_in_place(graph: Graph, uf: _UnionFind) -> tuple[set[int], int]:
    """Union each in-place-capable op's output with its input where the input (with its aliases)
    is an activation read by nothing later and neither is a graph input or output. Returns the
    ops and the largest row buffer they may need."""
    io = {uf.find(t) for t in graph.inputs + graph.outputs}
    last_use: dict[int, int] = {}
    for op in graph.ops:
        for t in op.inputs + op.outputs:
            if t >= 0:
                last_use[uf.find(t)] = op.index
    done: set[int] = set()
    buffer = 0
    for op in graph.ops:
        cost = in_place_cost(op, graph) if op.inputs and op.outputs and op.inputs[0] >= 0 else None
        if cost is None:
            continue
        x, y = op.inputs[0], op.outputs[0]
        rx, ry = uf.find(x), uf.find(y)
        if graph.tensor(x).is_const or rx in io or ry in io or rx == ry or last_use[rx] != op.index:
            continue
        if op.inputs.count(x) != 1 or graph.tensor(x).nbytes != graph.tensor(y).nbytes:
            continue
        uf.union(rx, ry)
        last_use[uf.find(rx)] = max(last_use[rx], last_use[ry])
        done.add(op.index)
        buffer = max(buffer, cost)
    return done, buffer


def plan_memory(graph: Graph, *, in_place: bool = True) -> Plan:
    """Place every non-constant tensor; see the module docstring. `in_place`: also try writing
    outputs over inputs, and keep that plan when its arena plus row buffer is smaller."""
    separate = _plan(graph, False)
    if not in_place:
        return separate
    shared = _plan(graph, True)
    return shared if shared.arena_bytes + shared.inplace_buffer < separate.arena_bytes else separate


def _plan(graph: Graph, in_place: bool) -> Plan:
    fold_constant_aliases(graph)
    n_ops = len(graph.ops)
    uf = _UnionFind()
    used: set[int] = set(graph.inputs) | set(graph.outputs)
    for op in graph.ops:
        used.update(t for t in op.inputs + op.outputs if t >= 0)
        if is_alias(op.opcode) and op.inputs and op.outputs:
            uf.union(op.inputs[0], op.outputs[0])
    inplace, inplace_buffer = _merge_in_place(graph, uf) if in_place else (set(), 0)
    act = [t for t in sorted(used) if not graph.tensor(t).is_const]
    groups: dict[int, list[int]] = {}
    for t in act:
        groups.setdefault(uf.find(t), []).append(t)

    in_offs = _offsets(graph, graph.inputs)
    out_offs = _offsets(graph, graph.outputs)
    locations: dict[int, Location] = {}
    for t in sorted(used):
        if graph.tensor(t).is_const:
            locations[t] = Location("const")
    copy_in: list[tuple[int, int]] = []
    copy_out: list[tuple[int, int]] = [(t, out_offs[k]) for k, t in enumerate(graph.outputs) if graph.tensor(t).is_const]

    def aligned(t: int, off: int) -> bool:
        return off % max(ALIGN, itemsize(graph.tensor(t).dtype)) == 0

    # Decide the home of each group: caller's output buffer, caller's input buffer, or arena.
    arena_groups: list[int] = []
    first_step: dict[int, int] = {}
    last_step: dict[int, int] = {}
    for root, members in groups.items():
        home: Location | None = None
        outs = [(k, t) for k, t in enumerate(graph.outputs) if t in members]
        ins = [(k, t) for k, t in enumerate(graph.inputs) if t in members]
        if ins and aligned(ins[0][1], in_offs[ins[0][0]]):
            home = Location("input", in_offs[ins[0][0]])
            copy_out.extend((t, out_offs[k]) for k, t in outs)
        elif outs and not ins and aligned(outs[0][1], out_offs[outs[0][0]]):
            home = Location("output", out_offs[outs[0][0]])
            copy_out.extend((t, out_offs[k]) for k, t in outs[1:])
        else:
            copy_in.extend((t, in_offs[k]) for k, t in ins)
            copy_out.extend((t, out_offs[k]) for k, t in outs)
        if home is not None:
            for t in members:
                locations[t] = home
            continue
        arena_groups.append(root)
        first, last = n_ops, -1
        for op in graph.ops:
            if any(t in members for t in op.outputs):
                first = min(first, op.index)
                last = max(last, op.index)
            if any(t in members for t in op.inputs):
                last = max(last, op.index)
                first = min(first, op.index)
        if ins:
            first = -1
        if outs:
            last = n_ops
        first_step[root], last_step[root] = first, max(first, last)

    size = {r: max(graph.tensor(t).nbytes for t in groups[r]) for r in arena_groups}
    align_of = {r: max(ALIGN, max(itemsize(graph.tensor(t).dtype) for t in groups[r])) for r in arena_groups}

    def overlaps(a: int, b: int) -> bool:
        return not (last_step[a] < first_step[b] or last_step[b] < first_step[a])

    placed: dict[int, int] = {}
    order = sorted(arena_groups, key=lambda r: (-size[r], first_step[r], r))
    for r in order:
        need = _align(size[r])
        busy = sorted((placed[o], placed[o] + _align(size[o])) for o in placed if overlaps(r, o))
        best: tuple[int, int] | None = None  # (gap size, offset)
        cursor = 0
        for lo, hi in busy:
            start = _align(cursor, align_of[r])
            if lo - start >= need and (best is None or lo - start < best[0]):
                best = (lo - start, start)
            cursor = max(cursor, hi)
        offset = best[1] if best is not None else _align(cursor, align_of[r])
        placed[r] = offset
    arena = max((placed[r] + _align(size[r]) for r in placed), default=0)

    for r in arena_groups:
        for t in groups[r]:
            locations[t] = Location("arena", placed[r])

    lower = 0
    for s in range(-1, n_ops + 1):
        live = sum(size[r] for r in arena_groups if first_step[r] <= s <= last_step[r])
        lower = max(lower, live)

    return Plan(
        locations=locations,
        arena_bytes=arena,
        lower_bound=lower,
        input_offsets=in_offs,
        output_offsets=out_offs,
        copy_in=copy_in,
        copy_out=copy_out,
        lifetimes={r: (first_step[r], last_step[r]) for r in arena_groups},
        blocks={r: (placed[r], size[r]) for r in arena_groups},
        inplace=inplace,
        inplace_buffer=inplace_buffer,
    )
