"""Packed 4-/2-bit weights (issue 5): filters on a per-channel b-bit grid are stored as packed
codes in flash and unpacked by the kernels, bit-exact with TFLM running the int8 model.

Covers: grid detection, the committed w4a8/w2a8 suite artifacts and hand-built conv / depthwise /
FC layers (odd sizes, so rows and channels start mid-byte) on the host compiler, the flash the
ELF really spends on weights, -Werror cross-compiles, and one emulated Cortex-M4 run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cg_models import single_op
from harness_utils import APP_C, cc, compare, make_inputs, run_c, run_tflm

from harness.codegen import generate
from harness.codegen.packing import detect_packed
from harness.quant.packing import pack, packed_size

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"
ARTIFACTS = [(s, v) for s in ("har", "digits") for v in ("w4a8", "w2a8")]
BITS = {"w4a8": 4, "w2a8": 2}
CPUS = {
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
}
HAVE_ARM = shutil.which("arm-none-eabi-gcc") is not None
HAVE_QEMU = HAVE_ARM and shutil.which("qemu-system-arm") is not None


def T(shape, dtype, scale=None, zp=0, data=None, qdim=0):
    return {"shape": shape, "dtype": dtype, "scale": scale, "zero_point": zp, "data": data, "quantized_dimension": qdim}


def grid_weights(rng, shape, axis: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights = code * step_c with codes spanning the b-bit range (so gcd(codes) is 1 and the
    detector cannot pick a narrower width) and a different integer step per channel."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    codes = np.moveaxis(rng.integers(lo, hi + 1, shape), axis, 0).copy()
    flat = codes.reshape(codes.shape[0], -1)
    flat[:, 0], flat[:, -1] = lo, hi
    steps = rng.integers(1, 128 // (1 << (bits - 1)) + 1, codes.shape[0])
    w = (flat * steps[:, None]).reshape(codes.shape)
    assert w.min() >= -128 and w.max() <= 127
    return np.moveaxis(w, 0, axis).astype(np.int8), steps


def generated_text(gen: Path) -> str:
    return (gen / "model.c").read_text()


# --- detection -------------------------------------------------------------------------------

def test_detects_grid_width_and_per_channel_steps():
    rng = np.random.default_rng(0)
    for bits in (4, 2):
        w, steps = grid_weights(rng, (5, 3, 3, 3), 0, bits)
        pk = detect_packed(w, 0)
        assert pk is not None and pk.bits == bits
        assert np.array_equal(pk.steps, steps)
        assert np.array_equal(pk.codes.astype(np.int64) * steps[:, None, None, None], w)
        assert bytes(pk.packed) == pack(pk.codes, bits) and len(pk.packed) == packed_size(w.size, bits)
    w, steps = grid_weights(rng, (1, 3, 3, 7), 3, 4)  # depthwise: channels last
    pk = detect_packed(w, 3)
    assert pk.bits == 4 and np.array_equal(pk.steps, steps)


def test_grid_edges_zero_channels_and_ordinary_int8():
    w = np.array([[0, 0, 0], [-128, 0, 64], [18, -126, 126]], np.int8)  # zero row; -2*64; codes -7..7
    pk = detect_packed(w, 0)
    assert pk.bits == 4 and list(pk.steps) == [1, 64, 18]
    assert pk.codes.tolist() == [[0, 0, 0], [-2, 0, 1], [1, -7, 7]]
    assert detect_packed(np.array([[-127, 0, 127]], np.int8), 0).bits == 2
    rng = np.random.default_rng(1)
    assert detect_packed(rng.integers(-128, 128, (8, 3, 3, 4)).astype(np.int8), 0) is None
    assert detect_packed(np.array([[9, -8, 7]], np.int8), 0) is None  # 9 is out of the int4 range


# --- committed suite artifacts, host compiler ----------------------------------------------------

@pytest.mark.parametrize("suite, variant", ARTIFACTS)
def test_artifacts_packed_and_bitexact_with_tflm(suite, variant, tmp_path):
    path = SUITES / suite / "artifacts" / f"{variant}.tflite"
    m = compare(path, tmp_path / "w", n_random=12)
    bits = BITS[variant]
    weighted = [layer for layer in m["layers"] if layer["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    assert weighted and all(layer["weight_bits"] == bits for layer in weighted), m["layers"]
    text = generated_text(tmp_path / "w" / "gen")
    assert "_filter[" not in text  # no int8 copy of any filter
    assert len(re.findall(rf"hil_(?:conv|dwconv|fc)_s8w{bits}\(", text)) == len(weighted)


@pytest.mark.parametrize("variant", ["w4a8", "w2a8"])
def test_no_pack_keeps_int8_filters_and_the_same_outputs(variant, tmp_path):
    path = SUITES / "har" / "artifacts" / f"{variant}.tflite"
    packed = generate(path, tmp_path / "p")
    plain = generate(path, tmp_path / "u", pack_weights=False)
    assert {layer["weight_bits"] for layer in plain.layers if layer["weight_bits"]} == {8}
    assert "_s8w" not in generated_text(plain.out_dir)
    n_filter = sum(int(np.prod(layer_shape)) for layer_shape in _filter_shapes(path))
    saved = plain.weight_bytes - packed.weight_bytes
    assert saved > n_filter * (1 - 1.05 * BITS[variant] / 8) - 8 * len(packed.layers)
    man = json.loads((packed.out_dir / "model.json").read_text())
    records = make_inputs(man, 6, seed=3)
    want = [w[0].tobytes() for w in run_tflm(path, records, 1)]
    for gen in (packed.out_dir, plain.out_dir):
        assert [r[0].tobytes() for r in run_c(_host_build(gen, tmp_path), man, records)] == want, gen.name


def _host_build(gen: Path, work: Path) -> Path:
    (work / "app.c").write_text(APP_C)
    exe = work / f"run-{gen.name}"
    cmd = [cc(), "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(gen), *sorted(map(str, gen.glob("*.c"))),
           str(work / "app.c"), "-o", str(exe), "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[:3000]
    return exe


def _filter_shapes(path: Path) -> list[tuple[int, ...]]:
    from harness.codegen.reader import read_tflite

    g = read_tflite(path)
    return [g.tensor(op.inputs[1]).shape for op in g.ops if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]


# --- hand-built layers ------------------------------------------------------------------------

CONV_CASES = [  # in (h, w, c), out_c, kernel (h, w), stride, dilation, padding (0 SAME, 1 VALID)
    ((7, 6, 3), 5, (3, 3), (1, 1), (1, 1), 0),
    ((9, 8, 5), 3, (3, 2), (2, 1), (1, 1), 1),
    ((8, 9, 3), 7, (2, 3), (1, 2), (2, 2), 0),
    ((1, 21, 7), 9, (1, 5), (1, 2), (1, 1), 1),
]


def _out_size(n, k, s, d, pad):
    eff = (k - 1) * d + 1
    return -(-n // s) if pad == 0 else (n - eff) // s + 1


def _conv_model(rng, case, bits, dw=False, dm=1):
    (ih, iw, ic), oc, (kh, kw), (sh, sw), (dh, dwl), pad = case
    if dw:
        oc = ic * dm
    oh, ow = _out_size(ih, kh, sh, dh, pad), _out_size(iw, kw, sw, dwl, pad)
    wshape, axis = ((1, kh, kw, oc), 3) if dw else ((oc, kh, kw, ic), 0)
    w, _ = grid_weights(rng, wshape, axis, bits)
    ws = rng.uniform(0.002, 0.03, oc).astype(np.float32)
    b = rng.integers(-2000, 2000, oc).astype(np.int32)
    opts = {"padding": pad, "strideW": sw, "strideH": sh, "fusedActivationFunction": int(rng.integers(0, 2)),
            "dilationWFactor": dwl, "dilationHFactor": dh}
    if dw:
        opts["depthMultiplier"] = dm
    return single_op(
        "DEPTHWISE_CONV_2D" if dw else "CONV_2D",
        [T([1, ih, iw, ic], "int8", 0.05, int(rng.integers(-20, 20))),
         T(list(wshape), "int8", ws, np.zeros(oc, np.int64), w, axis),
         T([oc], "int32", ws * np.float32(0.05), np.zeros(oc, np.int64), b)],
        [T([1, oh, ow, oc], "int8", 0.08, int(rng.integers(-10, 10)))],
        opts, "DepthwiseConv2DOptions" if dw else "Conv2DOptions", version=3)


def _check(tmp_path, name, raw, bits, n_random=10):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(raw)
    m = compare(path, tmp_path / name, n_random=n_random)
    assert [layer["weight_bits"] for layer in m["layers"]] == [bits]
    return m


@pytest.mark.parametrize("bits", [4, 2])
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv_layers_bitexact(case, bits, tmp_path):
    rng = np.random.default_rng(100 + case * 7 + bits)
    _check(tmp_path, "conv", _conv_model(rng, CONV_CASES[case], bits), bits)


@pytest.mark.parametrize("bits", [4, 2])
@pytest.mark.parametrize("case, dm", [(0, 1), (1, 2), (2, 1), (3, 3)])
def test_depthwise_layers_bitexact(case, dm, bits, tmp_path):
    rng = np.random.default_rng(200 + case * 7 + bits + dm)
    _check(tmp_path, "dw", _conv_model(rng, CONV_CASES[case], bits, dw=True, dm=dm), bits)


def test_depthwise_more_channels_than_a_block(tmp_path):
    """37 channels: the kernel's 32-channel blocks end mid-byte for both widths."""
    for bits in (4, 2):
        rng = np.random.default_rng(300 + bits)
        _check(tmp_path / f"b{bits}", "dw", _conv_model(rng, ((5, 5, 37), 0, (3, 3), (1, 1), (1, 1), 0), bits, dw=True),
               bits)


@pytest.mark.parametrize("bits", [4, 2])
@pytest.mark.parametrize("batches, depth, units, per_channel", [(1, 13, 7, True), (3, 37, 5, False), (2, 64, 9, True)])
def test_fully_connected_layers_bitexact(batches, depth, units, per_channel, bits, tmp_path):
    rng = np.random.default_rng(400 + depth + bits)
    w, _ = grid_weights(rng, (units, depth), 0, bits)
    ws = rng.uniform(0.005, 0.05, units if per_channel else 1).astype(np.float32)
    b = rng.integers(-3000, 3000, units).astype(np.int32)
    bs = (ws if per_channel else np.full(units, ws[0], np.float32)) * np.float32(0.04)
    raw = single_op(
        "FULLY_CONNECTED",
        [T([batches, depth], "int8", 0.04, int(rng.integers(-30, 30))),
         T([units, depth], "int8", ws, np.zeros(len(ws), np.int64), w),
         T([units], "int32", bs, np.zeros(units, np.int64), b)],
        [T([batches, units], "int8", 0.2, 3)], {"fusedActivationFunction": 0}, "FullyConnectedOptions", version=5)
    _check(tmp_path, "fc", raw, bits)


def test_int4_tensor_stays_packed(tmp_path):
    """A real INT4 filter (packed in the .tflite) stays packed in flash: two codes per byte."""
    rng = np.random.default_rng(7)
    w = rng.integers(-8, 8, (5, 3, 3, 3)).astype(np.int8)
    w[:, 0, 0, 0], w[:, 0, 0, 1] = -8, 7
    ws = rng.uniform(0.02, 0.1, 5).astype(np.float32)
    b = rng.integers(-300, 300, 5).astype(np.int32)
    raw = single_op("CONV_2D", [T([1, 6, 6, 3], "int8", 0.05, -3), T([5, 3, 3, 3], "int4", ws, np.zeros(5, np.int64), w),
                                T([5], "int32", ws * np.float32(0.05), np.zeros(5, np.int64), b)],
                    [T([1, 6, 6, 5], "int8", 0.1, 2)],
                    {"padding": 0, "strideW": 1, "strideH": 1, "fusedActivationFunction": 1,
                     "dilationWFactor": 1, "dilationHFactor": 1}, "Conv2DOptions", version=7)
    _check(tmp_path, "i4", raw, 4)
    m = re.search(r"hil_w_op0_wcodes\[(\d+)\]", generated_text(tmp_path / "i4" / "gen"))
    assert m and int(m.group(1)) == packed_size(w.size, 4)


# --- flash in the ELF, cross-compiles, emulator --------------------------------------------------

def _symbol_sizes(elf: Path) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile

    with elf.open("rb") as fh:
        return {s.name: s["st_size"] for s in ELFFile(fh).get_section_by_name(".symtab").iter_symbols()
                if s.name.startswith("hil_w_")}


@pytest.mark.skipif(not HAVE_ARM, reason="arm-none-eabi-gcc not installed")
@pytest.mark.parametrize("suite", ["har", "digits"])
def test_elf_weight_bytes_shrink_to_half_and_quarter(suite, tmp_path):
    from harness.boards import load_board
    from harness.firmware.build import build_firmware
    from harness.firmware.footprint import footprint

    board = load_board("m4")
    fps, syms = {}, {}
    for v in ("int8", "w4a8", "w2a8"):
        gm = generate(SUITES / suite / "artifacts" / f"{v}.tflite", tmp_path / v)
        fw = build_firmware(board, gm.out_dir, opt="-Os", cache_dir=tmp_path / "cache")
        fps[v], syms[v] = footprint(fw.elf), _symbol_sizes(Path(fw.elf))
    filt = sum(n for s, n in syms["int8"].items() if s.endswith("_filter"))
    assert filt > 1000
    for v, bits in BITS.items():
        codes = sum(n for s, n in syms[v].items() if s.endswith("_wcodes"))
        assert not any(s.endswith("_filter") for s in syms[v])
        assert filt * bits / 8 <= codes <= filt * bits / 8 + 4, (v, codes, filt)  # <1 byte padding per layer
        other = fps["int8"].weights - filt  # bias, multipliers, shifts: unchanged
        assert fps[v].weights <= other + codes + 8 * 4, (v, fps[v].weights, other, codes)
        assert fps[v].weights < fps["int8"].weights * (0.55 if bits == 2 else 0.7)


@pytest.mark.skipif(not HAVE_ARM, reason="arm-none-eabi-gcc not installed")
@pytest.mark.parametrize("cpu", sorted(CPUS))
def test_cross_compiles_with_werror(cpu, tmp_path):
    rng = np.random.default_rng(9)
    dirs = [generate(SUITES / s / "artifacts" / f"{v}.tflite", tmp_path / f"{s}-{v}").out_dir for s, v in ARTIFACTS]
    for bits in (4, 2):
        p = tmp_path / f"dw{bits}.tflite"
        p.write_bytes(_conv_model(rng, CONV_CASES[1], bits, dw=True, dm=2))
        dirs.append(generate(p, tmp_path / f"dw{bits}").out_dir)
    for d in dirs:
        srcs = sorted(str(p) for p in d.glob("*.c"))
        assert any("s8w" in Path(s).name for s in srcs)
        work = tmp_path / f"o-{d.name}"
        work.mkdir()
        cmd = ["arm-none-eabi-gcc", *CPUS[cpu], "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I", str(d), "-c", *srcs]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
        assert r.returncode == 0, f"{d.name} for {cpu}:\n{r.stderr[:3000]}"


@pytest.mark.skipif(not HAVE_QEMU, reason="needs qemu-system-arm and arm-none-eabi-gcc")
@pytest.mark.parametrize("board_name, suite, variant", [("m4", "har", "w4a8"), ("m4", "digits", "w2a8"),
                                                   ("m0plus", "digits", "w4a8")])
def test_bitexact_on_emulated_board(board_name, suite, variant):
    """The SIMD32 paths (SMLAD on unpacked codes / packed nibbles) only run on the DSP core, the
    v6-M long multiply only on the M0+."""
    from harness.boards import load_board
    from harness.runner import run_model

    art = SUITES / suite / "artifacts"
    with np.load(art / "test.npz") as d:
        x = d[f"x_{variant}"][:3]
    vectors = [v.tobytes() for v in x] + [np.full(x.shape[1:], -128, np.int8).tobytes(),
                                          np.full(x.shape[1:], 127, np.int8).tobytes()]
    run = run_model(art / f"{variant}.tflite", load_board(board_name), vectors)
    assert run.bitexact == 1.0, [(a.hex(), b.hex()) for a, b in zip(run.outputs, run.reference) if a != b]
    assert any(s.endswith("_wcodes") for s in _symbol_sizes(Path(run.firmware.elf)))
    assert run.count_kind == "instructions" and run.count_per_inference > run.macs

