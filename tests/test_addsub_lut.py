"""The table ADD/SUB (arith_addsub_lut_s8.c) against the portable hil_add_s8 / hil_sub_s8 (bit-exact
with TFLM, tests/codegen) on the real instruction sets: every int8 input pair of many parameter
sets, including the clamps of fused activations (which converted models rarely produce, since an
activation's range usually is the output's whole range) and output shifts that leave the
single-rounding paths (v6-M's high word, v7-M's SMLAL) for the generic requantization."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from harness.codegen.fixedpoint import ACT_NONE, ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1
from harness.codegen.ops.arith import addsub_params

KERNELS = ("arith.h", "hil_fixedpoint.h", "hil_simd.h", "opt_common.h", "arith_addsub_s8.c", "arith_addsub_lut_s8.c")
MODEL_H = """#ifndef HIL_LUT_MODEL_H
#define HIL_LUT_MODEL_H
#define HIL_MODEL_NAME "lutcheck"
#define HIL_MODEL_HASH "lutcheck-v1"
#define HIL_MODEL_INPUT_BYTES 4
#define HIL_MODEL_OUTPUT_BYTES 12
#define HIL_MODEL_ARENA_BYTES 4
#define HIL_MODEL_NUM_LAYERS 1
int hil_model_invoke(const void *in, void *out);
void hil_model_reset(void);
#endif
"""


def _cases() -> list[tuple[str, list[int]]]:
    """(op, hil_addsub_params_t fields) from TFLM's own parameter computation."""
    rng = np.random.default_rng(11)
    cases = []
    for i in range(12):
        s1, s2 = (float(v) for v in rng.uniform(0.005, 0.2, 2))
        so = float(rng.uniform(0.6, 2.5)) * max(s1, s2)
        zps = [int(v) for v in rng.integers(-128, 128, 3)]
        act = (ACT_NONE, ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1)[i % 4]
        cases.append(("ADD" if i % 3 else "SUB", addsub_params("ADD" if i % 3 else "SUB", s1, zps[0], s2, zps[1], so,
                                                                zps[2], "int8", act)))
    # an output scale tiny against the inputs': out_shift > -2, the generic requantization
    cases.append(("ADD", addsub_params("ADD", 0.05, 3, 0.04, -7, 0.05 / 300_000, 0, "int8", ACT_NONE)))
    return cases


def _source(cases: list[tuple[str, list[int]]]) -> str:
    lines = ['#include <stdint.h>\n#include <string.h>\n#include "model.h"\n#include "arith.h"\n#define N 2048\n',
             "static int8_t in1[N], in2[N], want[N], got[N];\n",
             "static int32_t tables[512];\nvoid hil_model_reset(void) {}\n",
             "int hil_model_invoke(const void *in, void *out)\n{\n    (void)in;\n    uint32_t r[3] = {0, 0, 0};\n",
             "    for (int32_t i = 0; i < N; ++i) { /* 8 blocks x 32 rotations: all 65,536 pairs */\n",
             "        in1[i] = (int8_t)(i & 0xFF);\n        in2[i] = (int8_t)((i >> 8) * 32 + (i & 31));\n    }\n"]
    for k, (op, p) in enumerate(cases):
        sub = int(op == "SUB")
        lines.append(f"    {{ static const hil_addsub_params_t p{k} = {{{', '.join(str(v) for v in p)}}};\n")
        lines.append("        for (int32_t rot = 0; rot < 32; ++rot) {\n")
        lines.append("            for (int32_t i = 0; i < N; ++i) in2[i] = (int8_t)(in2[i] + 1);\n")
        lines.append(f"            hil_{op.lower()}_s8(&p{k}, NULL, in1, in2, want, N);\n")
        lines.append(f"            hil_addsub_lut_s8(&p{k}, in1, in2, got, N, {sub}, tables);\n")
        lines.append("            for (int32_t i = 0; i < N; ++i) r[0] += want[i] != got[i];\n")
        lines.append("            r[1] += N;\n        }\n    }\n")
    lines.append(f"    r[2] = {len(cases)};\n    memcpy(out, r, 12);\n    return 0;\n}}\n")
    return "".join(lines)


def test_cases_reach_every_path() -> None:
    """The parameter sets cover clamped and full-range outputs and both requantization paths."""
    cases = _cases()
    assert any(p[10] > -128 for _, p in cases) and any(p[11] < 127 for _, p in cases)
    assert any(p[10] == -128 and p[11] == 127 for _, p in cases)
    assert any(p[9] > -2 for _, p in cases) and sum(p[9] <= -2 for _, p in cases) >= 12
    assert {op for op, _ in cases} == {"ADD", "SUB"}


@pytest.mark.parametrize("board_name,opt", [("m4", "-O2"), ("m3", "-Os"), ("m0plus", "-O2"), ("m0plus", "-Os")])
def test_table_addsub_equals_the_portable_kernel_on_the_core(board_name: str, opt: str, tmp_path: Path) -> None:
    from harness.boards import load_board
    from harness.codegen.emitter import KERNEL_DIR
    from harness.device import open_device
    from harness.firmware.build import build_firmware

    for name in KERNELS:
        (tmp_path / name).write_text((KERNEL_DIR / name).read_text())
    cases = _cases()
    (tmp_path / "model.h").write_text(MODEL_H)
    (tmp_path / "model.c").write_text(_source(cases))
    board = load_board(board_name)
    fw = build_firmware(board, tmp_path, opt=opt)
    with open_device(board, fw.elf, timeout=120) as dev:
        out, _ = dev.invoke(b"\0" * 4)
    bad, total, n = struct.unpack("<III", out)
    assert (n, total) == (len(cases), len(cases) * 65536) and bad == 0
