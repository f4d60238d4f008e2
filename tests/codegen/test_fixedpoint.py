"""Fixed-point building blocks: TFLM's multiplier quantization, and the C helpers agreeing with
their Python definitions on random and extreme values."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from harness_utils import cc

from harness.codegen import fixedpoint as fp
from harness.codegen.emitter import KERNEL_DIR


@pytest.mark.parametrize(
    "real, expected",
    [
        (0.0, (0, 0)),
        (0.5, (1 << 30, 0)),
        (1.0, (1 << 30, 1)),
        (0.75, (3 << 29, 0)),
        (0.1, (1717986918, -3)),
        (1 - 2.0**-40, (1 << 30, 1)),  # rounding carries to 2^31: folded into the shift
        (2.0**-40, (0, 0)),  # below 2^-31 flushes to zero
        (-0.5, (-(1 << 30), 0)),
    ],
)
def test_quantize_multiplier(real, expected):
    assert fp.quantize_multiplier(real) == expected


def test_quantize_multiplier_reconstructs_value():
    rng = np.random.default_rng(1)
    for real in rng.uniform(1e-6, 4.0, 500):
        m, s = fp.quantize_multiplier(real)
        assert (1 << 30) <= m < (1 << 31)
        assert abs(m * 2.0 ** (s - 31) - real) <= real * 2.0**-30


def test_activation_ranges():
    assert fp.activation_range(fp.ACT_NONE, "int8", 0.1, 3) == (-128, 127)
    assert fp.activation_range(fp.ACT_RELU, "int8", 0.1, -5) == (-5, 127)
    assert fp.activation_range(fp.ACT_RELU6, "int8", 0.05, -128) == (-128, -8)
    assert fp.activation_range(fp.ACT_RELU6, "int16", 0.001, 0) == (0, 6000)
    assert fp.activation_range(fp.ACT_RELU_N1_TO_1, "int8", 0.01, 0) == (-100, 100)


def test_rounding_helpers_python():
    assert fp.rounding_divide_by_pot(5, 1) == 3 and fp.rounding_divide_by_pot(-5, 1) == -3
    assert fp.rounding_divide_by_pot(4, 1) == 2 and fp.rounding_divide_by_pot(-7, 2) == -2
    assert fp.srdhm(-(2**31), -(2**31)) == 2**31 - 1
    assert fp.srdhm(1 << 30, 1 << 30) == 1 << 29
    assert fp.round_half_away(2.5) == 3 and fp.round_half_away(-2.5) == -3


def test_c_helpers_match_python_definitions(tmp_path):
    """hil_srdhm / hil_rdbpot / hil_mbqm / hil_mbqm64 in C against the Python mirrors."""
    rng = np.random.default_rng(3)
    i32 = np.iinfo(np.int32)
    a = np.concatenate([rng.integers(i32.min, i32.max, 400, endpoint=True),
                        [i32.min, i32.max, 0, -1, 1, i32.min, 1 << 30]]).astype(np.int64)
    b = np.concatenate([rng.integers(i32.min, i32.max, 400, endpoint=True),
                        [i32.min, i32.max, 0, -1, 1, i32.min + 1, 1 << 30]]).astype(np.int64)
    e = rng.integers(0, 31, a.size)
    acc = rng.integers(-(1 << 24), 1 << 24, a.size)
    mult = rng.integers(1 << 30, i32.max, a.size, endpoint=True)
    shift = rng.integers(-20, 8, a.size)
    acc64 = rng.integers(-(1 << 36), 1 << 36, a.size)
    shift64 = rng.integers(-20, -5, a.size)  # |result| < 2^31, the range TFLM asserts
    rows = "\n".join(f"{{{x}LL, {y}LL, {z}, {c}, {m}, {s}, {q}LL, {t}}}," for x, y, z, c, m, s, q, t
                     in zip(a, b, e, acc, mult, shift, acc64, shift64))
    src = tmp_path / "t.c"
    src.write_text(f"""
#include <stdio.h>
#include "hil_fixedpoint.h"
static const struct {{ long long a, b; int e; int acc; int m; int s; long long acc64; int s64; }} v[] = {{
{rows}
}};
int main(void) {{
  for (unsigned i = 0; i < sizeof v / sizeof v[0]; ++i)
    printf("%d %d %d %d\\n", hil_srdhm((int32_t)v[i].a, (int32_t)v[i].b), hil_rdbpot((int32_t)v[i].a, v[i].e),
           hil_mbqm(v[i].acc, v[i].m, v[i].s), hil_mbqm64(v[i].acc64, v[i].m, v[i].s64));
  return 0;
}}
""")
    exe = tmp_path / "t"
    subprocess.run([cc(), "-O2", "-Wall", "-Wextra", "-Werror", "-I", str(KERNEL_DIR), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split("\n")
    for k in range(a.size):
        got = tuple(int(t) for t in out[k].split())
        m16 = fp.reduced_multiplier(int(mult[k]))
        ts = 15 - int(shift64[k])
        want = (fp.srdhm(int(a[k]), int(b[k])), fp.rounding_divide_by_pot(int(a[k]), int(e[k])),
                fp.multiply_by_quantized_multiplier(int(acc[k]), int(mult[k]), int(shift[k])),
                (int(acc64[k]) * m16 + (1 << (ts - 1))) >> ts)
        assert got == want, f"row {k}: a={a[k]} b={b[k]} e={e[k]}"
