"""Edge variants of the elementwise/activation/tensor ops the Keras converter does not emit,
from hand-built one-op models (the core's `single_op`): fused RELU_N1_TO_1/RELU6 on ADD/SUB/MUL,
5-D and 6-D broadcasts, extreme scales and zero points, MEAN over 600 elements and over
unsorted axes, negative LEAKY_RELU alpha, the power-of-two int16 LOGISTIC/TANH paths, negative
axes, shrinking strided slices. Generated C vs the TFLM runtime, bit-exact."""

from __future__ import annotations

import numpy as np
import pytest
from cg_models import single_op
from harness_utils import compare


def T(shape, dtype, scale=None, zp=0, data=None):
    return {"shape": shape, "dtype": dtype, "scale": scale, "zero_point": zp, "data": data}


def _run(tmp_path, raw: bytes, n_random: int = 12):
    path = tmp_path / "op.tflite"
    path.write_bytes(raw)
    return compare(path, tmp_path / "w", n_random=n_random)


def i32(*v):
    return np.asarray(v, dtype=np.int32)


BINARY = [
    # opcode, dtype, in1 (shape, scale, zp), in2, out (shape, scale, zp), fused activation
    ("ADD", "int8", ([1, 3, 1, 4], 0.05, 10), ([1, 1, 5, 1], 0.01, -100), ([1, 3, 5, 4], 0.02, 5), 2),
    ("ADD", "int8", ([2, 6], 0.5, -128), ([2, 6], 0.002, 127), ([2, 6], 0.3, -60), 3),
    ("SUB", "int8", ([2, 1, 3, 1, 2], 0.03, -7), ([1, 4, 1, 5, 1], 0.04, 20), ([2, 4, 3, 5, 2], 0.05, -3), 1),
    ("SUB", "int8", ([7], 0.001, 0), ([1], 0.2, 30), ([7], 0.1, 0), 0),
    ("MUL", "int8", ([1, 4, 6], 0.1, -5), ([6], 0.07, 12), ([1, 4, 6], 0.3, -20), 3),
    ("MUL", "int8", ([3, 5], 0.02, -128), ([3, 5], 0.5, 127), ([3, 5], 0.004, 100), 2),
    ("ADD", "int16", ([2, 1, 2, 1, 2, 3], 0.001, 0), ([1, 2, 1, 2, 1, 3], 0.0004, 0), ([2, 2, 2, 2, 2, 3], 0.002, 0), 3),
    ("SUB", "int16", ([4, 5], 0.0005, 0), ([5], 0.003, 0), ([4, 5], 0.001, 0), 1),
    ("MUL", "int16", ([4, 5], 0.0005, 0), ([4, 1], 0.003, 0), ([4, 5], 0.00002, 0), 2),
]


@pytest.mark.parametrize("case", BINARY, ids=[f"{c[0]}-{c[1]}-{len(c[4][0])}d-act{c[5]}" for c in BINARY])
def test_binary_edge_cases(case, tmp_path):
    opcode, dt, a, b, o, act = case
    opt_type = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[opcode]
    raw = single_op(opcode, [T(a[0], dt, a[1], a[2]), T(b[0], dt, b[1], b[2])], [T(o[0], dt, o[1], o[2])],
                    {"fusedActivationFunction": act}, opt_type)
    _run(tmp_path, raw)


MEANS = [
    ("int8", [1, 24, 25, 2], i32(1, 2), True, [1, 1, 1, 2], (0.02, -3), (0.01, 7)),
    ("int8", [2, 5, 7], i32(-1), False, [2, 5], (0.5, 100), (0.004, -128)),
    ("int8", [3, 4, 5], i32(2, 0), False, [4], (0.05, 0), (0.05, 0)),
    ("int16", [1, 9, 6], i32(1), False, [1, 6], (0.001, 0), (0.0003, 0)),
    ("int16", [2, 3, 4, 5], i32(3, 1), True, [2, 1, 4, 1], (0.0002, 0), (0.0002, 0)),
]


@pytest.mark.parametrize("case", MEANS, ids=[f"{c[0]}-{c[1]}-ax{list(c[2])}-keep{int(c[3])}" for c in MEANS])
def test_mean_edge_cases(case, tmp_path):
    dt, shape, axes, keep, out_shape, (si, zi), (so, zo) = case
    raw = single_op("MEAN", [T(shape, dt, si, zi), T([len(axes)], "int32", data=axes)],
                    [T(out_shape, dt, so, zo)], {"keepDims": keep}, "ReducerOptions")
    _run(tmp_path, raw, n_random=6)


@pytest.mark.parametrize("dt,alpha,si,zi,so,zo", [
    ("int8", -0.5, 0.05, 3, 0.03, -10), ("int8", 1.5, 0.02, -128, 0.04, 0), ("int8", 0.01, 0.1, 0, 0.1, 0),
    ("int16", -0.25, 0.001, 0, 0.0007, 0), ("int16", 0.1, 0.0003, 0, 0.0003, 0)])
def test_leaky_relu_alpha(dt, alpha, si, zi, so, zo, tmp_path):
    raw = single_op("LEAKY_RELU", [T([3, 11], dt, si, zi)], [T([3, 11], dt, so, zo)], {"alpha": alpha},
                    "LeakyReluOptions")
    _run(tmp_path, raw)


@pytest.mark.parametrize("opcode", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("scale", [2.0**-12, 2.0**-11, 2.0**-9, 0.00031, 0.0021])
def test_int16_sigmoid_tanh_scales(opcode, scale, tmp_path):
    """2^-12 (and 2^-11 for TANH) take TFLM's power-of-two path; the others the general one."""
    raw = single_op(opcode, [T([4, 32], "int16", scale, 0)], [T([4, 32], "int16", 2.0**-15, 0)])
    _run(tmp_path, raw)


@pytest.mark.parametrize("opcode", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("scale,zp", [(0.001, 0), (0.03, -40), (0.5, 90), (0.0625, -128)])
def test_int8_sigmoid_tanh_scales(opcode, scale, zp, tmp_path):
    out = (1 / 256, -128) if opcode == "LOGISTIC" else (1 / 128, 0)
    raw = single_op(opcode, [T([2, 128], "int8", scale, zp)], [T([2, 128], "int8", *out)])
    _run(tmp_path, raw)


@pytest.mark.parametrize("dt,si,zi,so,zo", [("int8", 0.05, -20, 0.02, -128), ("int8", 0.01, 50, 0.03, 10),
                                            ("int16", 0.001, 0, 0.0004, 0)])
def test_relu_requantizes(dt, si, zi, so, zo, tmp_path):
    raw = single_op("RELU", [T([40], dt, si, zi)], [T([40], dt, so, zo)])
    _run(tmp_path, raw)


@pytest.mark.parametrize("dt,scale,zp", [("int8", 0.05, -20), ("int8", 0.01, -128), ("int16", 0.0002, 0)])
def test_relu6_clamps_in_input_scale(dt, scale, zp, tmp_path):
    raw = single_op("RELU6", [T([40], dt, scale, zp)], [T([40], dt, scale, zp)])
    _run(tmp_path, raw)


def test_concatenation_three_inputs_negative_axis(tmp_path):
    ins = [T([2, k, 3], "int8", 0.04, -9) for k in (1, 4, 2)]
    raw = single_op("CONCATENATION", ins, [T([2, 7, 3], "int8", 0.04, -9)], {"axis": -2},
                    "ConcatenationOptions")
    _run(tmp_path, raw)


def test_strided_slice_shrink_and_negative_stride(tmp_path):
    b, e, s = i32(0, -1, 5, 0), i32(1, 0, 0, 3), i32(1, -1, -2, 1)
    raw = single_op("STRIDED_SLICE",
                    [T([1, 4, 7, 3], "int16", 0.001, 0), T([4], "int32", data=b), T([4], "int32", data=e),
                     T([4], "int32", data=s)],
                    [T([4, 3, 3], "int16", 0.001, 0)],
                    {"beginMask": 2, "endMask": 2, "shrinkAxisMask": 1}, "StridedSliceOptions")
    _run(tmp_path, raw)


@pytest.mark.parametrize("dt,scale,zp", [("int8", 0.1, -128), ("int8", 0.02, 77), ("int16", 0.001, 0)])
def test_pad_value_is_zero_point(dt, scale, zp, tmp_path):
    pads = i32(0, 0, 2, 1, 0, 3).reshape(3, 2)
    raw = single_op("PAD", [T([1, 3, 4], dt, scale, zp), T([3, 2], "int32", data=pads)],
                    [T([1, 6, 7], dt, scale, zp)])
    _run(tmp_path, raw)


def test_transpose_4d(tmp_path):
    raw = single_op("TRANSPOSE", [T([2, 3, 4, 5], "int8", 0.1, 3), T([4], "int32", data=i32(3, 1, 0, 2))],
                    [T([5, 3, 2, 4], "int8", 0.1, 3)])
    _run(tmp_path, raw, n_random=4)


@pytest.mark.parametrize("opcode,si,so,alpha", [
    ("RELU", 0.063732475, 0.027051693, None),  # float32 vs double multiplier differ by 50 LSB
    ("LEAKY_RELU", 0.0017511108, 0.0813457, 1.7382667),
])
def test_int16_requantizing_activations_on_every_input(opcode, si, so, alpha, tmp_path):
    """All 65536 int16 inputs: catches multiplier differences of a few LSB that random inputs
    rarely expose (here: the double vs float32 computation of s_in / s_out)."""
    from harness_utils import build, run_c
    from tflite_micro.python.tflite_micro import runtime

    opts = ({"alpha": alpha}, "LeakyReluOptions") if alpha is not None else (None, None)
    raw = single_op(opcode, [T([1, 65536], "int16", si, 0)], [T([1, 65536], "int16", so, 0)], *opts)
    path = tmp_path / "op.tflite"
    path.write_bytes(raw)
    exe, manifest = build(path, tmp_path / "w")
    x = np.arange(-32768, 32768, dtype=np.int16).reshape(1, 65536)
    got = run_c(exe, manifest, [[x]])[0][0]
    interp = runtime.Interpreter.from_bytes(raw, arena_size=1 << 20)
    interp.set_input(x, 0)
    interp.invoke()
    np.testing.assert_array_equal(got.reshape(-1), np.asarray(interp.get_output(0)).reshape(-1))


@pytest.mark.parametrize("opcode", ["MAXIMUM", "MINIMUM"])
def test_int16_maximum_minimum_broadcast(opcode, tmp_path):
    raw = single_op(opcode, [T([3, 1, 4], "int16", 0.001, 0), T([5, 1], "int16", 0.001, 0)],
                    [T([3, 5, 4], "int16", 0.001, 0)])
    _run(tmp_path, raw)


@pytest.mark.parametrize("align,half", [(False, False), (True, False), (False, True)])
def test_resize_nearest_options(align, half, tmp_path):
    raw = single_op("RESIZE_NEAREST_NEIGHBOR", [T([1, 3, 5, 2], "int8", 0.1, 4), T([2], "int32", data=i32(7, 4))],
                    [T([1, 7, 4, 2], "int8", 0.1, 4)], {"alignCorners": align, "halfPixelCenters": half},
                    "ResizeNearestNeighborOptions")
    _run(tmp_path, raw)


def test_arg_min_int8_ties_take_first(tmp_path):
    raw = single_op("ARG_MIN", [T([2, 6, 3], "int8", 0.1, 0), T([1], "int32", data=i32(1))],
                    [T([2, 3], "int32")], {"outputType": 2}, "ArgMinOptions")
    path = tmp_path / "op.tflite"
    path.write_bytes(raw)
    from harness_utils import build, run_c, run_tflm

    exe, manifest = build(path, tmp_path / "w")
    rng = np.random.default_rng(3)
    records = [[rng.integers(-2, 2, (2, 6, 3)).astype(np.int8)] for _ in range(8)]  # many ties
    for g, w in zip(run_c(exe, manifest, records), run_tflm(path, records, 1)):
        np.testing.assert_array_equal(g[0], w[0].reshape(g[0].shape))


def _random_binary(seed: int):
    """A random ADD/SUB/MUL: type, broadcast shapes, scales over 4 decades, zero points, activation."""
    rng = np.random.default_rng(seed)
    opcode = ["ADD", "SUB", "MUL"][seed % 3]
    dt = "int16" if seed % 4 == 3 else "int8"
    rank = int(rng.integers(1, 5))
    out = [int(v) for v in rng.integers(2, 6, rank)]
    s1 = [d if rng.random() < 0.7 else 1 for d in out]
    s2 = [d if rng.random() < 0.7 else 1 for d in out][int(rng.integers(0, rank)):] or [1]
    out = [max(a, b) for a, b in zip(s1, [1] * (rank - len(s2)) + s2)]

    def q():
        zp = 0 if dt == "int16" else int(rng.integers(-128, 128))
        return float(10 ** rng.uniform(-4, 0)), zp
    (a_s, a_z), (b_s, b_z), (_, o_z) = q(), q(), q()
    # output scale near the result's natural range, so outputs are not all saturated
    half = 128 if dt == "int8" else 32768
    natural = a_s * b_s * half if opcode == "MUL" else a_s + b_s
    act = (0, 1, 0, 3, 0, 2, 1, 0)[seed % 8]
    if act in (2, 3):  # bounded activations: an output scale that spans their range
        natural = (2.0 if act == 2 else 6.0) / (2 * half - 1)
    o_s = float(natural * 10 ** rng.uniform(-0.4, 0.4))
    return opcode, dt, (s1, a_s, a_z), (s2, b_s, b_z), (out, o_s, o_z), act


@pytest.mark.parametrize("seed", range(8))
def test_binary_random_quantization(seed, tmp_path):
    opcode, dt, a, b, o, act = _random_binary(seed)
    opt_type = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[opcode]
    raw = single_op(opcode, [T(a[0], dt, a[1], a[2]), T(b[0], dt, b[1], b[2])], [T(o[0], dt, o[1], o[2])],
                    {"fusedActivationFunction": act}, opt_type)
    _run(tmp_path, raw)


@pytest.mark.parametrize("opcode,ins,outs,opts,opt_type,problem", [
    ("STRIDED_SLICE", [T([1, 4, 6], "int8", 0.1, 0), T([3], "int32", data=i32(0, 0, 0)),
                       T([3], "int32", data=i32(1, 2, 3)), T([3], "int32", data=i32(1, 1, 1))],
     [T([1, 2, 3], "int8", 0.1, 0)], {"ellipsisMask": 2}, "StridedSliceOptions", "ellipsis"),
    ("LOGISTIC", [T([8], "int8", 0.1, 0)], [T([8], "int8", 1 / 256, 0)], None, None, "zero point 0"),
    ("TANH", [T([8], "int16", 0.001, 5)], [T([8], "int16", 2.0**-15, 0)], None, None, "non-zero zero point"),
    ("MEAN", [T([2, 3], "int8", 0.1, 0), T([1], "int32")], [T([2], "int8", 0.1, 0)],
     {"keepDims": False}, "ReducerOptions", "axis tensor computed at run time"),
])
def test_unsupported_variants_name_the_op(opcode, ins, outs, opts, opt_type, problem, tmp_path):
    """Variants TFLM refuses too: a clear error naming model, op and index; nothing written."""
    from harness.codegen import generate
    from harness.errors import UnsupportedModel

    path = tmp_path / "op.tflite"
    path.write_bytes(single_op(opcode, ins, outs, opts, opt_type))
    with pytest.raises(UnsupportedModel, match=rf"op #0 {opcode}: .*{problem}.*supported: "):
        generate(path, tmp_path / "gen")
    assert not (tmp_path / "gen").exists()


@pytest.mark.parametrize("dt,si,so", [("int16", 0.001, 0.0008), ("int8", 0.05, 0.03)])
def test_prelu_constant_alpha_broadcast(dt, si, so, tmp_path):
    """int16 PRELU (int8 alpha) is not produced by the converter; alpha broadcast over rows."""
    alpha = np.array([[-100, -3, 0, 5, 60, 127]], dtype=np.int8)
    zi, zo = (-10, 7) if dt == "int8" else (0, 0)
    raw = single_op("PRELU", [T([1, 4, 6], dt, si, zi), T([1, 6], "int8", 0.01, 4, alpha)],
                    [T([1, 4, 6], dt, so, zo)])
    _run(tmp_path, raw)


@pytest.mark.parametrize("seed", range(6))
def test_mean_random_axes_and_scales(seed, tmp_path):
    """Random rank-2..4 shapes, axis subsets (negative too), keep_dims, scales and zero points."""
    rng = np.random.default_rng(100 + seed)
    dt = "int16" if seed % 3 == 2 else "int8"
    rank = int(rng.integers(2, 5))
    shape = [int(v) for v in rng.integers(1, 7, rank)]
    axes = sorted(set(int(a) for a in rng.choice(rank, int(rng.integers(1, rank + 1)), replace=False)))
    keep = bool(rng.integers(0, 2))
    out = [1 if d in axes else n for d, n in enumerate(shape)] if keep else \
        [n for d, n in enumerate(shape) if d not in axes]
    ax = np.array([a - rank if rng.random() < 0.5 else a for a in axes], dtype=np.int32)
    si = float(10 ** rng.uniform(-3, 0))
    so = float(si * 10 ** rng.uniform(-1, 0.3))
    zi, zo = (0, 0) if dt == "int16" else (int(rng.integers(-128, 128)), int(rng.integers(-128, 128)))
    raw = single_op("MEAN", [T(shape, dt, si, zi), T([len(ax)], "int32", data=ax)], [T(out or [1], dt, so, zo)],
                    {"keepDims": keep}, "ReducerOptions")
    _run(tmp_path, raw, n_random=6)
