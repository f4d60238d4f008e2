"""The optimized per-core kernels on the Arm cores themselves: the SMLAD/SXTB16/SMLAxy and LDRD
paths (M4, M7) and the v6-M MULS path (M0+) only exist in the cross-compiled firmware, so they
are checked bit-exact against the TFLM reference on QEMU through `run_model`, on the suites'
models and on op-level models (odd channel counts, padding, strides, dilation, depth
multiplier 2, per-channel and per-tensor weights)."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize("board_name", ["m4", "m4:speed", "m7", "m7:speed", "m33", "m0plus", "m3"])
@pytest.mark.parametrize("suite", sorted(SUITES))
def test_suite_model_bitexact_on_the_core(suite: str, board_name: str) -> None:
    path = ROOT / SUITES[suite]
    name, _, prefer = board_name.partition(":")
    board = load_board(name)
    run = run_model(path, board, _vectors(path, 3), target=f"{board.core}:{prefer}" if prefer else "board")
    assert run.bitexact == 1.0
    manifest = (Path(run.firmware.model_dir) / "model.json").read_text()
    assert f'"target": "{board.core}"' in manifest


@pytest.mark.parametrize("board_name", ["m4", "m4:speed", "m0plus", "m3"])
@pytest.mark.parametrize("builder, quant", [("conv_chain", "int8"), ("conv_chain", "int8_pt"), ("dw_chain", "int8_pt"),
                                            ("dw3_planes", "int8_pt"), ("dense_chain", "int8"), ("ds_cnn", "int8_pt"),
                                            ("pool_chain", "int8"), ("inplace_chain", "int8"), ("mm8_shapes", "int8_pt"),
                                            ("odd_shapes", "int8_pt")])
def test_op_models_bitexact_on_the_core(builder: str, quant: str, board_name: str) -> None:
    """"m4": the M4 with the int8-weight kernels (prefer size, the default); "m4:speed" with the
    16-bit weight pairs."""
    path = cg_models.model_path(builder, quant)
    name, _, prefer = board_name.partition(":")
    board = load_board(name)
    target = f"{board.core}:{prefer}" if prefer else "board"
    run = run_model(path, board, _vectors(path, 2, seed=3), target=target)
    assert run.bitexact == 1.0
    text = (Path(run.firmware.model_dir) / "model.c").read_text()
    if name == "m4" and prefer != "speed" and "hil_opt_conv_t" in text:  # int8-weight kernels, no 16-bit weights
        assert re.search(r"hil_opt_(conv_dsp8|dwr8_s8|dw_dsp8|dwp3_s8)\(", text) and "opt_w16" not in text


@pytest.mark.parametrize("board_name,opt", [("m4", "-O2"), ("m3", "-Os"), ("m0plus", "-O2"), ("m0plus", "-Os")])
def test_wide_residual_add_bitexact_on_the_core(board_name: str, opt: str) -> None:
    """The table ADD (arith_addsub_lut_s8.c) of a 2,048-element residual on the real cores (v6-M:
    the asm high word at -O2, its C form at -Os; v7-M: SMLAL). Every input pair and the clamps:
    tests/test_addsub_lut.py."""
    path = cg_models.model_path("residual_block", "int8", in_shape=(16, 16, 8))
    run = run_model(path, load_board(board_name), _vectors(path, 2, seed=5), target="board", opt=opt)
    assert run.bitexact == 1.0
    assert "hil_addsub_lut_s8(" in (Path(run.firmware.model_dir) / "model.c").read_text()


@pytest.mark.parametrize("opt", ["-O2", "-Os"])
@pytest.mark.parametrize("board_name", ["m4", "m4:speed", "m0plus", "m3"])
def test_in_place_layers_bitexact_on_the_core(board_name: str, opt: str) -> None:
    """The planner's in-place layers (native depthwise / 1x1 kernels, the row ring for the rest)
    on the real instruction sets, at both optimisation levels (their code paths differ)."""
    path = cg_models.model_path("inplace_chain", "int8")
    name, _, prefer = board_name.partition(":")
    board = load_board(name)
    target = f"{board.core}:{prefer}" if prefer else "board"
    run = run_model(path, board, _vectors(path, 2, seed=4), target=target, opt=opt)
    assert run.bitexact == 1.0
    manifest = (Path(run.firmware.model_dir) / "model.json").read_text()
    assert '"inplace_ops": [\n    1,' in manifest


def test_optimized_and_portable_agree_and_optimized_is_faster_on_m7() -> None:
    path = ROOT / SUITES["kws"]
    xs = _vectors(path, 2)
    fast = run_model(path, load_board("m7"), xs, target="board")
    ref = run_model(path, load_board("m7"), xs, target="portable")
    assert fast.outputs == ref.outputs == fast.reference
    assert fast.count_per_inference < ref.count_per_inference


def test_generated_layout_differs_per_target(tmp_path: Path) -> None:
    path = cg_models.model_path("conv_chain", "int8")
    dsp = generate(path, tmp_path / "m4", target="cortex-m4", prefer="speed")
    v6m = generate(path, tmp_path / "m0", target="cortex-m0plus")
    portable = generate(path, tmp_path / "p")
    assert "opt_dsp.h" in dsp.files and "opt_v6m.h" in v6m.files and "opt_common.h" not in portable.files
    # op0 (3 input channels) takes the first-layer kernel (opt_dsp_first.h) under either preference
    assert "hil_w_op1_opt_w16" in (tmp_path / "m4" / "model.c").read_text()  # 16-bit pairs for SMLAD
    small = generate(path, tmp_path / "m4s", target="cortex-m4")  # prefer size, the default
    assert "hil_w_op1_opt_w8" in (tmp_path / "m4s" / "model.c").read_text()  # int8 words, SXTB16
    assert small.weight_bytes <= portable.weight_bytes < dsp.weight_bytes
    with pytest.raises(HilError, match="unknown preference"):
        generate(path, tmp_path / "y", target="cortex-m4:fast")
    with pytest.raises((HilError, ValueError), match="unknown codegen target"):
        generate(path, tmp_path / "x", target="cortex-z9")


REQUANT_MODEL_H = """#ifndef HIL_RQ_MODEL_H
#define HIL_RQ_MODEL_H
#define HIL_MODEL_NAME "rqcheck"
#define HIL_MODEL_HASH "rqcheck-v1"
#define HIL_MODEL_INPUT_BYTES 8
#define HIL_MODEL_OUTPUT_BYTES 8
#define HIL_MODEL_ARENA_BYTES 4
#define HIL_MODEL_NUM_LAYERS 1
int hil_model_invoke(const void *in, void *out);
void hil_model_reset(void);
#endif
"""

# hil_opt_rq (SMLAL on v7E-M, MULS-on-halves asm on v6-M) against TFLM's double rounding
# (hil_mbqm) for edge values and a seeded xorshift stream: the count of mismatches is the output.
REQUANT_MODEL_C = r"""
#include <stdint.h>
#include <string.h>
#include "model.h"
#include "hil_fixedpoint.h"
#include HIL_OPT_HEADER
void hil_model_reset(void) {}
static const int32_t edges[] = {0, 1, -1, 2, -2, 0x7fffffff, (int32_t)0x80000000, 0x40000000, -0x40000000,
                                0xffff, -0x10000, 0x10000, 12345, -12345, 0x3fffffff, -0x3fffffff};
int hil_model_invoke(const void *in, void *out)
{
    uint32_t s, n, bad = 0;
    memcpy(&s, in, 4);
    memcpy(&n, (const uint8_t *)in + 4, 4);
    hil_opt_conv_t p;
    memset(&p, 0, sizeof p);
    p.rs2 = 1;
    for (uint32_t i = 0; i < n; ++i) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        int32_t acc = i < 256 ? edges[i & 15] : (int32_t)s;
        if (i >= 256 && (i & 3) == 0) acc >>= (s >> 27);
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        int32_t m = i < 256 ? (edges[(i >> 4) & 15] & 0x7fffffff) : (int32_t)(s >> 1);
        const int32_t rs = 2 + (int32_t)(i % 30);
        p.out_off = (int32_t)(i % 256) - 128;
        const int32_t want = hil_mbqm(acc, m, -rs) + p.out_off;
        if (hil_opt_rq(&p, acc, m, 0, rs - 2) != want) ++bad;
#if defined(HIL_OPT_RQ_ASM)
        /* the asm form the DSP and v7-M kernels use: without and with the SSAT of the full int8 range */
        if (hil_opt_rq2_dsp(acc, m, rs - 2, 1 + 2 * p.out_off, 0) != want) ++bad;
        if (hil_opt_rq2_dsp(acc, m, rs - 2, 1 + 2 * p.out_off, 1) != (want < -128 ? -128 : want > 127 ? 127 : want)) ++bad;
#endif
#if defined(HIL_OPT_DSP)
        /* the DSP matrix kernel's SMMLAR form, within the generator's bounds (optimized.py, _rq30) */
        const int64_t kk = (int64_t)(2 + 4 * p.out_off) * ((int64_t)1 << (rs - 2));
        const int64_t mag = (acc < 0 ? -(int64_t)acc : acc) + (kk < 0 ? -kk : kk) + 2;
        if (acc > -0x40000000 && acc < 0x40000000 && mag < 0x80000000LL &&
            hil_opt_rq30(acc, m, rs - 1, hil_opt_rq30_k(p.out_off, rs - 1), 1) != (want < -128 ? -128 : want > 127 ? 127 : want))
            ++bad;
        if (acc > -0x40000000 && acc < 0x40000000 && mag < 0x80000000LL &&  /* rows and bias widened doubled */
            hil_opt_rq30(2 * acc, m, rs - 1, hil_opt_rq30_k(p.out_off, rs - 1), 0) != (want < -128 ? -128 : want > 127 ? 127 : want))
            ++bad;
#endif
    }
    memcpy(out, &bad, 4);
    memcpy((uint8_t *)out + 4, &n, 4);
    return 0;
}
"""


def _check_firmware_mismatches(board_name: str, tmp_path: Path, headers: set[str], model_c: str,
                               seeds: tuple[int, int]) -> None:
    """Build a check firmware (kernel headers + model_c, which counts mismatches over a seeded
    stream of n cases) for the board, run it per seed and require 0 mismatches."""
    import struct

    from harness.codegen.emitter import KERNEL_DIR
    from harness.device import open_device
    from harness.firmware.build import build_firmware

    for name in headers:  # the kernels' headers, as generated
        (tmp_path / name).write_text((KERNEL_DIR / name).read_text())
    (tmp_path / "model.h").write_text(REQUANT_MODEL_H)
    (tmp_path / "model.c").write_text(model_c)
    board = load_board(board_name)
    fw = build_firmware(board, tmp_path)
    with open_device(board, fw.elf, timeout=60) as dev:
        for seed in seeds:
            out, _ = dev.invoke(struct.pack("<II", seed, 20000))
            bad, n = struct.unpack("<II", out)
            assert n == 20000 and bad == 0


@pytest.mark.parametrize("board_name, family", [("m4", "dsp"), ("m0plus", "v6m"), ("m3", "v7m")])
def test_requantization_on_the_core_equals_tflm(board_name: str, family: str, tmp_path: Path) -> None:
    from harness.codegen.optimized import _kernels

    _check_firmware_mismatches(board_name, tmp_path, {"hil_fixedpoint.h", "pooling.h", *_kernels(family)},
                               f'#define HIL_OPT_HEADER "opt_{family}.h"\n' + REQUANT_MODEL_C, (1, 0x9E3779B9))


XCPUS = {
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m3": ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "cortex-m33": ["-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=soft"],
}


@pytest.mark.parametrize("cpu", sorted(XCPUS))
def test_optimized_code_cross_compiles_with_werror(cpu: str, tmp_path: Path) -> None:
    """-O2 (inlined, asm blocks) and -Os (out of line), either asm syntax mode, C99, -Werror."""
    import subprocess

    cases = [(b, q, pf) for b, q in (("ds_cnn", "int8_pt"), ("conv_chain", "int8"), ("dense_chain", "int8"))
             for pf in ("speed", "size")]
    for builder, quant, prefer in cases:
        d = generate(cg_models.model_path(builder, quant), tmp_path / f"{builder}-{quant}-{prefer}", target=cpu,
                     prefer=prefer).out_dir
        srcs = sorted(str(p) for p in d.glob("*.c"))
        for opt in ("-O2", "-Os"):
            for syntax in ([], ["-masm-syntax-unified"]):
                work = tmp_path / f"o-{builder}-{prefer}-{opt}-{len(syntax)}"
                work.mkdir()
                cmd = ["arm-none-eabi-gcc", *XCPUS[cpu], "-std=c99", opt, *syntax, "-Wall", "-Wextra", "-Werror",
                       "-ffreestanding", "-I", str(d), "-c", *srcs]
                r = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
                assert r.returncode == 0, f"{builder} for {cpu} {opt} {syntax}:\n{r.stderr[:3000]}"


# 3x3 depthwise layers of the DSP plane kernel (hil_opt_dwp3_s8) that Keras does not produce: clamps
# inside the int8 range on both sides (RELU_N1_TO_1) or one (RELU), per-channel scales whose shifts
# run from 2 to ~20, odd channel counts and widths, stride 1 and 2, layers taller than wide. Each
# row of outputs is steps of 4, 2 (stride 2: its own step) and 1 in one asm block; rows of >= 8
# input values are copied 8 at a time.
DW3_CASES = [  # (in h, w, c), stride, padding (0 SAME, 1 VALID), fused activation (1 RELU, 2 RELU_N1_TO_1)
    ((6, 7, 3), 1, 0, 2), ((7, 9, 6), 2, 0, 2), ((5, 6, 5), 1, 1, 1), ((8, 8, 4), 1, 0, 2),
    ((11, 5, 3), 1, 0, 2), ((9, 4, 4), 1, 1, 1),  # taller than wide: run transposed
    ((12, 13, 7), 2, 0, 0), ((13, 22, 2), 2, 1, 1),  # stride 2: rows of 4 + 2 + 1 and 2 x 4 + 2 outputs
    ((6, 6, 9), 2, 0, 2), ((3, 3, 5), 1, 0, 1),  # 3x3 outputs (stride 2 and 1): a step of 2, then 1
    ((20, 19, 3), 1, 0, 0),  # transposed rows of 20 outputs, copied 8 values at a time
    ((5, 40, 4), 1, 0, 2), ((4, 4, 1), 2, 0, 1),  # rows of 40; stride 2 with one output row of 2
    # channels in fours, rows of >= 12 input values: 4 planes a pass, widened 4 pixels x 4 channels
    # at a time (odd left padding: its first values per channel; the rest per channel)
    ((14, 17, 8), 2, 0, 2), ((16, 26, 12), 2, 1, 1), ((24, 13, 4), 1, 0, 0),
    # plane rows too long for LDRD's offsets (8 bits x 4): the pair words as two LDR
    ((4, 260, 2), 1, 1, 0), ((5, 70, 4), 2, 0, 2),
    # rows of 6 input values (VWW's 6x6 stride-2 layer): 4 channels a pass, widened 4 + 2 pixels
    ((6, 6, 8), 2, 0, 0),
    # stride 1's 6-output steps: rows of 6 + 3 (most cases above: 6 + 1 / 2 / 4 / 5, 3 x 6 + 2, 6 x 6 + 4)
    ((5, 9, 4), 1, 0, 2), ((9, 16, 5), 2, 0, 1),  # stride 2's: 6 + 2 (others: 6 + 1 / 3 / 4, 2 / 3 / 4 x 6)
    # 4 whole planes > 8 KB: 4 channels a pass in bands of 3 output rows (7 plane rows), a last
    # band of 2; SAME with a padding row at the top of the first band and the bottom of the last;
    # VALID in bands of 2 rows, a last band of 1
    ((28, 36, 4), 2, 0, 2), ((24, 50, 4), 2, 1, 0)]


def _dw3_model(tmp_path: Path, shape: tuple[int, int, int], stride: int, padding: int, act: int,
               max_exp: float = 0.0, tiny: bool = False) -> Path:
    """A single 3x3 depthwise layer; per-channel weight scales 0.01 * 2^-[max_exp, 18] (max_exp < 0:
    some channels' multipliers > 1, a left shift; tiny: channel 0's is 0.01 * 2^-28.5, a right
    shift of 31, too large for the plane kernel's 4-instruction requantization)."""
    from cg_models import single_op

    h, w, c = shape
    rng = np.random.default_rng(h * 100 + w * 10 + c)
    oh = -(-h // stride) if padding == 0 else (h - 3) // stride + 1
    ow = -(-w // stride) if padding == 0 else (w - 3) // stride + 1
    wscale = (2.0 ** -rng.uniform(max_exp, 18, c)).astype(np.float32) * 0.01  # per channel: shifts ~2 .. ~20
    if tiny:
        wscale[0] = np.float32(0.01 * 2.0 ** -28.5)
    raw = single_op(
        "DEPTHWISE_CONV_2D",
        [{"shape": [1, h, w, c], "dtype": "int8", "scale": 0.05, "zero_point": 7},
         {"shape": [1, 3, 3, c], "dtype": "int8", "scale": wscale, "zero_point": [0] * c, "quantized_dimension": 3,
          "data": rng.integers(-127, 128, (1, 3, 3, c)).astype(np.int8)},
         {"shape": [c], "dtype": "int32", "scale": wscale * 0.05, "zero_point": [0] * c,
          "data": rng.integers(-3000, 3000, c).astype(np.int32)}],
        [{"shape": [1, oh, ow, c], "dtype": "int8", "scale": 0.004, "zero_point": -3}],
        {"padding": padding, "strideW": stride, "strideH": stride, "depthMultiplier": 1, "fusedActivationFunction": act,
         "dilationWFactor": 1, "dilationHFactor": 1}, "DepthwiseConv2DOptions")
    path = tmp_path / "dw3.tflite"
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize("shape, stride, padding, act", DW3_CASES)
def test_dsp_dw3_plane_kernel_clamps_and_shifts_on_the_core(shape, stride: int, padding: int, act: int,
                                                            tmp_path: Path) -> None:
    path = _dw3_model(tmp_path, shape, stride, padding, act)
    run = run_model(path, load_board("m4"), _vectors(path, 3, seed=shape[2]), target="cortex-m4:size")
    assert run.bitexact == 1.0
    assert "hil_opt_dwp3_s8(" in (Path(run.firmware.model_dir) / "model.c").read_text()


@pytest.mark.parametrize("opt", ["-O2", "-Os"])
@pytest.mark.parametrize("board_name", ["m7", "m33"])
@pytest.mark.parametrize("case", [DW3_CASES[1], DW3_CASES[6], DW3_CASES[8], DW3_CASES[10], DW3_CASES[13],
                                  DW3_CASES[14], DW3_CASES[17], DW3_CASES[21]])
def test_dsp_dw3_plane_kernel_on_the_other_dsp_cores(case, board_name: str, opt: str, tmp_path: Path) -> None:
    """The plane kernel's asm (-O2) and C (-Os) forms on the M7 and M33."""
    shape, stride, padding, act = case
    path = _dw3_model(tmp_path, shape, stride, padding, act)
    run = run_model(path, load_board(board_name), _vectors(path, 2, seed=shape[2]), target="board", opt=opt)
    assert run.bitexact == 1.0
    assert "hil_opt_dwp3_s8(" in (Path(run.firmware.model_dir) / "model.c").read_text()


@pytest.mark.parametrize("tiny, rq30", [(False, 2), (True, 0)])
def test_dsp_dw3_plane_kernel_requantization_forms(tiny: bool, rq30: int, tmp_path: Path) -> None:
    """The plane kernel's 4-instruction requantization (rq30 == 2: doubled weights and bias) and,
    when a channel's right shift is too large for its rounding addend, the 6-instruction one."""
    path = _dw3_model(tmp_path, (9, 10, 6), 1, 0, 0, tiny=tiny)
    run = run_model(path, load_board("m4"), _vectors(path, 3, seed=11), target="cortex-m4:size")
    assert run.bitexact == 1.0
    text = (Path(run.firmware.model_dir) / "model.c").read_text()
    assert "hil_opt_dwp3_s8(" in text and f".rq30 = {rq30}" in text


def test_dsp_dw3_left_shift_channels_take_another_kernel(tmp_path: Path) -> None:
    """Channels whose multiplier exceeds 1 (a left shift) are not the plane kernel's: the layer
    falls back to the general DSP depthwise, still bit-exact."""
    path = _dw3_model(tmp_path, (8, 8, 8), 1, 0, 2, max_exp=-12.0)  # two channels << 3 and more
    run = run_model(path, load_board("m4"), _vectors(path, 2, seed=9), target="cortex-m4:size")
    assert run.bitexact == 1.0
    text = (Path(run.firmware.model_dir) / "model.c").read_text()
    assert "hil_opt_dwp3_s8(" not in text and re.search(r"hil_opt_dw(r8_s8|_dsp8)\(", text)


@pytest.mark.parametrize("opt", ["-O2", "-Os"])
@pytest.mark.parametrize("board_name", ["m4", "m7", "m33"])
@pytest.mark.parametrize("builder", ["conv_chain", "dw_chain", "dense_chain", "ds_cnn", "inplace_chain", "odd_shapes"])
def test_int16x8_models_bitexact_on_the_core(builder: str, board_name: str, opt: str) -> None:
    """The DSP cores' int16x8 kernels (kernels/opt_dsp_s16.h: 32-bit SMLAD sums proven exact at
    generation time, the high-word requantization) against TFLM's 64-bit reference kernels."""
    path = cg_models.model_path(builder, "int16x8")
    run = run_model(path, load_board(board_name), _vectors(path, 2, seed=6), target="board", opt=opt)
    assert run.bitexact == 1.0
    assert re.search(r"hil_s16_(conv|dw)_dsp\(", (Path(run.firmware.model_dir) / "model.c").read_text())


@pytest.mark.parametrize("suite", ["har", "digits"])
def test_int16x8_suite_models_bitexact_on_the_core(suite: str) -> None:
    path = ROOT / f"suites/{suite}/artifacts/int16x8.tflite"
    run = run_model(path, load_board("m4"), _vectors(path, 3), target="board")
    assert run.bitexact == 1.0


@pytest.mark.parametrize("builder, quant", [("conv_chain", "int8"), ("dw_chain", "int8_pt"), ("dense_3d", "int8"),
                                            ("odd_shapes", "int8_pt"), ("ds_cnn", "int8_pt")])
def test_v7m_kernels_at_Os_on_the_m3(builder: str, quant: str) -> None:
    """The Cortex-M3 kernels (kernels/opt_v7m.h) out of line and rolled (-Os), every path."""
    path = cg_models.model_path(builder, quant)
    run = run_model(path, load_board("m3"), _vectors(path, 2, seed=7), target="board", opt="-Os")
    assert run.bitexact == 1.0
    assert re.search(r"hil_opt_(conv|dw)_v7m\(", (Path(run.firmware.model_dir) / "model.c").read_text())


def _mbqm64(acc: np.ndarray, mult: int, shift: int) -> np.ndarray:
    """TFLM's MultiplyByQuantizedMultiplier(int64, ...) (hil_mbqm64), in Python integers."""
    reduced = (mult + (1 << 15)) >> 16 if mult < 0x7FFF0000 else 0x7FFF
    ts = 15 - shift
    return np.array([(int(a) * reduced + (1 << (ts - 1))) >> ts for a in acc], dtype=object)


def test_int16x8_requantization_equals_tflm() -> None:
    """optimized_s16's per-channel (m, e) and the kernel's high-word form (mirrored by s16_eval)
    against TFLM's 64-bit rounding, over shifts -2..-31 (e > 0 from -19 on), multipliers at both
    ends of their range and accumulators up to the 32-bit bound; shifts > -2 are refused."""
    from harness.codegen.optimized_s16 import s16_eval, s16_requant

    rng = np.random.default_rng(18)
    accs = np.concatenate([[0, 1, -1, 2**31 - 1, -(2**31), 2**20, -(2**20) - 1],
                           rng.integers(-(2**31), 2**31, 400)])
    for shift in range(-31, -1):
        for mult in (1 << 30, (1 << 31) - 1, 0x7FFF0000, 0x7FFEFFFF, int(rng.integers(1 << 30, 1 << 31))):
            rq = s16_requant(np.array([mult]), np.array([shift]), 1)
            assert rq is not None
            m, e = int(rq[0][0]), int(rq[1][0])
            got = s16_eval(accs, m, e)
            assert list(got) == list(_mbqm64(accs, mult, shift)), (shift, mult)
    assert s16_requant(np.array([1 << 30]), np.array([-1]), 1) is None
    assert s16_requant(np.array([1 << 30]), np.array([3]), 1) is None


S16_RQ_MODEL_C = r"""
#include <stdint.h>
#include <string.h>
#include "model.h"
#include "hil_fixedpoint.h"
#include "opt_dsp_s16.h"
void hil_model_reset(void) {}
int hil_model_invoke(const void *in, void *out)
{
    uint32_t s, n, bad = 0;
    memcpy(&s, in, 4);
    memcpy(&n, (const uint8_t *)in + 4, 4);
    hil_opt_conv_t p;
    memset(&p, 0, sizeof p);
    for (uint32_t i = 0; i < n; ++i) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        int32_t acc = (int32_t)s;
        if (i & 1) acc >>= (s >> 27);
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        const int32_t mult = (int32_t)(0x40000000u | (s >> 2));
        const int32_t shift = -2 - (int32_t)(i % 30);
        /* the generator's (m, e), optimized_s16.s16_requant */
        const int32_t red = mult < 0x7FFF0000 ? ((mult + (1 << 15)) >> 16) : 0x7FFF;
        const int32_t sh = 14 - shift;
        const int32_t m = sh <= 32 ? red << (32 - sh) : red, e = sh > 32 ? sh - 32 : 0;
        const int32_t want = hil_mbqm64(acc, mult, shift);
        p.act_min = -32768; p.act_max = 32767; /* the SSAT path */
        if (hil_s16_out(&p, acc, m, e) != (want < -32768 ? -32768 : want > 32767 ? 32767 : want)) ++bad;
        p.act_min = -100; p.act_max = 30000; /* the compare path */
        if (hil_s16_out(&p, acc, m, e) != (want < -100 ? -100 : want > 30000 ? 30000 : want)) ++bad;
    }
    memcpy(out, &bad, 4);
    memcpy((uint8_t *)out + 4, &n, 4);
    return 0;
}
"""


@pytest.mark.parametrize("board_name", ["m4", "m33"])
def test_int16x8_requantization_on_the_core_equals_tflm(board_name: str, tmp_path: Path) -> None:
    """hil_s16_out (SMULL high word, SSAT) against hil_mbqm64 on the core, seeded streams."""
    from harness.codegen.optimized import _kernels
    from harness.codegen.optimized_s16 import HEADER

    _check_firmware_mismatches(board_name, tmp_path, {"hil_fixedpoint.h", *_kernels("dsp"), HEADER}, S16_RQ_MODEL_C,
                               (7, 0x9E3779B9))


@pytest.mark.parametrize("k, n, opt", [(8, 3, "-O2"), (13, 7, "-O2"), (16, 5, "-O2"), (8, 3, "-Os")])
def test_batch1_fc_with_any_channel_count_on_the_core(k: int, n: int, opt: str, tmp_path: Path) -> None:
    """The int8-weight FC with batch 1 (hil_mm8_row: two channel pairs a step) for out_c % 4 == 1, 2
    or 3: its tail must cover every remaining pair (out_c = 3 once left channel 2 unwritten: a 3-class
    MLP head, as in examples/wine)."""
    from cg_models import single_op

    rng = np.random.default_rng(k * 10 + n)
    raw = single_op(
        "FULLY_CONNECTED",
        [{"shape": [1, k], "dtype": "int8", "scale": 0.03, "zero_point": -10},
         {"shape": [n, k], "dtype": "int8", "scale": 0.02, "zero_point": 0,
          "data": rng.integers(-127, 128, (n, k)).astype(np.int8)},
         {"shape": [n], "dtype": "int32", "scale": 0.0006, "zero_point": 0,
          "data": rng.integers(-3000, 3000, n).astype(np.int32)}],
        [{"shape": [1, n], "dtype": "int8", "scale": 0.05, "zero_point": 3}],
        {"fusedActivationFunction": 0}, "FullyConnectedOptions")
    path = tmp_path / "fc.tflite"
    path.write_bytes(raw)
    run = run_model(path, load_board("m4"), _vectors(path, 4, seed=n), target="board", opt=opt)
    assert run.bitexact == 1.0
    assert "hil_opt_conv_dsp8(" in (Path(run.firmware.model_dir) / "model.c").read_text()
