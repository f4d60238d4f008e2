"""Quantization variants and sub-byte packing, on a tiny trained model and real conversions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import UnsupportedModel
from harness.quant import VARIANTS, activation_bits, make_variant, pack, packed_size, unpack, weight_bits
from harness.quant.grid import detect_weight_bits, grid_codes, levels_per_channel, weight_tensors
from harness.reference import Reference

# ---------------------------------------------------------------- packing (no TensorFlow needed)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([2, 4]), st.data())
def test_pack_unpack_round_trip(bits: int, data) -> None:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    vals = np.array(data.draw(st.lists(st.integers(lo, hi), max_size=67)), np.int8)
    blob = pack(vals, bits)
    assert len(blob) == packed_size(len(vals), bits)
    assert np.array_equal(unpack(blob, bits, len(vals)), vals)


def test_pack_byte_layout_is_little_endian_twos_complement() -> None:
    assert pack(np.array([1, -1]), 4) == bytes([0xF1])
    assert pack(np.array([-8, 7, 3]), 4) == bytes([0x78, 0x03])
    assert pack(np.array([1, -2, 0, -1]), 2) == bytes([0b11_00_10_01])
    assert pack(np.array([-1]), 2) == bytes([0x03])
    assert packed_size(5, 2) == 2 and packed_size(5, 4) == 3


def test_pack_rejects_out_of_range_and_bad_bits() -> None:
    with pytest.raises(ValueError, match="int4"):
        pack(np.array([8]), 4)
    with pytest.raises(ValueError, match="int2"):
        pack(np.array([-3]), 2)
    with pytest.raises(ValueError):
        pack(np.array([0]), 3)
    with pytest.raises(ValueError):
        unpack(b"\x00", 4, 3)


def test_bit_widths_for_bops() -> None:
    assert [weight_bits(v) for v in VARIANTS] == [32, 8, 8, 8, 4, 2]
    assert [activation_bits(v) for v in VARIANTS] == [32, 8, 8, 16, 8, 8]
    with pytest.raises(UnsupportedModel, match="unknown quantization variant"):
        weight_bits("int3")


# ---------------------------------------------------------------- variants on a tiny model


@pytest.fixture(scope="module")
def tiny():
    """A small conv + depthwise + dense regressor with a linear output, trained deterministically."""
    keras = pytest.importorskip("keras")
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (400, 24, 3)).astype(np.float32)
    y = np.stack([x[:, :12, 0].mean(1) - x[:, 12:, 1].mean(1), np.abs(x[:, :, 2]).mean(1),
                  x[:, ::2, 0].mean(1) * 2], axis=1).astype(np.float32)
    L = keras.layers
    inp = keras.Input((24, 3), batch_size=1, name="x")
    h = L.Conv1D(16, 3, activation="relu")(inp)
    h = L.DepthwiseConv1D(3, activation="relu")(h)
    h = L.GlobalAveragePooling1D()(h)
    h = L.Dense(24, activation="relu")(h)
    out = L.Dense(3)(h)
    model = keras.Model(inp, out)
    model.compile("adam", "mse")
    model.fit(x, y, epochs=25, batch_size=16, verbose=0)
    variants = {v: make_variant(model, x[:100], v) for v in VARIANTS}
    return model, x, variants


def _outputs(blob: bytes, x: np.ndarray) -> np.ndarray:
    ref = Reference(blob)
    return np.concatenate([ref.run_float([s[None]])[0] for s in x])


def test_every_variant_runs_in_tflm_with_the_right_io(tiny) -> None:
    _, x, variants = tiny
    io = {"fp32": np.float32, "int8": np.int8, "int8-pt": np.int8, "int16x8": np.int16,
          "w4a8": np.int8, "w2a8": np.int8}
    for v, blob in variants.items():
        ref = Reference(blob)  # raises UnsupportedModel ("host only") if TFLM cannot run it
        assert ref.input_details[0].dtype == io[v] and ref.output_details[0].dtype == io[v], v
        assert np.all(np.isfinite(ref.run_float([x[:1]])[0]))


def test_low_bit_weights_lie_on_the_grid(tiny) -> None:
    _, _, variants = tiny
    int8_levels = max(n for _, n in levels_per_channel(variants["int8"]))
    assert int8_levels > 16  # else the grid checks below would be vacuous
    assert detect_weight_bits(variants["int8"]) == detect_weight_bits(variants["int8-pt"]) == 8
    for v, bits in (("w4a8", 4), ("w2a8", 2)):
        levels = levels_per_channel(variants[v])
        assert len(levels) == 4  # conv, depthwise, two dense
        assert max(n for _, n in levels) <= 2 ** bits, (v, levels)
        assert detect_weight_bits(variants[v]) == bits
        step = 127 // (2 ** (bits - 1) - 1)
        for _name, codes, s in grid_codes(variants[v], bits):
            assert s == step
            assert codes.min() >= -(2 ** (bits - 1) - 1) and codes.max() <= 2 ** (bits - 1) - 1
            assert np.array_equal(unpack(pack(codes, bits), bits, codes.size).reshape(codes.shape), codes)


def test_grid_snap_keeps_the_fake_quantized_weights(tiny) -> None:
    """scale' * k*m in the file equals the Keras kernel fake-quantized to 4 bits."""
    from harness.quant.weights import fake_quantize, weight_layers

    model, _, variants = tiny
    _, m, wts = weight_tensors(variants["w4a8"])
    dense = [ly for ly in weight_layers(model) if type(ly).__name__ == "Dense"][-1]
    expected = fake_quantize(np.asarray(dense.kernel), dense, 4).T  # TFLite FC is [out, in]
    _, w, _, _ = [t for t in wts if t[0] == "FULLY_CONNECTED"][-1]
    q = np.frombuffer(bytes(m.buffers[w.buffer].data), np.int8).reshape(w.shape)
    real = q * np.asarray(w.quantization.scale, np.float32)[:, None]
    assert np.allclose(real, expected, rtol=1e-5, atol=1e-7)


def test_output_error_grows_as_bits_shrink(tiny) -> None:
    _, x, variants = tiny
    xs = x[100:220]
    ref = _outputs(variants["fp32"], xs)
    err = {v: float(np.mean((_outputs(variants[v], xs) - ref) ** 2)) for v in VARIANTS[1:]}
    assert err["int16x8"] < err["int8"] < err["w4a8"] < err["w2a8"], err
    assert err["int8"] < 0.01 * float(np.var(ref))  # int8 is close to float


def test_mse_weight_clipping_stays_on_grid_and_helps_2_bit(tiny) -> None:
    model, x, variants = tiny
    blob = make_variant(model, x[:100], "w2a8", weight_clip="mse")
    assert blob != variants["w2a8"]
    assert detect_weight_bits(blob) == 2 and max(n for _, n in levels_per_channel(blob)) <= 3
    xs = x[100:220]
    ref = _outputs(variants["fp32"], xs)
    err_max = np.mean((_outputs(variants["w2a8"], xs) - ref) ** 2)
    err_mse = np.mean((_outputs(blob, xs) - ref) ** 2)
    assert err_mse < err_max


def test_conversion_is_reproducible(tiny) -> None:
    model, x, variants = tiny
    assert make_variant(model, x[:100], "w4a8") == variants["w4a8"]


def test_percentile_calibration_narrows_ranges(tiny) -> None:
    model, x, variants = tiny
    blob = make_variant(model, x[:100], "int8", calibration="percentile", percentile=99.0)
    assert blob != variants["int8"]
    ref_mm, ref_pc = Reference(variants["int8"]), Reference(blob)
    assert ref_pc.input_details[0].scale == ref_mm.input_details[0].scale  # graph inputs not clipped
    assert ref_pc.output_details[0].scale < ref_mm.output_details[0].scale
    out = _outputs(blob, x[100:160])
    assert np.mean((out - _outputs(variants["fp32"], x[100:160])) ** 2) < 0.05


def test_bias_correction_removes_the_mean_shift(tiny) -> None:
    model, x, variants = tiny
    calib = x[:100]
    ref = _outputs(variants["fp32"], calib)
    plain = _outputs(variants["w2a8"], calib)
    corrected = _outputs(make_variant(model, calib, "w2a8", bias_correction=True), calib)
    shift_plain = np.abs((plain - ref).mean(axis=0))
    shift_corr = np.abs((corrected - ref).mean(axis=0))
    assert shift_corr.sum() < 0.5 * shift_plain.sum(), (shift_plain, shift_corr)


def test_bad_requests_are_rejected(tiny) -> None:
    import keras

    model, x, _ = tiny
    with pytest.raises(UnsupportedModel, match="percentile"):
        make_variant(model, x[:10], "int16x8", calibration="percentile")
    with pytest.raises(UnsupportedModel, match="unknown calibration"):
        make_variant(model, x[:10], "int8", calibration="mse")
    with pytest.raises(UnsupportedModel, match="weight clipping"):
        make_variant(model, x[:10], "w4a8", weight_clip="l1")
    inp = keras.Input((8,), batch_size=1)
    bn = keras.Model(inp, keras.layers.BatchNormalization()(keras.layers.Dense(4)(inp)))
    with pytest.raises(UnsupportedModel, match="BatchNormalization"):
        make_variant(bn, np.zeros((4, 8), np.float32), "w4a8")


def test_gesture_state_quantization_is_tied() -> None:
    from pathlib import Path

    p = Path(__file__).resolve().parents[1] / "suites" / "gesture" / "artifacts" / "int8.tflite"
    if not p.exists():
        pytest.skip("gesture artifacts not built")
    ref = Reference(p)
    sin = next(i for i, n in enumerate(ref.input_names) if "state" in n)
    dout = next(d for d in ref.output_details if d.shape == ref.input_details[sin].shape)
    din = ref.input_details[sin]
    assert (dout.scale, dout.zero_point) == (din.scale, din.zero_point)


def test_two_input_model_with_percentile_and_bias_correction() -> None:
    """Multi-input calibration is fed by input name (the converter may reorder inputs)."""
    keras = pytest.importorskip("keras")

    keras.utils.set_random_seed(1)
    L = keras.layers
    a = keras.Input((4,), batch_size=1, name="frame")
    b = keras.Input((8,), batch_size=1, name="state")
    h = L.Activation("tanh")(L.Add()([L.Dense(8)(a), L.Dense(8)(b)]))
    model = keras.Model([a, b], [h, L.Dense(3)(h)])
    rng = np.random.default_rng(1)
    xa = rng.normal(0, 1, (120, 4)).astype(np.float32)
    xb = (rng.uniform(-1, 1, (120, 8)) * np.linspace(0.1, 1, 8)).astype(np.float32)  # distinct ranges
    fp = Reference(make_variant(model, [xa, xb], "fp32"))
    q = Reference(make_variant(model, [xa, xb], "int8", calibration="percentile", bias_correction=True))
    order = [q.input_names.index(n) for n in fp.input_names]
    ib = next(i for i, n in enumerate(q.input_names) if "state" in n)
    assert q.input_details[ib].scale < 1.1 / 127  # state range ~[-1, 1], not the frame's ~[-3, 3]
    for i in range(10):
        xs = [xa[i:i + 1], xb[i:i + 1]] if "frame" in fp.input_names[0] else [xb[i:i + 1], xa[i:i + 1]]
        want = fp.run_float(xs)
        got = q.run_float([xs[order.index(k)] for k in range(2)])
        for w in want:
            g = next(g for g in got if g.shape == w.shape)
            assert np.max(np.abs(g - w)) < 0.1
