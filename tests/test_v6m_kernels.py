"""The Cortex-M0/M0+ (v6-M) kernels' own contracts, beyond the model-level bit-exact tests:

- the split-multiplier requantization the generator emits (three 11-bit or four 8-bit pieces of
  the multiplier, 32-bit partial products) equals TFLM's double-rounding
  MultiplyByQuantizedMultiplier plus the output offset for every accumulator within the
  generator's bound, and is refused where its 32-bit sums could overflow;
- on QEMU (m0plus), the kernels compute the same bytes as a numpy model of the layer for the
  geometries the planner will use: depthwise and im2col convolutions called once per output row
  (out_h = 1, in_h = 1..3 rows, pad_h adjusted), the depthwise one at -O2 writing each output row
  over its own first input row (in place), and the direct 1x1 convolution with `out == in`.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from harness.codegen.fixedpoint import multiply_by_quantized_multiplier as mbqm
from harness.codegen.optimized_v6m import V6M_RQ3_HEADER, V6M_RQ_WORDS, v6m_matrix, v6m_matrix8, v6m_rq_eval, v6m_rq_table

V6M_HEADERS = ("hil_fixedpoint.h", "hil_simd.h", "opt_common.h", "opt_v6m.h", "opt_v6m_rq.h", "opt_v6m_rows.h",
               "opt_v6m_dw.h")


def _ref_rq(acc: np.ndarray, m: int, shift: int, off: int) -> np.ndarray:
    return np.array([mbqm(int(a), m, shift) + off for a in acc], np.int64)


@pytest.mark.parametrize("pieces", [3, 4])
def test_split_requantization_equals_tflm_within_the_bound(pieces: int) -> None:
    rng = np.random.default_rng(8)
    checked = 0
    for trial in range(400):
        m = int(rng.integers(1 << 30, 1 << 31)) if trial % 5 else int(rng.integers(0, 1 << 31))
        rs = int(rng.integers(2, 15))
        off = int(rng.integers(-128, 128))
        bound = int(rng.integers(1, 1 << (19 if trial % 2 or pieces == 3 else 23)))
        tab = v6m_rq_table(np.array([m]), np.array([-rs]), off, np.array([bound]), pieces=pieces)
        if tab is None:
            continue
        row = tab[:V6M_RQ_WORDS]
        acc = np.concatenate([rng.integers(-bound, bound + 1, 300), [0, 1, -1, bound, -bound]])
        # the accumulators next to the output steps, where a rounding slip would show
        step = (1 << (31 + rs)) / max(m, 1)
        for j in rng.integers(-150, 150, 20):
            c = int((int(j) + 0.5) * step)
            acc = np.concatenate([acc, np.arange(c - 2, c + 3), -np.arange(c - 2, c + 3)])
        acc = acc[np.abs(acc) <= bound]
        assert (v6m_rq_eval(acc, row, pieces) == _ref_rq(acc, m, -rs, off)).all(), (m, rs, off, bound)
        checked += 1
    assert checked > 350


def test_split_requantization_is_refused_where_it_could_overflow() -> None:
    m = np.array([1 << 30])
    assert v6m_rq_table(m, np.array([-8]), 0, np.array([1 << 23])) is None  # |acc| * 2^8 too large
    assert v6m_rq_table(m, np.array([-8]), 0, np.array([1 << 20]), pieces=3) is None  # |acc| * 2^11
    assert v6m_rq_table(m, np.array([-8]), 0, np.array([1 << 20]), pieces=4) is not None
    assert v6m_rq_table(m, np.array([1]), 0, np.array([100])) is None  # a left shift
    assert v6m_rq_table(m, np.array([-1]), 0, np.array([100])) is None  # right shift < 2
    t = v6m_rq_table(np.array([1 << 30, 3 << 29, 5]), np.array([-8, -9, -2]), -5, np.array([100, 7, 1 << 19]))
    assert t is not None and t.dtype == np.int32 and t.size == 4 * V6M_RQ_WORDS  # padded to an even count


# ---------------------------------------------------------------- kernels on the M0+ (QEMU)

MODEL_H = """#ifndef HIL_V6M_MODEL_H
#define HIL_V6M_MODEL_H
#define HIL_MODEL_NAME "v6mcheck"
#define HIL_MODEL_HASH "v6mcheck-v1"
#define HIL_MODEL_INPUT_BYTES 4
#define HIL_MODEL_OUTPUT_BYTES 12
#define HIL_MODEL_ARENA_BYTES 4
#define HIL_MODEL_NUM_LAYERS 1
int hil_model_invoke(const void *in, void *out);
void hil_model_reset(void);
#endif
"""


def _c_array(ctype: str, name: str, a: np.ndarray) -> str:
    return f"static const {ctype} {name}[] = {{{', '.join(str(int(v)) for v in np.asarray(a).reshape(-1))}}};\n"


def _params(**f: int) -> str:
    fields = ("rows k kp out_c direct batches in_h in_w in_c out_h out_w k_h k_w stride_h stride_w dil_h dil_w "
              "pad_h pad_w in_zp out_off act_min act_max has_lshift has_rshift0 rs2").split()
    return "{" + ", ".join(str(int(f.get(k, 0))) for k in fields) + "}"


def _requant(rng: np.random.Generator, n: int, bound: np.ndarray, off: int, b: np.ndarray, pieces: int):
    mult = rng.integers(1 << 30, 1 << 31, n)
    shift = -rng.integers(7, 11, n)
    return mult, shift, v6m_rq_table(mult, shift, off, bound, b, pieces)


def _out(acc: np.ndarray, mult, shift, off: int, lo: int, hi: int) -> np.ndarray:
    """acc [..., n] -> int8 outputs, TFLM's requantization per channel."""
    flat = acc.reshape(-1, acc.shape[-1])
    res = np.array([[mbqm(int(a), int(mult[c]), int(shift[c])) + off for c, a in enumerate(row)] for row in flat])
    return np.clip(res, lo, hi).reshape(acc.shape).astype(np.int8)


def _dw_case(rng: np.random.Generator, H: int, W: int, C: int, lo: int, pieces: int):
    zp, off, hi = int(rng.integers(-20, 20)), int(rng.integers(-10, 10)), 127
    x = rng.integers(-128, 128, (H, W, C))
    w = rng.integers(-127, 128, (3, 3, C))
    beff = rng.integers(-3000, 3000, C)
    xp = np.full((H + 2, W + 2, C), zp)
    xp[1:-1, 1:-1] = x
    acc = beff + sum(xp[ky:ky + H, kx:kx + W] * w[ky, kx] for ky in range(3) for kx in range(3))
    taps = w.reshape(9, C)
    bound = np.abs(beff) + 128 * np.abs(taps).sum(0)
    # the plane path (out_w <= 12) starts from bias_eff - 128 * sum(w), the channel pairs from bias_eff
    mult, shift, tab = _requant(rng, C, bound, off, beff - 128 * taps.sum(0) if W <= 12 else beff, pieces)
    ref = _out(acc, mult, shift, off, lo, hi)
    return dict(H=H, W=W, C=C, zp=zp, off=off, lo=lo, hi=hi, x=x, w=w, beff=beff, mult=mult, shift=shift, tab=tab,
                ref=ref)


def _dw_c(i: int, d: dict, in_place: bool) -> str:
    """Case i: the whole layer into a separate buffer, then row by row, each output row over its
    first input row when the v6-M plane path takes it (out_w <= 12, -O2 and -Os; the tap-table path
    reads neighbouring pixels after writing, so it gets a separate buffer)."""
    H, W, C = d["H"], d["W"], d["C"]
    in_place = in_place and W <= 12
    rsh = -d["shift"] - 2
    common = dict(batches=1, in_w=W, in_c=C, out_w=W, out_c=C, k_h=3, k_w=3, stride_h=1, stride_w=1, dil_h=1,
                  dil_w=1, pad_w=1, in_zp=d["zp"], out_off=d["off"], act_min=d["lo"], act_max=d["hi"], rs2=1)
    src = (_c_array("int8_t", f"dx{i}", d["x"]) + _c_array("int8_t", f"dw8_{i}", d["w"])
           + _c_array("int8_t", f"dw9_{i}", d["w"].reshape(9, C).T) + _c_array("int32_t", f"db{i}", d["beff"])
           + _c_array("int32_t", f"dm{i}", d["mult"]) + _c_array("int32_t", f"dr{i}", rsh)
           + _c_array("int32_t", f"dt{i}", d["tab"]) + _c_array("int8_t", f"dref{i}", d["ref"]))
    row = W * C
    dst = f"buf + {row} * oy" if in_place else f"sep + {row} * oy"
    check = "buf" if in_place else "sep"
    src += f"""
static uint32_t dw_case{i}(void)
{{
    static int8_t buf[{(H + 1) * row}], sep[{H * row}];
    uint32_t bad = 0;
    const hil_opt_conv_t full = {_params(**common, in_h=H, out_h=H, pad_h=1)};
    hil_opt_dw_v6m(&full, dx{i}, NOW8, (const int16_t *)(const void *)dw9_{i}, NOB, dm{i}, dr{i}, dt{i},
                  scratch, buf);
    for (int j = 0; j < {H * row}; ++j) bad += buf[j] != dref{i}[j];
    memcpy(buf + {row}, dx{i}, {H * row});
    for (int oy = 0; oy < {H}; ++oy) {{ /* output row oy over input row oy - 1 (buf row oy) */
        const int first = oy > 0 ? oy - 1 : 0, last = oy + 1 < {H} ? oy + 1 : {H - 1};
        hil_opt_conv_t p = full;
        p.out_h = 1;
        p.in_h = last - first + 1;
        p.pad_h = oy > 0 ? 0 : 1;
        hil_opt_dw_v6m(&p, buf + {row} * (first + 1), NOW8, (const int16_t *)(const void *)dw9_{i}, NOB, dm{i},
                      dr{i}, dt{i}, scratch, {dst});
    }}
    for (int j = 0; j < {H * row}; ++j) bad += {check}[j] != dref{i}[j];
    return bad;
}}
"""
    return src


def _conv_case(rng: np.random.Generator, H: int, W: int, Ci: int, n: int, kh: int, pieces: int):
    """kh x kh conv, stride 1, SAME, n output channels (n % 8 == 0: the 8-channel path, else the
    2x2 blocks, biases from the split table)."""
    zp, off, lo, hi = int(rng.integers(-20, 20)), int(rng.integers(-10, 10)), -128, 127
    pad = kh // 2
    x = rng.integers(-128, 128, (H, W, Ci))
    w = rng.integers(-127, 128, (n, kh, kh, Ci))
    beff = rng.integers(-3000, 3000, n)
    xp = np.full((H + 2 * pad, W + 2 * pad, Ci), zp)
    xp[pad:pad + H, pad:pad + W] = x
    acc = np.zeros((H, W, n), np.int64) + beff
    for ky in range(kh):
        for kx in range(kh):
            acc += np.einsum("hwc,nc->hwn", xp[ky:ky + H, kx:kx + W], w[:, ky, kx, :])
    w2 = w.reshape(n, -1)
    bound = np.abs(beff) + 128 * np.abs(w2).sum(1)
    mult, shift, tab = _requant(rng, n, bound, off, beff, pieces)
    assert tab is not None, "every conv case runs with the split table"
    return dict(H=H, W=W, Ci=Ci, n=n, kh=kh, zp=zp, off=off, lo=lo, hi=hi, x=x, w2=w2, beff=beff, mult=mult,
                shift=shift, tab=tab, ref=_out(acc, mult, shift, off, lo, hi))


def _conv_c(i: int, d: dict) -> str:
    """1x1: the whole layer with out == in. kh x kh: row by row into a separate buffer."""
    H, W, Ci, n, kh = d["H"], d["W"], d["Ci"], d["n"], d["kh"]
    k = kh * kh * Ci
    kp = -(-k // 4) * 4
    pad = kh // 2
    rsh = -d["shift"] - 2
    common = dict(k=k, kp=kp, out_c=n, batches=1, in_w=W, in_c=Ci, out_w=W, k_h=kh, k_w=kh, stride_h=1,
                  stride_w=1, dil_h=1, dil_w=1, pad_w=pad, in_zp=d["zp"], out_off=d["off"], act_min=d["lo"],
                  act_max=d["hi"], rs2=1)
    src = (_c_array("int8_t", f"cx{i}", d["x"]) + _c_array("uint8_t", f"cw{i}", (v6m_matrix8 if n % 8 == 0 else v6m_matrix)(d["w2"]))
           + _c_array("int32_t", f"cb{i}", d["beff"]) + _c_array("int32_t", f"cm{i}", d["mult"])
           + _c_array("int32_t", f"cr{i}", rsh) + _c_array("int32_t", f"ct{i}", d["tab"])
           + _c_array("int8_t", f"cref{i}", d["ref"]))
    size = H * W * max(Ci, n)
    if kh == 1:
        body = f"""    const hil_opt_conv_t p = {_params(**common, rows=H * W, direct=1, in_h=H, out_h=H)};
    memcpy(buf, cx{i}, {H * W * Ci});
    hil_opt_conv_v6m(&p, buf, cw{i}, cb{i}, cm{i}, cr{i}, ct{i}, scratch, buf);
"""
    else:
        body = f"""    const int8_t *in = cx{i};
    for (int oy = 0; oy < {H}; ++oy) {{
        const int first = oy - {pad} > 0 ? oy - {pad} : 0;
        const int last = oy + {pad} < {H - 1} ? oy + {pad} : {H - 1};
        hil_opt_conv_t p = {_params(**common, rows=W, in_h=1, out_h=1)};
        p.in_h = last - first + 1;
        p.pad_h = {pad} - (oy - first);
        hil_opt_conv_v6m(&p, in + {W * Ci} * first, cw{i}, cb{i}, cm{i}, cr{i}, ct{i}, scratch, buf + {W * n} * oy);
    }}
"""
    return src + f"""
static uint32_t conv_case{i}(void)
{{
    static int8_t buf[{size}];
    uint32_t bad = 0;
{body}    for (int j = 0; j < {H * W * n}; ++j) bad += buf[j] != cref{i}[j];
    return bad;
}}
"""


def _firmware_source(seed: int, in_place: bool, pieces: int) -> tuple[str, int]:
    rng = np.random.default_rng(seed)
    q = pieces
    dws = [_dw_case(rng, 5, 7, 6, -128, q), _dw_case(rng, 4, 12, 3, int(rng.integers(-10, 10)), q),
           _dw_case(rng, 3, 1, 4, -128, q), _dw_case(rng, 6, 14, 2, -128, q)]  # odd/even/1 columns; 14: pairs
    # 3x3x64 (4 pieces): |acc| up to ~2^22; 6 channels: the 2x2 blocks with the table
    convs = [_conv_case(rng, 5, 3, 16, 16, 1, q), _conv_case(rng, 4, 5, 3, 8, 3, q),
             _conv_case(rng, 3, 3, 5, 16, 3, q), _conv_case(rng, 3, 3, 64 if q == 4 else 8, 8, 3, q),
             _conv_case(rng, 3, 4, 5, 6, 3, q)]
    scratch = max(max(14 * ((d["H"] + 5) & ~3) for d in dws) // 4 + 11 + 9,
                  max(((-(-d["kh"] ** 2 * d["Ci"] // 4) * 4) * 9 // 4) for d in convs) + 64)
    # with the split table the depthwise paths read neither bias_eff nor the 1HWC filter (the generator
    # emits neither): null pointers here
    src = ((f'#include "{V6M_RQ3_HEADER}"\n' if pieces == 3 else "")
           + '#include <stdint.h>\n#include <string.h>\n#include "model.h"\n#include "opt_v6m.h"\n'
           "#define NOB ((const int32_t *)0)\n#define NOW8 ((const int8_t *)0)\n"
           f"static int32_t scratch[{scratch}];\nvoid hil_model_reset(void) {{}}\n")
    src += "".join(_dw_c(i, d, in_place) for i, d in enumerate(dws)) + "".join(_conv_c(i, d) for i, d in enumerate(convs))
    total = sum(d["ref"].size for d in dws) * 2 + sum(d["ref"].size for d in convs)
    src += ("int hil_model_invoke(const void *in, void *out)\n{\n    (void)in;\n    uint32_t r[3] = {0, 0, 0};\n"
            + "".join(f"    r[0] += dw_case{i}();\n" for i in range(len(dws)))
            + "".join(f"    r[1] += conv_case{i}();\n" for i in range(len(convs)))
            + f"    r[2] = {total};\n    memcpy(out, r, 12);\n    return 0;\n}}\n")
    return src, total


@pytest.mark.parametrize("pieces", [3, 4])
@pytest.mark.parametrize("opt", ["-O2", "-Os"])
def test_v6m_kernels_row_calls_and_in_place_on_m0plus(opt: str, pieces: int, tmp_path: Path) -> None:
    from harness.boards import load_board
    from harness.codegen.emitter import KERNEL_DIR
    from harness.device import open_device
    from harness.firmware.build import build_firmware

    for name in (*V6M_HEADERS, V6M_RQ3_HEADER):
        (tmp_path / name).write_text((KERNEL_DIR / name).read_text())
    src, total = _firmware_source(seed=8, in_place=True, pieces=pieces)  # the plane path runs in place at -O2 and -Os
    (tmp_path / "model.h").write_text(MODEL_H)
    (tmp_path / "model.c").write_text(src)
    board = load_board("m0plus")
    fw = build_firmware(board, tmp_path, opt=opt)
    with open_device(board, fw.elf, timeout=60) as dev:
        out, _ = dev.invoke(b"\0" * 4)
    bad_dw, bad_conv, n = struct.unpack("<III", out)
    assert n == total and (bad_dw, bad_conv) == (0, 0)


def test_asm_offsets_are_checked_at_compile_time(tmp_path: Path) -> None:
    """The hand-written v6-M functions read their argument blocks at literal offsets: moving a field
    must fail the build (the _Static_assert beside the struct), not corrupt the run."""
    import subprocess

    from harness.codegen.emitter import KERNEL_DIR

    for name in V6M_HEADERS:
        (tmp_path / name).write_text((KERNEL_DIR / name).read_text())
    (tmp_path / "t.c").write_text('#include "opt_v6m.h"\nint hil_t;\n')
    cmd = ["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
           "-c", "t.c", "-o", "t.o"]
    assert subprocess.run(cmd, cwd=tmp_path, capture_output=True, check=False).returncode == 0
    header = (tmp_path / "opt_v6m.h").read_text()
    moved = header.replace("    int32_t lo, hi;     /* 28, 32: activation bounds */",
                           "    int32_t pad, lo, hi; /* a field inserted before lo */")
    assert moved != header
    (tmp_path / "opt_v6m.h").write_text(moved)
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert r.returncode != 0 and "hil_v6m_g8_t.lo is read at offset 28 by the assembly" in r.stderr
