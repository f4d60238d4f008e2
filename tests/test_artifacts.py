"""The committed suite artifacts: they load in TFLM, match their data, reproduce their golden
outputs bit for bit, reach their accuracy floors, and can be rebuilt byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.reference import Reference, dequantize

SUITES_DIR = Path(__file__).resolve().parents[1] / "suites"
ALL6 = ("fp32", "int8", "int8-pt", "int16x8", "w4a8", "w2a8")
REQUIRED = {"har": ALL6, "digits": ALL6, "kws": ("int8",), "ad": ("int8",), "gesture": ("int8",)}

# Stated floors for the host metric (accuracy; AUC for ad; frame accuracy for gesture), set below
# the measured values in suites/README.md. 2-bit weights are allowed to cost a lot (seed 003).
FLOORS = {
    ("har", "w2a8"): 0.60, ("digits", "w2a8"): 0.50,
    ("har", "*"): 0.90, ("digits", "*"): 0.92, ("kws", "*"): 0.80, ("ad", "*"): 0.90,
    ("gesture", "*"): 0.90,
}

CASES = [(s, v) for s, vs in REQUIRED.items() for v in vs]


def _art(suite: str) -> Path:
    return SUITES_DIR / suite / "artifacts"


def _meta(suite: str) -> dict:
    return json.loads((_art(suite) / "meta.json").read_text())


def _floor(suite: str, variant: str) -> float:
    return FLOORS.get((suite, variant), FLOORS[(suite, "*")])


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                 / (len(pos) * len(neg)))


@pytest.mark.parametrize("suite", sorted(REQUIRED))
def test_suite_has_its_files_and_none_is_large(suite: str) -> None:
    art = _art(suite)
    for v in REQUIRED[suite]:
        assert (art / f"{v}.tflite").is_file(), f"{suite}/{v}.tflite missing"
        assert v in _meta(suite)["variants"]
    assert (art / "test.npz").is_file()
    for f in art.iterdir():
        assert f.stat().st_size < 1_000_000, f"{f} is over 1 MB"
    n = _meta(suite)["test_vectors"]
    assert 40 <= n <= 1000


@pytest.mark.parametrize("suite,variant", CASES)
def test_artifact_loads_matches_data_and_reproduces_golden_outputs(suite: str, variant: str) -> None:
    ref = Reference(_art(suite) / f"{variant}.tflite")
    z = np.load(_art(suite) / "test.npz")
    meta = _meta(suite)["variants"][variant]
    assert meta["bytes"] == (_art(suite) / f"{variant}.tflite").stat().st_size
    xq, out = z[f"x_{variant}"], z[f"out_{variant}"]
    if suite == "gesture":
        sin, sout = meta["state"]["input"], meta["state"]["output"]
        xin = 1 - sin
        assert xq.shape[-1] == ref.input_details[xin].shape[-1] == z["x"].shape[-1]
        assert xq.dtype == ref.input_details[xin].dtype
        correct = []
        for s, stream in enumerate(xq):
            h = z[f"h0_{variant}"].reshape(ref.input_details[sin].shape)
            scores = []
            for t, frame in enumerate(stream):
                ins = [None, None]
                ins[xin], ins[sin] = frame.reshape(ref.input_details[xin].shape), h
                outs = ref.run(ins)
                h = outs[sout]
                assert np.array_equal(h.reshape(-1), z[f"state_{variant}"][s, t])
                scores.append(outs[1 - sout].reshape(-1))
            assert np.array_equal(np.array(scores), out[s])
            correct.append(np.argmax(np.array(scores, np.int32), axis=1) == z["y"][s])
        metric = float(np.mean(correct))
    else:
        d = ref.input_details[0]
        assert xq.shape[1:] == d.shape[1:] == z["x"].shape[1:] and xq.dtype == d.dtype
        assert len(xq) == len(z["y"])
        got = np.stack([ref.run([x[None]])[0][0] for x in xq])
        assert np.array_equal(got, out)  # golden outputs are bit-exact with the TFLM runtime
        deq = dequantize(got, ref.output_details[0]).astype(np.float64)
        if suite == "ad":
            err = ((deq.reshape(len(deq), -1) - z["x"].reshape(len(deq), -1)) ** 2).mean(axis=1)
            metric = _auc(err, z["y"])
        else:
            metric = float(np.mean(np.argmax(deq, axis=1) == z["y"]))
    assert metric >= _floor(suite, variant), f"{suite}/{variant}: {metric:.3f} < floor {_floor(suite, variant)}"
    assert metric == pytest.approx(meta[_meta(suite)["metric"]], abs=1e-4)


def test_gesture_state_wiring_is_recorded() -> None:
    st = _meta("gesture")["variants"]["int8"]["state"]
    ref = Reference(_art("gesture") / "int8.tflite")
    assert "state" in ref.input_names[st["input"]]
    din, dout = ref.input_details[st["input"]], ref.output_details[st["output"]]
    assert din.shape == dout.shape and (din.scale, din.zero_point) == (dout.scale, dout.zero_point)


@pytest.mark.slow
def test_rebuild_is_deterministic(tmp_path: Path) -> None:
    """Train + convert the digits suite twice: the int8/w4a8 models and the golden data must be
    byte-identical (fixed seeds, op determinism, deterministic conversion).

    Against the committed files only on the machine that built them: TF's CPU kernels differ by
    instruction set (AVX-512 vs AVX2 give other float sums, so other trained weights), so a build
    elsewhere is compared with itself, and the committed models are checked against the TFLM
    reference by the other tests here."""
    pytest.importorskip("tensorflow")
    from suites.build_artifacts import build

    for run in ("a", "b"):
        build("digits", tmp_path / run, variants=("int8", "w4a8"))
    for v in ("int8", "w4a8"):
        assert (tmp_path / "a" / f"{v}.tflite").read_bytes() == (tmp_path / "b" / f"{v}.tflite").read_bytes(), v
    new, again = np.load(tmp_path / "a" / "test.npz"), np.load(tmp_path / "b" / "test.npz")
    for k in ("x", "y", "x_int8", "out_int8", "out_w4a8"):
        assert np.array_equal(new[k], again[k]), k
    old = np.load(_art("digits") / "test.npz")
    assert np.array_equal(new["x"], old["x"]) and np.array_equal(new["y"], old["y"])  # the data itself


def test_suite_loaders() -> None:
    from suites import SUITES, artifact_dir, load_meta, load_test

    assert set(SUITES) == set(REQUIRED)
    for s in SUITES:
        assert artifact_dir(s) == _art(s)
        assert load_meta(s)["suite"] == s
        z = load_test(s)
        assert {"x", "y", "x_int8", "out_int8"} <= set(z)
    with pytest.raises(KeyError, match="unknown suite"):
        artifact_dir("nope")
