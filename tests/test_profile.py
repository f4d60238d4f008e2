"""Per-layer profiles on a real QEMU run: firmware built with -DHIL_MODEL_PROFILE, real counts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.boards import load_board
from harness.cli import main as hil_main
from harness.profile import format_profile, profile_model

ROOT = Path(__file__).resolve().parent.parent
HAR = ROOT / "suites" / "har" / "artifacts" / "int8.tflite"


@pytest.fixture(scope="module")
def har_m4():
    return profile_model(HAR, load_board("m4"), runs=2)


def test_layers_sum_to_about_the_whole_inference(har_m4) -> None:
    p = har_m4
    assert p.kind == "instructions" and p.bitexact
    assert len(p.layers) > 3 and all(lc.count > 0 for lc in p.layers)
    # the hooks' own instructions sit between the layers: the sum is a little below the whole
    assert 0.9 * p.total <= p.layer_sum <= p.total
    assert p.macs == sum(lc.macs for lc in p.layers) > 0
    assert len(p.totals) == 2 and p.total == p.totals[-1]  # the profile is the last inference's
    # the difference is the hooks' own cost, within what the device measured for them
    assert p.hook_overhead > 0 and 0 <= p.total - p.layer_sum <= p.hook_allowance
    assert p.inconsistency() is None


@pytest.mark.parametrize("change", ["sum above whole", "whole wrapped at 2^32 ticks", "gap beyond the hooks"])
def test_profile_that_contradicts_itself_says_so_instead_of_printing_both(har_m4, change: str) -> None:
    p = har_m4
    total = {"sum above whole": p.layer_sum - 1,
             "whole wrapped at 2^32 ticks": p.total - 671_088_640,  # what the 32-bit m4 count did
             "gap beyond the hooks": p.layer_sum + p.hook_allowance + 1}[change]
    bad = dataclasses.replace(p, total=total)
    problem = bad.inconsistency()
    assert problem is not None and "not to be trusted" in problem and f"{bad.layer_sum:,}" in problem
    text = format_profile(bad)
    assert text == f"error: {problem}" and "insn/MAC" not in text  # no table of numbers
    # the edge of the allowance is still consistent: the check is no looser or tighter than measured
    assert dataclasses.replace(p, total=p.layer_sum + p.hook_allowance).inconsistency() is None
    assert dataclasses.replace(p, total=p.layer_sum).inconsistency() is None


def test_table_has_every_layer_and_labelled_counts(har_m4) -> None:
    text = format_profile(har_m4)
    assert "instructions" in text and "insn/MAC" in text and "whole inference" in text
    for lc in har_m4.layers:
        assert lc.op in text
    assert f"{har_m4.total:,}" in text


def test_optimized_kernels_take_fewer_instructions_than_portable(har_m4) -> None:
    portable = profile_model(HAR, load_board("m4"), target="portable")
    assert portable.bitexact and har_m4.target == "cortex-m4" and portable.target == "portable"
    conv = [i for i, lc in enumerate(portable.layers) if lc.op in ("CONV_2D", "FULLY_CONNECTED") and lc.macs > 1000]
    assert conv
    for i in conv:
        assert har_m4.layers[i].count < portable.layers[i].count, har_m4.layers[i]
    assert har_m4.total < portable.total


def test_size_option_is_smaller_and_still_exact_on_m0plus() -> None:
    board = load_board("m0plus")
    fast = profile_model(HAR, board, opt="-O2")
    small = profile_model(HAR, board, opt="-Os")
    assert fast.bitexact and small.bitexact
    assert small.code_bytes < fast.code_bytes
    assert [lc.op for lc in fast.layers] == [lc.op for lc in small.layers]


def test_hil_profile_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert hil_main(["profile", str(HAR), "--board", "m4", "--opt", "Os"]) == 0
    out = capsys.readouterr().out
    assert "on m4 (cortex-m4 kernels, -Os)" in out and "sum of layers" in out and "bit-exact" in out
