"""The spine end to end on real parts: codegen → arm-none-eabi-gcc → QEMU → protocol → reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.boards import load_board
from harness.errors import DoesNotFit
from harness.runner import StateWiring, run_model

ROOT = Path(__file__).resolve().parent.parent
HAR = ROOT / "suites" / "har" / "artifacts"
GESTURE = ROOT / "suites" / "gesture" / "artifacts"


def _har_inputs(n: int) -> list[bytes]:
    with np.load(HAR / "test.npz") as d:
        return [d["x_int8"][i].tobytes() for i in range(n)]


@pytest.mark.parametrize("board_name", ["m4", "m0plus"])
def test_same_firmware_same_outputs_and_counts_every_run(board_name: str) -> None:
    board = load_board(board_name)
    inputs = _har_inputs(4)
    first = run_model(HAR / "int8.tflite", board, inputs)
    second = run_model(HAR / "int8.tflite", board, inputs)
    assert first.bitexact == 1.0
    assert first.outputs == second.outputs
    assert [c.value for c in first.counts] == [c.value for c in second.counts]
    assert all(c.kind == "instructions" and c.value > 10_000 for c in first.counts)
    assert first.firmware.elf == second.firmware.elf  # the second build was a cache hit
    assert 0 < first.stack_high_water < first.stack_size
    assert first.footprint.flash > first.footprint.weights > 0


def test_model_too_big_for_the_board_does_not_fit() -> None:
    ad = ROOT / "suites" / "ad" / "artifacts" / "int8.tflite"  # ~290 KB of weights, m0plus has 256 KB flash
    with pytest.raises(DoesNotFit, match="m0plus"):
        run_model(ad, load_board("m0plus"), [bytes(640)])


def test_streaming_state_is_kept_on_the_device() -> None:
    """Frame by frame with the state carried by the firmware equals the reference carrying it."""
    with np.load(GESTURE / "test.npz") as d:
        frames = [d["x_int8"][0, t].tobytes() for t in range(20)]
        h0 = d["h0_int8"].tobytes()
    state = StateWiring(input=0, output=1, init=h0)
    run = run_model(GESTURE / "int8.tflite", load_board("m4"), frames, state=state, reset_before=(0, 10))
    assert run.bitexact == 1.0
    # The reset at frame 10 restores h0: frames 10.. repeat what frames 0.. gave for equal inputs.
    restarted = run_model(GESTURE / "int8.tflite", load_board("m4"), frames[10:], state=state, reset_before=(0,))
    assert run.outputs[10:] == restarted.outputs
