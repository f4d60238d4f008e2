"""The host golden reference: raw-byte layout, quantization helpers, host-only rejection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError, UnsupportedModel
from harness.reference import Reference, TensorDetails, dequantize, quantize

ART = Path(__file__).resolve().parents[1] / "suites"


def _model(suite: str, variant: str) -> Path:
    p = ART / suite / "artifacts" / f"{variant}.tflite"
    if not p.exists():
        pytest.skip(f"{p} not built (python suites/build_artifacts.py --suite {suite})")
    return p


def _random_inputs(ref: Reference, rng: np.random.Generator) -> list[np.ndarray]:
    xs = []
    for d in ref.input_details:
        if d.dtype.kind == "f":
            xs.append(rng.normal(0, 1, d.shape).astype(d.dtype))
        else:
            info = np.iinfo(d.dtype)
            xs.append(rng.integers(info.min, info.max + 1, d.shape).astype(d.dtype))
    return xs


@pytest.mark.parametrize("suite,variant", [("har", "int8"), ("har", "int16x8"), ("har", "fp32"),
                                           ("gesture", "int8")])
def test_run_raw_layout_equals_run(suite: str, variant: str) -> None:
    ref = Reference(_model(suite, variant))
    rng = np.random.default_rng(0)
    for _ in range(3):
        xs = _random_inputs(ref, rng)
        expected = b"".join(y.tobytes() for y in ref.run(xs))
        got = ref.run_raw(b"".join(x.tobytes() for x in xs))
        assert got == expected
        assert len(got) == sum(d.nbytes for d in ref.output_details)


def test_multi_input_order_matters() -> None:
    """Swapping the gesture cell's two inputs in the raw buffer must change the answer."""
    ref = Reference(_model("gesture", "int8"))
    assert len(ref.input_details) == 2
    rng = np.random.default_rng(1)
    xs = _random_inputs(ref, rng)
    a = ref.run_raw(xs[0].tobytes() + xs[1].tobytes())
    xs[1] = (xs[1] // 2).astype(xs[1].dtype)
    b = ref.run_raw(xs[0].tobytes() + xs[1].tobytes())
    assert a != b


@pytest.fixture(scope="module")
def stateful_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model with a resource variable: y = 2 * (sum of every input since reset)."""
    tf = pytest.importorskip("tensorflow")

    class Accumulator(tf.Module):
        def __init__(self) -> None:
            self.total = tf.Variable(tf.zeros([1, 4]))

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def __call__(self, x):  # type: ignore[no-untyped-def]
            self.total.assign_add(x)
            return self.total * 2.0

    acc = Accumulator()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([acc.__call__.get_concrete_function()], acc)
    conv.experimental_enable_resource_variables = True
    path = tmp_path_factory.mktemp("stateful") / "accumulator.tflite"
    path.write_bytes(conv.convert())
    return path


def test_run_is_deterministic_and_reset_restores_a_stateful_model(stateful_model: Path) -> None:
    """The model keeps state (a second run differs), reset() clears it: the first answer after a
    reset equals a fresh interpreter's first answer, and the one after that repeats too."""
    ref = Reference(stateful_model)
    xs = [np.random.default_rng(2).normal(0, 1, (1, 4)).astype(np.float32)]
    first = ref.run(xs)[0].copy()
    second = ref.run(xs)[0].copy()
    assert not np.array_equal(first, second), "the model must carry state, or the test proves nothing"
    ref.reset()
    fresh = Reference(stateful_model)
    assert np.array_equal(ref.run(xs)[0], fresh.run(xs)[0]) and np.array_equal(fresh.run(xs)[0], second)
    assert np.array_equal(ref.run(xs)[0], second)
    assert np.array_equal(first, 2 * xs[0])  # the state starts at zero


def test_wrong_input_sizes_are_config_errors() -> None:
    ref = Reference(_model("har", "int8"))
    with pytest.raises(ConfigError, match="raw input is 3 bytes"):
        ref.run_raw(b"abc")
    with pytest.raises(ConfigError, match="must be int8"):
        ref.run([np.zeros(ref.input_details[0].shape, np.float32)])
    with pytest.raises(ConfigError, match="input tensors"):
        ref.run([])


def test_fp32_matches_litert_reference_kernels() -> None:
    """TFLM float32 == LiteRT BUILTIN_REF bit for bit (shared/reference/ml.md §5)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    path = _model("har", "fp32")
    ref = Reference(path)
    lite = Interpreter(model_content=path.read_bytes(), num_threads=1,
                       experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    lite.allocate_tensors()
    x = _random_inputs(ref, np.random.default_rng(3))[0]
    lite.set_tensor(lite.get_input_details()[0]["index"], x)
    lite.invoke()
    assert np.array_equal(lite.get_tensor(lite.get_output_details()[0]["index"]), ref.run([x])[0])


def test_arena_is_reported() -> None:
    ref = Reference(_model("har", "int8"))
    n = ref.arena_bytes()
    assert 1000 < n < 64 * 1024


I8 = TensorDetails(0, (4,), np.dtype(np.int8), 0.05, -3)
I16 = TensorDetails(0, (4,), np.dtype(np.int16), 0.001, 0)
F32 = TensorDetails(0, (4,), np.dtype(np.float32), 0.0, 0)


def test_quantize_known_values_and_clipping() -> None:
    q = quantize(np.array([0.0, 0.05, -0.124, 100.0]), I8)
    assert q.dtype == np.int8
    assert q.tolist() == [-3, -2, -5, 127]
    assert quantize(np.array([-1e9]), I16).tolist() == [-32768]
    assert dequantize(np.array([-3, 17], np.int8), I8).tolist() == pytest.approx([0.0, 1.0])
    f = np.array([1.5, -2.25], np.float32)
    assert np.array_equal(quantize(f, F32), f) and np.array_equal(dequantize(f, F32), f)


@settings(max_examples=200, deadline=None)
@given(st.floats(-6.0, 6.0, allow_nan=False))
def test_quantize_round_trip_within_half_a_step(x: float) -> None:
    for d in (I8, I16):
        lo = (np.iinfo(d.dtype).min - d.zero_point) * d.scale
        hi = (np.iinfo(d.dtype).max - d.zero_point) * d.scale
        back = float(dequantize(quantize(np.array([x]), d), d)[0])
        assert abs(back - min(max(x, lo), hi)) <= d.scale / 2 + 1e-6


def test_dynamic_range_model_is_host_only() -> None:
    tf = pytest.importorskip("tensorflow")
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((64,), batch_size=1)
    model = keras.Model(inp, keras.layers.Dense(64)(inp))
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic range: int8 weights, float activations
    with pytest.raises(UnsupportedModel, match=r"(?i)host only"):
        Reference(conv.convert())


def test_run_stream_carries_the_state_like_the_golden_file() -> None:
    import json

    path = _model("gesture", "int8")
    ref = Reference(path)
    art = path.parent
    st = json.loads((art / "meta.json").read_text())["variants"]["int8"]["state"]
    z = np.load(art / "test.npz")
    outs, h = ref.run_stream(z["x_int8"][0], st["input"], st["output"])
    assert np.array_equal(np.stack([o[st["output"]].reshape(-1) for o in outs]), z["state_int8"][0])
    assert np.array_equal(h.reshape(-1), z["state_int8"][0][-1])
    # a fresh stream from h0 does not depend on what ran before
    again, _ = ref.run_stream(z["x_int8"][0][:5], st["input"], st["output"])
    assert all(np.array_equal(a[1 - st["output"]], b[1 - st["output"]]) for a, b in zip(again, outs[:5]))
