"""The DSP cores' first-layer convolution (kernels/opt_dsp_first.h, issue 18): 1-3 input channels,
widened input rows, SMLAD pairs across taps. Bit-exact against TFLM on the host (the intrinsics'
portable C) and on QEMU (M4, M33, M7; -O2 and -Os): several first convolutions in one model (the
kernel's C steps: several call sites) and each alone (at -O2 its asm block, whose offsets are the
layer's constants). Shapes: 1, 2 and 3 input channels, strides 1 and 2 (and mixed), same and
valid padding, non-square windows, odd output widths and channel counts, relu / relu6 clamps,
per-channel and per-tensor weights."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from harness.boards import load_board
from harness.codegen import generate
from harness.codegen.packing import dsp_first_stream
from harness.runner import run_model

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "codegen"))
import cg_models  # noqa: E402
from harness_utils import compare  # noqa: E402

SHAPES = [(9, 7, 3), (8, 6, 1), (7, 10, 2)]


def _vectors(path: Path, n: int, seed: int) -> list[bytes]:
    from harness.reference import Reference

    size = sum(d.nbytes for d in Reference(path).input_details)
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size, dtype=np.int8).tobytes() for _ in range(n)] + \
        [bytes([0x80]) * size, bytes([0x7F]) * size]


def _uses_kernel(path: Path, tmp_path: Path, target: str = "cortex-m4") -> int:
    generate(path, tmp_path / "gen", target=target)
    return (tmp_path / "gen" / "model.c").read_text().count("hil_opt_first_dsp(")


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m4:speed"])
@pytest.mark.parametrize("quant", ["int8", "int8_pt"])
@pytest.mark.parametrize("in_shape", SHAPES)
def test_first_conv_bitexact_on_host(in_shape: tuple, quant: str, target: str, tmp_path: Path) -> None:
    path = cg_models.model_path("first_conv", quant, in_shape=in_shape)
    # every conv whose kernel rows are not whole words (k_w * in_c % 4) takes the kernel
    assert _uses_kernel(path, tmp_path, target) == sum(kw * in_shape[2] % 4 != 0 for kw in (3, 3, 2, 3, 1))
    compare(path, tmp_path / "run", n_random=8, seed=5, target=target)


def test_stream_layout() -> None:
    """SXTB16 / SXTB16 ROR 8 of the stream's words give each channel's (t0, t1) tap pairs."""
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (5, 2, 3, 3))  # n=5 (a padded quad), k_h=2, k_w*in_c=9 (a zero tap)
    s = dsp_first_stream(w, np.arange(5), np.arange(5) + 10, np.arange(5) + 20).view(np.int8).reshape(2, -1)
    k2 = 2 * 5
    assert s.shape[1] == 4 * (12 + 2 * k2)
    words = s[:, 16:16 + 8 * k2].reshape(2, 2, 5, 2, 2, 2)  # quad, ky, j, (ab | cd), t, (a | b)
    full = np.zeros((8, 2, 10), np.int64)
    full[:5, :, :9] = w.reshape(5, 2, 9)
    want = full.reshape(2, 2, 2, 2, 5, 2).transpose(0, 3, 4, 1, 5, 2)
    assert np.array_equal(words, want)
    consts = s.view("<i4").reshape(2, -1)
    assert list(consts[1, :4]) == [4, 4, 4, 4] and list(consts[1, -8:]) == [14] * 4 + [24] * 4


def _run(path: Path, board_name: str, opt: str) -> None:
    run = run_model(path, load_board(board_name), _vectors(path, 2, seed=9), target="board", opt=opt)
    assert run.bitexact == 1.0
    assert "hil_opt_first_dsp(" in (Path(run.firmware.model_dir) / "model.c").read_text()


@pytest.mark.parametrize("opt", ["-O2", "-Os"])
@pytest.mark.parametrize("board_name", ["m4", "m33"])
@pytest.mark.parametrize("in_shape", [(9, 7, 3), (7, 10, 2)])
def test_first_convs_bitexact_on_the_core(in_shape: tuple, board_name: str, opt: str) -> None:
    _run(cg_models.model_path("first_conv", "int8_pt", in_shape=in_shape), board_name, opt)


@pytest.mark.parametrize("board_name", ["m4", "m7"])
@pytest.mark.parametrize("only, in_shape", [(0, (9, 7, 3)), (1, (8, 6, 1)), (2, (9, 7, 3)), (3, (7, 10, 2)),
                                             (4, (9, 7, 3))])
def test_single_first_conv_bitexact_on_the_core(only: int, in_shape: tuple, board_name: str) -> None:
    """One call site: at -O2 the asm path (offsets as immediates)."""
    _run(cg_models.model_path("first_conv", "int8", in_shape=in_shape, only=only), board_name, "-O2")


# (out_c, weight scale exponents (lo, hi): hi < 0 gives left shifts, bias magnitude, fused activation, rq30)
RQ_CASES = [
    (8, (0, 18), 3000, 0, 2),     # per-channel shifts ~3 to ~21: rq30 (weights and biases doubled)
    (6, (10, 18), 3000, 1, 2),    # large shifts, relu
    (5, (-3, -1), 3000, 0, 0),    # multipliers > 1 (left shifts): hil_opt_out
    (7, (0, 8), 2**30, 0, 0),     # |bias| near 2^30: accumulators too wide for rq30
]


def _first_conv(case: tuple, path: Path) -> Path:
    """One 3x3 stride-2 same-padded conv of a 9x7x3 input, its requantization chosen by case."""
    cout, (lo, hi), bmag, act, _ = case
    rng = np.random.default_rng(cout * 7 + lo)
    wscale = (2.0 ** -rng.uniform(lo, hi, cout)).astype(np.float32) * 0.01
    bias = rng.integers(-bmag, bmag, cout) if bmag < 2**30 else rng.choice([1 - bmag, bmag - 1], cout)
    raw = cg_models.single_op(
        "CONV_2D",
        [{"shape": [1, 9, 7, 3], "dtype": "int8", "scale": 0.05, "zero_point": 5},
         {"shape": [cout, 3, 3, 3], "dtype": "int8", "scale": wscale, "zero_point": [0] * cout,
          "quantized_dimension": 0, "data": rng.integers(-127, 128, (cout, 3, 3, 3)).astype(np.int8)},
         {"shape": [cout], "dtype": "int32", "scale": wscale * 0.05, "zero_point": [0] * cout,
          "data": bias.astype(np.int32)}],
        [{"shape": [1, 5, 4, cout], "dtype": "int8", "scale": 0.004, "zero_point": -3}],
        {"padding": 0, "strideW": 2, "strideH": 2, "fusedActivationFunction": act, "dilationWFactor": 1,
         "dilationHFactor": 1}, "Conv2DOptions")
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize("case", RQ_CASES, ids=lambda c: f"out{c[0]}-rq30_{c[4]}")
def test_first_conv_requantization_on_host(case: tuple, tmp_path: Path) -> None:
    path = _first_conv(case, tmp_path / "first.tflite")
    compare(path, tmp_path / "c", n_random=6, seed=case[0], target="cortex-m4")
    text = (tmp_path / "c" / "gen" / "model.c").read_text()
    assert "hil_opt_first_dsp(" in text and f".rq30 = {case[4]}" in text


@pytest.mark.parametrize("board_name, opt", [("m4", "-O2"), ("m4", "-Os"), ("m33", "-O2")])
def test_first_conv_requantization_on_the_core(board_name: str, opt: str, tmp_path: Path) -> None:
    for case in RQ_CASES:
        path = _first_conv(case, tmp_path / f"first{case[0]}.tflite")
        run = run_model(path, load_board(board_name), _vectors(path, 2, seed=case[0]), target="board", opt=opt)
        assert run.bitexact == 1.0, case
        assert f".rq30 = {case[4]}" in (Path(run.firmware.model_dir) / "model.c").read_text(), case
