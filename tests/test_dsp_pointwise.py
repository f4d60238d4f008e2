"""The DSP int8-weight matrix kernel (kernels/opt_dsp_mm8.h) on 1x1 convolutions and FC layers, with
its SMMLAR requantization (hil_opt_rq30, kernels/opt_dsp.h) and the fallback when a layer's bounds
forbid it (a left shift, or accumulators beyond 2^30): bit-exact with TFLM on the host (portable C
of the same kernels) and on QEMU (the asm) at -O2 and -Os, on the M4, M7 and M33."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.boards import load_board
from harness.runner import run_model

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "codegen"))
from cg_models import op_chain  # noqa: E402
from harness_utils import compare  # noqa: E402

# (in_c, out_c, h, w, fused activation (0 none, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6), weight scale exponents
# (lo, hi): per-channel right shifts from ~3 to ~21; hi < 0 gives left shifts), bias magnitude, rq30 usable
# (then rq30 = 2, rows and biases doubled, when out_c > kp / 2; else 1)
CASES = [
    (2, 9, 4, 7, 0, (0, 18), 3000, 1),     # two input channels (one is a 2/4-bit grid: packed kernels), 28 rows
    (2, 5, 5, 1, 1, (0, 18), 3000, 1),     # (not a multiple of the 3-row block), RELU
    (3, 7, 2, 4, 3, (0, 18), 3000, 1),
    (5, 7, 4, 5, 3, (0, 18), 3000, 1),     # odd in and out channels, RELU6 clamp
    (7, 9, 3, 7, 2, (2, 16), 3000, 1),     # RELU_N1_TO_1 (at this output scale the full int8 clamp)
    (8, 16, 6, 5, 0, (0, 18), 3000, 1),    # VWW's first pointwise shape class
    (13, 3, 5, 2, 1, (0, 8), 3000, 1),     # depth not a multiple of 4, RELU; rq30 = 1 (3 <= kp / 2)
    (16, 17, 4, 4, 0, (10, 18), 3000, 1),  # large shifts, odd out channels
    (16, 6, 3, 5, 0, (0, 18), 3000, 1),    # rq30 = 1 (6 <= kp / 2) on the -O2 asm pair path
    (6, 5, 15, 15, 0, (0, 18), 3000, 1),   # kp 8, k 6: the narrow path (hil_mm8_narrow) row by row, 225 rows
    (8, 3, 3, 5, 0, (4, 18), 3000, 1),     # (chunks of 178 and 47: the second conv's scratch); rq30 = 1
    (4, 2, 5, 3, 0, (0, 18), 3000, 1),     # kp 4 on the narrow path, rq30 = 1; 15 rows (tail of 3)
    (12, 10, 1, 29, 0, (0, 18), 3000, 1),  # >= 24 rows, kp <= 32, even out_c: weights unpacked once (-O2),
    (32, 8, 8, 4, 0, (2, 18), 3000, 1),    # 29 rows (a partial last block); kp 32 with rq30 = 1
    (20, 12, 5, 5, 0, (0, 18), 3000, 1),   # kp 20 (5 steps), rq30 = 2
    (64, 64, 1, 97, 0, (0, 18), 3000, 1),  # unpacked in 3 groups of 22, 22, 20 channels (>= 96 rows)
    (6, 4, 3, 3, 0, (-3, -1), 3000, 0),    # multipliers > 1 (left shifts): the hil_opt_out fallback
    (4, 6, 2, 5, 0, (0, 8), 2**30, 0),     # |bias| near 2^30: accumulators too wide for rq30
]


def _conv1x1(case: tuple, path: Path) -> Path:
    """The case's 1x1 conv, then a 1-channel conv with a (<= 9) x (<= 9) window over its output: that
    layer's im2col scratch (~1.75 x its window's values) gives the model room for the 1x1 layer's
    narrow / unpacked paths, which take scratch only up to the model's largest other need."""
    cin, cout, h, w, act, (lo, hi), bmag, _ = case
    rng = np.random.default_rng(cin * 100 + cout)
    wscale = (2.0 ** -rng.uniform(lo, hi, cout)).astype(np.float32) * 0.01
    kh, kw = min(h, 9), min(w, 9)
    raw = op_chain([(
        "CONV_2D",
        [{"shape": [1, h, w, cin], "dtype": "int8", "scale": 0.05, "zero_point": 7},
         {"shape": [cout, 1, 1, cin], "dtype": "int8", "scale": wscale, "zero_point": [0] * cout,
          "quantized_dimension": 0, "data": rng.integers(-127, 128, (cout, 1, 1, cin)).astype(np.int8)},
         {"shape": [cout], "dtype": "int32", "scale": wscale * 0.05, "zero_point": [0] * cout,
          "data": (rng.integers(-bmag, bmag, cout) if bmag < 2**30 else rng.choice([1 - bmag, bmag - 1], cout))
          .astype(np.int32)}],
        [{"shape": [1, h, w, cout], "dtype": "int8", "scale": 0.004, "zero_point": -3}],
        {"padding": 1, "strideW": 1, "strideH": 1, "fusedActivationFunction": act, "dilationWFactor": 1,
         "dilationHFactor": 1}, "Conv2DOptions"), (
        "CONV_2D",
        ["prev",
         {"shape": [1, kh, kw, cout], "dtype": "int8", "scale": [0.002], "zero_point": [0],
          "data": rng.integers(-127, 128, (1, kh, kw, cout)).astype(np.int8)},
         {"shape": [1], "dtype": "int32", "scale": [0.004 * 0.002], "zero_point": [0],
          "data": np.array([100], np.int32)}],
        [{"shape": [1, h, w, 1], "dtype": "int8", "scale": 0.05, "zero_point": 0}],
        {"padding": 0, "strideW": 1, "strideH": 1, "fusedActivationFunction": 0, "dilationWFactor": 1,
         "dilationHFactor": 1}, "Conv2DOptions")])
    path.write_bytes(raw)
    return path


# the cases whose 1x1 layer takes the narrow (kp <= 8, direct) or unpacked (>= 24 rows, even out_c) path:
# rq30, the full int8 clamp (wide_scratch != 0)
WIDE = {(2, 9), (7, 9), (8, 16), (6, 5), (8, 3), (4, 2), (12, 10), (32, 8), (20, 12), (64, 64)}


def _wide(text: str) -> bool:
    """Does the 1x1 layer (the model's first matrix-kernel call) take its narrow path (wide_scratch: rows
    a chunk) or unpacked path (1)?"""
    return re.findall(r"\.wide_scratch = (\d+)", text.split("hil_opt_conv_dsp8(")[0])[-1] != "0"


def _rq30(case: tuple) -> int:
    """The rq30 field the generator should pick (harness/codegen/optimized.py, _dsp8_call)."""
    kp = -(-case[0] // 4) * 4
    return 0 if not case[7] else (2 if case[1] > kp // 2 else 1)


def _vectors(n: int, size: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size, dtype=np.int8).tobytes() for _ in range(n)] + [
        bytes([0x80]) * size, bytes([0x7F]) * size]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}to{c[1]}-{c[2]}x{c[3]}-act{c[4]}-rq30_{_rq30(c)}")
def test_pointwise_on_the_host(case: tuple, tmp_path: Path) -> None:
    path = _conv1x1(case, tmp_path / "pw.tflite")
    compare(path, tmp_path / "c", n_random=6, seed=case[0], target="cortex-m4")
    text = (tmp_path / "c" / "gen" / "model.c").read_text()
    assert "hil_opt_conv_dsp8(" in text and f".rq30 = {_rq30(case)}" in text
    assert _wide(text) == (case[:2] in WIDE)


@pytest.mark.parametrize("board_name, opt", [("m4", "-O2"), ("m4", "-Os"), ("m7", "-O2"), ("m33", "-O2")])
def test_pointwise_on_the_core(board_name: str, opt: str, tmp_path: Path) -> None:
    for case in CASES:
        path = _conv1x1(case, tmp_path / f"pw{case[0]}-{case[1]}.tflite")
        run = run_model(path, load_board(board_name), _vectors(2, case[0] * case[2] * case[3], case[1]),
                        target="board", opt=opt)
        assert run.bitexact == 1.0, case
        text = (Path(run.firmware.model_dir) / "model.c").read_text()
        assert re.search(rf"\.rq30 = {_rq30(case)}\b", text) and "hil_opt_conv_dsp8(" in text, case
        assert _wide(text) == (case[:2] in WIDE), case


def test_kernel_limits_match_the_generator() -> None:
    """The kernels re-derive the generator's scratch arithmetic from these constants (the grouped
    unpacked weights, the tap table): a mismatch would overrun hil_scratch, not fail a build."""
    from harness.codegen.emitter import KERNEL_DIR
    from harness.codegen.optimized import MAX_TAPS, SCRATCH_LIMIT

    def define(header: str, name: str) -> int:
        found = re.search(rf"#define {name} (\d+)", (KERNEL_DIR / header).read_text())
        assert found is not None, f"{header} has no {name}"
        return int(found[1])

    assert define("opt_dsp_mm8.h", "HIL_MM8_SCRATCH_WORDS") == SCRATCH_LIMIT // 4
    assert define("opt_common.h", "HIL_OPT_MAX_TAPS") == MAX_TAPS
