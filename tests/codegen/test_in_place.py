"""Convolutions written over their own input (planner + row ring): bit-exact with TFLM on every
kernel family, and the arena holds one activation instead of two."""

from __future__ import annotations

import pytest
from harness_utils import compare

from harness.codegen.planner import plan_memory
from harness.codegen.reader import read_tflite

CASES = [("int8", None), ("int8", "cortex-m4"), ("int8", "cortex-m4:speed"), ("int8", "cortex-m0plus"),
         ("int8_pt", "cortex-m4"), ("int8_pt", "cortex-m4:speed"),
         ("int8", "cortex-m3"), ("int16x8", None), ("int16x8", "cortex-m4"), ("float32", None)]


@pytest.mark.parametrize("quant, target", CASES)
def test_in_place_chain_is_bitexact(quant, target, tflite_model, tmp_path):
    manifest = compare(tflite_model("inplace_chain", quant), tmp_path, n_random=8, seed=3,
                       atol=1e-5 if quant == "float32" else 0.0, target=target)
    assert manifest["inplace_ops"], "the chain was not planned in place"


@pytest.mark.parametrize("quant", ["int8", "float32"])
def test_in_place_plan_shares_one_block(quant, tflite_model):
    g = read_tflite(tflite_model("inplace_chain", quant))
    shared, separate = plan_memory(g), plan_memory(g, in_place=False)
    convs = [op.index for op in g.ops if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    # the first conv reads the caller's input buffer; the six after it write over their input
    assert sorted(shared.inplace) == convs[1:] and not separate.inplace
    act = g.tensor(g.ops[convs[0]].outputs[0]).nbytes
    for op in convs[1:]:
        assert shared.locations[g.ops[op].inputs[0]] == shared.locations[g.ops[op].outputs[0]]
    assert separate.arena_bytes >= 2 * act
    assert shared.arena_bytes < act + 64  # one activation (+ the small Dense output)
    # the (5,3) window dilated by 2 has 4 rows of top padding: its ring holds 5 rows of 6x8 values
    assert shared.inplace_buffer == 5 * 6 * 8 * (4 if quant == "float32" else 1)


def test_in_place_not_taken_when_it_saves_nothing(tflite_model):
    """dw_chain's same-shape layer sits next to larger tensors: in place would only add a ring."""
    g = read_tflite(tflite_model("dw_chain", "int8"))
    assert not plan_memory(g).inplace


@pytest.mark.parametrize("target", [None, "cortex-m4", "cortex-m4:speed", "cortex-m0plus", "cortex-m3"])
def test_residual_input_is_never_overwritten(target, tflite_model, tmp_path):
    """The depthwise input feeds the ADD too: it keeps its own block; the result is bit-exact."""
    from harness.codegen.planner import _plan

    g = read_tflite(tflite_model("residual_block", "int8"))
    merged = _plan(g, True)  # every merge the rules allow, before the size comparison
    dw = next(op for op in g.ops if op.opcode == "DEPTHWISE_CONV_2D")
    project = g.ops[dw.index + 1]
    assert dw.index not in merged.inplace and project.index in merged.inplace
    assert merged.locations[dw.inputs[0]] != merged.locations[dw.outputs[0]]
    compare(tflite_model("residual_block", "int8"), tmp_path, n_random=6, seed=5, target=target)


@pytest.mark.parametrize("target", [None, "cortex-m4", "cortex-m4:speed", "cortex-m0plus", "cortex-m3"])
def test_nine_tap_windows_that_are_not_3x3(target, tflite_model, tmp_path):
    compare(tflite_model("dw_nine_taps", "int8"), tmp_path, n_random=6, seed=9, target=target)
