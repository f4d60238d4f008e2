"""The static memory plan: aliases share storage, live tensors never overlap, arena near the
lower bound."""

from __future__ import annotations

import itertools

import pytest

from harness.codegen.planner import plan_memory
from harness.codegen.reader import read_tflite


def _live_at(plan, step):
    """Arena blocks live at op `step`: (group, start, end)."""
    return [(r, plan.blocks[r][0], plan.blocks[r][0] + plan.blocks[r][1])
            for r, (first, last) in plan.lifetimes.items() if first <= step <= last]


@pytest.mark.parametrize("builder, quant", [("har_cnn1d", "int8"), ("ds_cnn", "int16x8"), ("dense_chain", "int8"),
                                            ("pool_chain", "float32"), ("dense_chain", "int8_fio")])
def test_live_tensors_never_overlap(builder, quant, tflite_model):
    fio = quant.endswith("_fio")
    g = read_tflite(tflite_model(builder, quant.replace("_fio", ""), float_io=fio))
    plan = plan_memory(g)
    assert plan.arena_bytes >= plan.lower_bound > 0
    assert plan.lower_bound == max(sum(e - s for _, s, e in _live_at(plan, k)) for k in range(-1, len(g.ops) + 1))
    for step in range(-1, len(g.ops) + 1):
        live = sorted(_live_at(plan, step), key=lambda x: x[1])
        for (ta, _a0, a1), (tb, b0, _b1) in itertools.pairwise(live):
            assert a1 <= b0, f"step {step}: tensors {ta} and {tb} overlap"
        assert all(start % 4 == 0 for _, start, _ in live)


def test_alias_ops_share_their_input_storage(tflite_model):
    g = read_tflite(tflite_model("har_cnn1d", "int8"))
    plan = plan_memory(g)
    reshapes = [op for op in g.ops if op.opcode == "RESHAPE"]
    assert len(reshapes) == 2
    for op in reshapes:
        assert plan.locations[op.inputs[0]] == plan.locations[op.outputs[0]]
    # the first RESHAPE reads the graph input: no copy, it stays in the caller's buffer
    assert plan.locations[reshapes[0].outputs[0]].kind == "input"
    assert not plan.copy_in and not plan.copy_out


def test_graph_io_stays_in_caller_buffers(tflite_model):
    g = read_tflite(tflite_model("conv_chain", "int8"))
    plan = plan_memory(g)
    assert plan.locations[g.inputs[0]].kind == "input"
    assert plan.locations[g.outputs[0]].kind == "output"
    # three intermediate tensors, two live at a time: the arena holds the two largest
    sizes = sorted(g.tensor(op.outputs[0]).nbytes for op in g.ops[:-1])
    assert plan.lower_bound == sizes[-1] + sizes[-2]
    assert plan.arena_bytes == plan.lower_bound


def test_alias_of_a_constant_is_a_constant():
    """RESHAPE of a weight tensor yields flash data, not an arena tensor nobody writes."""
    import numpy as np

    from harness.codegen.ir import Graph, Op, Quant, Tensor

    q = Quant(np.array([0.1], np.float32), np.array([0]))
    tensors = [
        Tensor(0, "x", "int8", (1, 4), q),
        Tensor(1, "w_flat", "int8", (12,), q, np.arange(12, dtype=np.int8)),
        Tensor(2, "shape", "int32", (2,), None, np.array([3, 4], np.int32)),
        Tensor(3, "w", "int8", (3, 4), q),
        Tensor(4, "y", "int8", (1, 3), q),
    ]
    ops = [Op(0, "RESHAPE", [1, 2], [3]), Op(1, "FULLY_CONNECTED", [0, 3, -1], [4])]
    g = Graph("m", "0" * 64, tensors, ops, [0], [4])
    plan = plan_memory(g)
    assert plan.locations[3].kind == "const" and g.tensor(3).data.shape == (3, 4)
    assert plan.arena_bytes == 0
