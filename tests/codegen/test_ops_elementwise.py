"""Elementwise, activation and tensor ops: generated C vs the TFLM Python runtime, bit-exact.

Each case converts a tiny Keras model (cached), generates C, compiles it with the host compiler,
runs random and edge-case inputs (min, max, zero point, alternating) and compares every output
element with TFLM. Inputs get different calibration ranges so ADD/SUB/MUL/CONCATENATION see
different scales and zero points. float32 models are compared within 1e-6 (libm exp/tanh).
"""

from __future__ import annotations

import re
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from harness_utils import build, compare, run_c, run_tflm
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ops_elementwise_helpers import model_path, op_names

from harness.codegen import generate
from harness.codegen.ops.arith import broadcast_walk
from harness.codegen.ops.tensor_ops import strided_slice_plan
from harness.errors import UnsupportedModel

TWO = [(-1.0, 1.0), (-3.0, 2.0)]  # two inputs, different scales and zero points

# (builder, quantization, calibration ranges, ops the model must contain)
CASES = [
    ("add_relu", "int8", TWO, {"ADD"}),
    ("add_bcast", "int8", [(-1, 1), (-4, 4)], {"ADD"}),
    ("add_relu6_fused", "int8", [(-8, 8)], {"ADD"}),
    ("sub_bcast", "int8", [(-1, 1), (-2, 5)], {"SUB"}),
    ("sub_const", "int8", None, {"SUB"}),
    ("mul_bcast", "int8", TWO, {"MUL"}),
    ("mul_same", "int8", [(0, 1), (-3, 2)], {"MUL"}),
    ("mean_axes", "int8", [(-2, 3)], {"MEAN"}),
    ("gap1d", "int8", None, {"MEAN"}),
    ("activations", "int8", [(-6, 4)], {"LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH"}),
    ("activations", "int8", [(0.1, 0.3)], {"LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH"}),
    ("pad_concat", "int8", [(-1, 1), (-2, 2)], {"PAD", "CONCATENATION"}),
    ("padv2_gather", "int8", None, {"PADV2", "GATHER"}),
    ("split_ops", "int8", None, {"SPLIT", "SPLIT_V", "PACK"}),
    ("slice_ops", "int8", None, {"STRIDED_SLICE", "TRANSPOSE"}),
    ("flatten_dynamic", "int8", None, {"SHAPE", "STRIDED_SLICE", "PACK"}),
    ("misc_ops", "int8", TWO, {"MAXIMUM", "MINIMUM", "ARG_MAX", "RESIZE_NEAREST_NEIGHBOR"}),
    ("prelu", "int8", [(-2, 2)], {"PRELU"}),
    ("add_relu", "int16x8", TWO, {"ADD"}),
    ("add_bcast", "int16x8", [(-1, 1), (-4, 4)], {"ADD"}),
    ("sub_bcast", "int16x8", [(-1, 1), (-2, 5)], {"SUB"}),
    ("mul_bcast", "int16x8", TWO, {"MUL"}),
    ("mean_axes", "int16x8", [(-2, 3)], {"MEAN"}),
    ("act_int16", "int16x8", [(-6, 4)], {"LOGISTIC", "TANH", "RELU", "LEAKY_RELU"}),
    ("act_int16", "int16x8", [(-0.5, 0.5)], {"LOGISTIC", "TANH", "RELU", "LEAKY_RELU"}),
    ("pad_concat", "int16x8", None, {"PAD", "CONCATENATION"}),
    ("split_ops", "int16x8", None, {"SPLIT", "SPLIT_V", "PACK", "UNPACK"}),
    ("slice_ops", "int16x8", None, {"STRIDED_SLICE", "TRANSPOSE"}),
    ("add_bcast", "float32", None, {"ADD"}),
    ("sub_bcast", "float32", None, {"SUB"}),
    ("mul_bcast", "float32", None, {"MUL"}),
    ("mean_axes", "float32", None, {"MEAN"}),
    ("activations", "float32", None, {"LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH"}),
    ("padv2_gather", "float32", None, {"PADV2", "GATHER"}),
    ("split_ops", "float32", None, {"SPLIT", "SPLIT_V", "PACK", "UNPACK"}),
    ("misc_ops", "float32", None, {"MAXIMUM", "MINIMUM", "ARG_MAX", "RESIZE_NEAREST_NEIGHBOR"}),
    ("prelu", "float32", None, {"PRELU"}),
    ("flatten_dynamic", "int16x8", None, {"SHAPE", "STRIDED_SLICE", "PACK"}),
    ("flatten_dynamic", "float32", None, {"SHAPE", "STRIDED_SLICE", "PACK"}),
]


def _id(c) -> str:
    return f"{c[0]}-{c[1]}" + ("" if c[2] is None else "-" + "_".join(f"{lo}:{hi}" for lo, hi in c[2]))


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_bit_exact_with_tflm(case, tmp_path: Path) -> None:
    builder, quant, ranges, must_have = case
    path = model_path(builder, quant, ranges)
    assert must_have <= set(op_names(path)), f"model lacks the ops under test: {op_names(path)}"
    compare(path, tmp_path, n_random=12, atol=1e-6 if quant == "float32" else 0.0)


@pytest.mark.parametrize("quant", ["int8", "int16x8", "float32"])
def test_gru_cell_explicit_state_end_to_end(quant: str, tmp_path: Path) -> None:
    """ml.md §7: one GRU step, x (1,6) and h (1,16) in, h' and class scores out."""
    path = model_path("gru_cell", quant, [(-1, 1), (-1, 1)])
    ops = set(op_names(path))
    assert {"ADD", "CONCATENATION", "FULLY_CONNECTED", "LOGISTIC", "MUL", "SUB", "TANH", "SOFTMAX"} <= ops
    manifest = compare(path, tmp_path, n_random=24, atol=1e-6 if quant == "float32" else 0.0)
    assert sorted(tuple(i["shape"]) for i in manifest["inputs"]) == [(1, 6), (1, 16)]
    assert sorted(tuple(o["shape"]) for o in manifest["outputs"]) == [(1, 4), (1, 16)]


def test_int8_activation_tables_exhaustive(tmp_path: Path) -> None:
    """Every one of the 256 int8 inputs through every int8 activation (the LUTs are computed
    at generation time by a Python mirror of TFLM's fixed-point code)."""
    path = model_path("activations", "int8", [(-6, 4)])
    exe, manifest = build(path, tmp_path)
    values = np.arange(-128, 128, dtype=np.int8).reshape(4, 1, 64)
    records = [[v] for v in values]
    got = run_c(exe, manifest, records)
    want = run_tflm(path, records, len(manifest["outputs"]))
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            np.testing.assert_array_equal(a, b.reshape(a.shape))


def _patched(path: Path, tensor_scales: dict[int, float], out: Path) -> Path:
    """Copy of a .tflite with some tensors' (per-tensor) scales replaced."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    for ti, s in tensor_scales.items():
        m.subgraphs[0].tensors[ti].quantization.scale = [float(s)]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    out.write_bytes(bytes(b.Output()))
    return out


def test_int16_sigmoid_table_matches_tflm(tmp_path: Path) -> None:
    """Re-measure the sigmoid(i/24) table in activations_sigmoid_s16.c from TFLM's int16 TANH.

    With input scale 1/6144 the kernel's rescaling is exactly x -> 2x, so x = 128 i lands on
    grid point i with no interpolation and TANH returns table[i] - 32768. The same patched
    model is also run through the generated C.
    """
    from harness.codegen.reader import read_tflite

    src = model_path("act_int16", "int16x8", [(-6, 4)])
    g = read_tflite(src)
    tanh_out = next(op.outputs[0] for op in g.ops if op.opcode == "TANH")
    k = g.outputs.index(tanh_out)
    scale = np.nextafter(np.float32(1 / 6144), np.float32(1))
    path = _patched(src, {g.inputs[0]: scale}, tmp_path / "grid.tflite")
    x = np.minimum(np.arange(256) * 128, 32767).astype(np.int16)
    x[255] = 254 * 128 + 127  # grid 254 interpolated towards entry 255 (exposes entry 255)
    records = [[x[i:i + 64].reshape(1, 64)] for i in range(0, 256, 64)]
    want = np.concatenate([r[k].reshape(-1) for r in run_tflm(path, records, len(g.outputs))])
    measured = want[:255].astype(np.int64) + 32768
    text = (Path(__file__).resolve().parents[2] / "harness/codegen/kernels/activations_sigmoid_s16.c").read_text()
    body = re.search(r"hil_sigmoid_q16\[256\] = \{(.*?)\};", text, re.S).group(1)
    table = np.array([int(v) for v in re.findall(r"\d+", body)])
    assert len(table) == 256
    np.testing.assert_array_equal(table[:255], measured)
    assert want[255] == (table[254] - 32768) + ((254 * (table[255] - table[254]) + 128) >> 8)
    exe, manifest = build(path, tmp_path / "c")
    got = run_c(exe, manifest, records)
    np.testing.assert_array_equal(np.concatenate([r[k].reshape(-1) for r in got]), want)


def test_int8_concat_with_different_scales_is_refused_like_tflm(tmp_path: Path) -> None:
    """TFLM's int8 CONCATENATION does not rescale; a model that needs it is refused with the op named."""
    from harness.codegen.reader import read_tflite

    src = model_path("pad_concat", "int8", [(-1, 1), (-2, 2)])
    g = read_tflite(src)
    cat = next(op for op in g.ops if op.opcode == "CONCATENATION")
    t = g.tensor(cat.inputs[1])
    path = _patched(src, {t.index: t.scale * 1.5}, tmp_path / "bad.tflite")
    with pytest.raises(UnsupportedModel, match=rf"op #{cat.index} CONCATENATION: .*different scale"):
        generate(path, tmp_path / "gen")
    assert not (tmp_path / "gen").exists()
    with pytest.raises(RuntimeError):
        run_tflm(path, [[np.zeros((1, 5, 4, 3), np.int8), np.zeros((1, 5, 4, 2), np.int8)]], 3)


# ------------------------------------------------------------------ index arithmetic vs numpy

_shape = st.lists(st.integers(1, 4), min_size=0, max_size=5)


@settings(max_examples=150, deadline=None)
@given(_shape, st.data())
def test_broadcast_walk_matches_numpy(out_shape, data) -> None:
    out_shape = tuple(out_shape)
    r1 = data.draw(st.integers(0, len(out_shape)))
    r2 = data.draw(st.integers(0, len(out_shape)))
    s1 = tuple(d if data.draw(st.booleans()) else 1 for d in out_shape[len(out_shape) - r1:])
    s2 = tuple(d if data.draw(st.booleans()) else 1 for d in out_shape[len(out_shape) - r2:])
    full = tuple(np.broadcast_shapes(s1, s2, out_shape))
    a = np.arange(int(np.prod(s1))).reshape(s1)
    b = np.arange(int(np.prod(s2))).reshape(s2)
    want1 = np.broadcast_to(a, full).reshape(-1)
    want2 = np.broadcast_to(b, full).reshape(-1)
    walk = broadcast_walk(s1, s2, full)
    n = int(np.prod(full))
    if walk is None:
        assert a.size == b.size == n
        got1 = got2 = np.arange(n)
    else:
        dims, st1, st2 = walk
        assert int(np.prod(dims)) == n
        idx = np.indices(dims).reshape(len(dims), -1)
        got1 = (idx * np.array(st1)[:, None]).sum(0)
        got2 = (idx * np.array(st2)[:, None]).sum(0)
    np.testing.assert_array_equal(got1, want1)
    np.testing.assert_array_equal(got2, want2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.data())
def test_strided_slice_plan_matches_numpy(shape, data) -> None:
    rank = len(shape)
    ints = st.integers(-8, 8)
    begin = [data.draw(ints) for _ in range(rank)]
    end = [data.draw(ints) for _ in range(rank)]
    strides = [data.draw(st.sampled_from([-2, -1, 1, 2, 3])) for _ in range(rank)]
    bm, em = data.draw(st.integers(0, 2**rank - 1)), data.draw(st.integers(0, 2**rank - 1))
    x = np.arange(int(np.prod(shape))).reshape(shape)
    key = tuple(slice(None if bm >> d & 1 else begin[d], None if em >> d & 1 else end[d], strides[d])
                for d in range(rank))
    want = x[key]
    starts, steps, counts, out_shape = strided_slice_plan(shape, begin, end, strides,
                                                          {"beginMask": bm, "endMask": em})
    assert out_shape == list(want.shape)
    idx = np.indices(counts).reshape(rank, -1) if all(counts) else np.zeros((rank, 0), int)
    flat = sum((np.array(starts[d]) + idx[d] * steps[d]) * int(np.prod(shape[d + 1:])) for d in range(rank))
    np.testing.assert_array_equal(np.asarray(flat).reshape(-1), want.reshape(-1))


CPUS = [
    ("cortex-m0plus", ["-mfloat-abi=soft"]),
    ("cortex-m4", ["-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]),
    ("cortex-m7", ["-mfpu=fpv5-d16", "-mfloat-abi=hard"]),
]


@pytest.mark.parametrize("builder,quant", [("gru_cell", "int8"), ("act_int16", "int16x8"),
                                           ("split_ops", "float32"), ("mean_axes", "int8")])
def test_generated_code_cross_compiles_warning_free(builder: str, quant: str, tmp_path: Path) -> None:
    """Every kernel file these ops pull in builds for M0+/M4F/M7 with -Wall -Wextra -Werror."""
    import shutil
    import subprocess

    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    gen = tmp_path / "gen"
    generate(model_path(builder, quant, [(-1, 1), (-1, 1)] if builder == "gru_cell" else None), gen)
    sources = sorted(gen.glob("*.c"))
    assert any(p.name.startswith(("arith", "activations", "tensor_ops")) for p in sources)
    for cpu, flags in CPUS:
        for src in sources:
            cmd = [gcc, f"-mcpu={cpu}", "-mthumb", *flags, "-std=c99", "-Os", "-Wall", "-Wextra", "-Werror",
                   "-I", str(gen), "-c", str(src), "-o", str(tmp_path / f"{cpu}-{src.stem}.o")]
            r = subprocess.run(cmd, capture_output=True, text=True)
            assert r.returncode == 0, f"{cpu} {src.name}:\n{r.stderr}"


def _run_litert(path: Path, records: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """LiteRT's builtin kernels without delegates, for ops TFLM has no kernel for. (Its
    reference resolver lacks TILE v3; for data movement and clamps the kernels are exact.)"""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=str(path), num_threads=1,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    outs = []
    for rec in records:
        for d, a in zip(it.get_input_details(), rec):
            it.set_tensor(d["index"], a)
        it.invoke()
        outs.append([it.get_tensor(d["index"]) for d in it.get_output_details()])
    return outs


@pytest.mark.parametrize("builder,quant,ranges,opcode", [
    ("upsample", "int8", None, "TILE"), ("upsample", "float32", None, "TILE"),
    ("clip_unit", "int8", [(-3, 3)], "RELU_N1_TO_1"), ("clip_unit", "float32", None, "RELU_N1_TO_1")])
def test_ops_tflm_lacks_match_litert(builder, quant, ranges, opcode, tmp_path: Path) -> None:
    """TILE (Keras-3 UpSampling2D) and RELU_N1_TO_1 have no TFLM kernel: compare with LiteRT."""
    from harness_utils import make_inputs

    path = model_path(builder, quant, ranges)
    assert opcode in op_names(path)
    exe, manifest = build(path, tmp_path)
    records = make_inputs(manifest, 8)
    got = run_c(exe, manifest, records)
    want = _run_litert(path, records)
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            np.testing.assert_array_equal(a, b.reshape(a.shape))


def test_gru_cell_streams_state_over_frames(tmp_path: Path) -> None:
    """Carry h across 16 frames as firmware would (h' requantized to h's input scale): the
    generated cell and TFLM agree bit-exactly at every step, on state they produced."""
    path = model_path("gru_cell", "int8", [(-1, 1), (-1, 1)])
    exe, manifest = build(path, tmp_path)
    ins, outs = manifest["inputs"], manifest["outputs"]
    xi = next(k for k, s in enumerate(ins) if s["shape"] == [1, 6])
    hi = 1 - xi
    ho = next(k for k, s in enumerate(outs) if s["shape"] == [1, 16])
    h_in, h_out = ins[hi], outs[ho]
    rng = np.random.default_rng(7)
    h = np.full((1, 16), h_in["zero_point"], dtype=np.int8)
    for _ in range(16):
        rec = [None, None]
        rec[xi] = rng.integers(-128, 128, (1, 6)).astype(np.int8)
        rec[hi] = h
        got = run_c(exe, manifest, [rec])[0]
        want = run_tflm(path, [rec], len(outs))[0]
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b.reshape(a.shape))
        real = (got[ho].astype(np.float64) - h_out["zero_point"]) * h_out["scale"]
        h = np.clip(np.round(real / h_in["scale"]) + h_in["zero_point"], -128, 127).astype(np.int8)
    assert np.any(h != h_in["zero_point"])  # the state actually moved


def test_folders_evaluate_the_flatten_shape_chain() -> None:
    """tensor_ops.FOLDERS (for the core's constant-folding pass): folding SHAPE, STRIDED_SLICE
    and PACK in graph order yields exactly the shape RESHAPE produces."""
    from harness.codegen.ops.tensor_ops import FOLDERS
    from harness.codegen.reader import read_tflite

    g = read_tflite(model_path("flatten_dynamic", "int8", None))
    folded = set()
    for op in g.ops:
        fn = FOLDERS.get(op.opcode)
        if fn is None:
            continue
        vals = fn(op, g)
        if vals is None:
            continue
        for t, v in zip(op.outputs, vals):
            assert tuple(v.shape) == tuple(g.tensor(t).shape)
            g.tensor(t).data = v
        folded.add(op.opcode)
    assert {"SHAPE", "STRIDED_SLICE", "PACK"} <= folded
    pack_out = next(op.outputs[0] for op in g.ops if op.opcode == "PACK")
    reshape = next(op for op in g.ops if op.opcode == "RESHAPE" and op.inputs[1:2] == [pack_out])
    new_shape = [int(v) for v in g.tensor(reshape.inputs[1]).data.reshape(-1)]
    out_shape = list(g.tensor(reshape.outputs[0]).shape)
    assert [o if n == -1 else n for n, o in zip(new_shape, out_shape)] == out_shape
