"""The optimized per-core kernels on the Arm cores themselves: the SMLAD/SXTB16/SMLAxy and LDRD
paths (M4, M7) and the v6-M MULS path (M0+) only exist in the cross-compiled firmware, so they
are checked bit-exact against the TFLM reference on QEMU through `run_model`, on the suites'
models and on op-level models (odd channel counts, padding, strides, dilation, depth
multiplier 2, per-channel and per-tensor weights)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from harness.boards import load_board
from harness.codegen import generate
from harness.errors import HilError
from harness.runner import run_model

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "codegen"))
import cg_models  # noqa: E402

SUITES = {"har": "suites/har/artifacts/int8.tflite", "kws": "suites/kws/artifacts/int8.tflite"}


def _vectors(path: Path, n: int, seed: int = 0) -> list[bytes]:
    """Random int8 inputs plus the edge cases (all -128, all 127)."""
    from harness.reference import Reference

    ref = Reference(path)
    size = sum(d.nbytes for d in ref.input_details)
    rng = np.random.default_rng(seed)
    out = [rng.integers(-128, 128, size, dtype=np.int8).tobytes() for _ in range(n)]
    return out + [bytes([0x80]) * size, bytes([0x7F]) * size]


@pytest.mark.parametrize("board_name", ["m4", "m7", "m0plus"])
@pytest.mark.parametrize("suite", sorted(SUITES))
def test_suite_model_bitexact_on_the_core(suite: str, board_name: str) -> None:
    path = ROOT / SUITES[suite]
    board = load_board(board_name)
    run = run_model(path, board, _vectors(path, 3))
    assert run.bitexact == 1.0
    manifest = (Path(run.firmware.model_dir) / "model.json").read_text()
    assert f'"target": "{board.core}"' in manifest


@pytest.mark.parametrize("board_name", ["m4", "m0plus"])
@pytest.mark.parametrize("builder, quant", [("conv_chain", "int8"), ("conv_chain", "int8_pt"), ("dw_chain", "int8_pt"),
                                            ("dense_chain", "int8"), ("ds_cnn", "int8_pt")])
def test_op_models_bitexact_on_the_core(builder: str, quant: str, board_name: str) -> None:
    path = cg_models.model_path(builder, quant)
    run = run_model(path, load_board(board_name), _vectors(path, 2, seed=3))
    assert run.bitexact == 1.0


def test_optimized_and_portable_agree_and_optimized_is_faster_on_m7() -> None:
    path = ROOT / SUITES["kws"]
    xs = _vectors(path, 2)
    fast = run_model(path, load_board("m7"), xs)
    ref = run_model(path, load_board("m7"), xs, target="portable")
    assert fast.outputs == ref.outputs == fast.reference
    assert fast.count_per_inference < ref.count_per_inference


def test_generated_layout_differs_per_target(tmp_path: Path) -> None:
    path = cg_models.model_path("conv_chain", "int8")
    dsp = generate(path, tmp_path / "m4", target="cortex-m4")
    v6m = generate(path, tmp_path / "m0", target="cortex-m0plus")
    portable = generate(path, tmp_path / "p")
    assert "opt_dsp.h" in dsp.files and "opt_v6m.h" in v6m.files and "opt_s8.h" not in portable.files
    assert "hil_w_op0_opt_w16" in (tmp_path / "m4" / "model.c").read_text()  # 16-bit pairs for SMLAD
    with pytest.raises((HilError, ValueError), match="unknown codegen target"):
        generate(path, tmp_path / "x", target="cortex-z9")
