"""Regenerate the suites' golden artifacts: train, convert every variant, evaluate on the host.

    python suites/build_artifacts.py [--suite S ...] [--out DIR]

Deterministic: seeds are fixed, TF ops run deterministically and conversion is byte-stable, so a
rebuild on the same software versions reproduces the committed files byte for byte.
Writes per suite into `suites/<suite>/artifacts/` (or DIR/<suite>/):
  <variant>.tflite  the model variants (see VARIANTS below; calibration min-max, no bias correction)
  test.npz          x (float test inputs), y (labels), x_<variant> (inputs quantized for that
                    variant), out_<variant> (the TFLM reference's raw outputs; gesture also
                    state_<variant> and h0_<variant>)
  meta.json         sizes, TFLM arena, host metric per variant, tensor details, gesture state wiring
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.quant import VARIANTS, activation_bits, make_variant, weight_bits  # noqa: E402
from harness.quant.state import tie_state  # noqa: E402
from harness.reference import Reference, quantize  # noqa: E402
from suites import SUITES  # noqa: E402

SUITE_VARIANTS: dict[str, tuple[str, ...]] = {
    "har": VARIANTS, "digits": VARIANTS, "kws": ("int8",), "ad": ("int8",), "gesture": ("int8",),
}
TASK = {"har": "classification", "digits": "classification", "kws": "classification",
        "ad": "anomaly", "gesture": "streaming"}
CALIB_N = 200


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC (probability a random anomaly scores above a random normal; ties count half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    gt = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(gt / (len(pos) * len(neg)))


def state_indices(ref: Reference) -> tuple[int, int]:
    """(state input index, state output index) of the gesture cell, found by name and shape."""
    sin = next(i for i, n in enumerate(ref.input_names) if "state" in n)
    hidden = ref.input_details[sin].shape
    sout = next(d.index for d in ref.output_details if d.shape == hidden)
    return sin, sout


def evaluate(suite: str, ref: Reference, data: dict, npz: dict, variant: str) -> float:
    """Host metric of one variant; fills npz with quantized inputs and raw reference outputs."""
    if TASK[suite] == "streaming":
        sin, sout = state_indices(ref)
        xin = 1 - sin
        dx, dh = ref.input_details[xin], ref.input_details[sin]
        h0 = quantize(np.zeros(dh.shape, np.float32), dh)
        xs = quantize(data["x_test"], dx)  # elementwise: all streams at once
        scores, states, correct = [], [], []
        for s, y in zip(xs, data["y_test"]):
            h = h0
            sc, st = [], []
            for t in range(len(s)):
                ins = [None, None]
                ins[xin], ins[sin] = s[t].reshape(dx.shape), h
                outs = ref.run(ins)
                h = outs[sout].astype(dh.dtype)  # tied quantization: the carry is a byte copy
                sc.append(outs[1 - sout].reshape(-1))
                st.append(h.reshape(-1))
            scores.append(sc)
            states.append(st)
            correct.append(np.argmax(np.array(sc, np.float64), axis=1) == y)
        npz[f"x_{variant}"], npz[f"h0_{variant}"] = xs, h0.reshape(-1)
        npz[f"out_{variant}"], npz[f"state_{variant}"] = np.array(scores), np.array(states)
        return float(np.mean(correct))
    d = ref.input_details[0]
    xq = quantize(data["x_test"], d).reshape(len(data["x_test"]), *d.shape[1:])  # elementwise: all at once
    outs = np.stack([ref.run([x[None]])[0][0] for x in xq])
    npz[f"x_{variant}"], npz[f"out_{variant}"] = xq, outs
    o = ref.output_details[0]
    deq = (outs.astype(np.float64) - o.zero_point) * o.scale if o.quantized else outs.astype(np.float64)
    if TASK[suite] == "anomaly":
        err = ((deq.reshape(len(deq), -1) - data["x_test"].reshape(len(deq), -1)) ** 2).mean(axis=1)
        return auc(err, data["y_test"])
    return float(np.mean(np.argmax(deq, axis=1) == data["y_test"]))


def _details(ds) -> list[dict]:
    return [{"shape": list(d.shape), "dtype": str(d.dtype), "scale": d.scale, "zero_point": d.zero_point}
            for d in ds]


def build(suite: str, out: Path | None = None, variants: tuple[str, ...] | None = None) -> dict:
    """Train, convert and evaluate one suite; returns its meta record (also written as meta.json)."""
    import tensorflow as tf

    out = out or ROOT / "suites" / suite / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    data = importlib.import_module(f"suites.{suite}.data").load()
    mm = importlib.import_module(f"suites.{suite}.model")
    model = mm.train(data)
    if TASK[suite] == "streaming":
        calib = mm.calibration_pairs(model, data["x_train"][:40])
    else:
        calib = data["x_train"][:CALIB_N]
    npz: dict[str, np.ndarray] = {"x": data["x_test"], "y": data["y_test"]}
    meta: dict = {"suite": suite, "task": TASK[suite], "model": model.name,
                  "params": int(model.count_params()), "calibration": "minmax", "bias_correction": False,
                  "calib_samples": int(len(calib[0]) if isinstance(calib, list) else len(calib)),
                  "test_vectors": int(np.prod(data["y_test"].shape)),
                  "metric": "auc" if TASK[suite] == "anomaly" else
                  ("frame_accuracy" if TASK[suite] == "streaming" else "accuracy"),
                  "tensorflow": tf.__version__, "variants": {}}
    for v in variants or SUITE_VARIANTS[suite]:
        blob = make_variant(model, calib, v)
        if TASK[suite] == "streaming" and v != "fp32":
            sin, sout = state_indices(Reference(blob))
            blob = tie_state(blob, sin, sout)
        (out / f"{v}.tflite").write_bytes(blob)
        ref = Reference(blob)
        metric = evaluate(suite, ref, data, npz, v)
        rec = {"bytes": len(blob), "tflm_arena_bytes": ref.arena_bytes(), meta["metric"]: round(metric, 4),
               "weight_bits": weight_bits(v), "activation_bits": activation_bits(v),
               "inputs": _details(ref.input_details), "outputs": _details(ref.output_details),
               "input_names": ref.input_names, "output_names": ref.output_names}
        if TASK[suite] == "streaming":
            sin, sout = state_indices(ref)
            rec["state"] = {"input": sin, "output": sout, "carry": "byte copy: state output quantization "
                            "is tied to the state input's (harness.quant.state.tie_state); reset = h0",
                            "h0": "all-zero float state quantized (npz h0_<variant>)"}
        meta["variants"][v] = rec
        print(f"{suite:8s} {v:8s} {len(blob):8d} B  arena {rec['tflm_arena_bytes']:6d} B  "
              f"{meta['metric']} {metric:.4f}", flush=True)
    np.savez_compressed(out / "test.npz", **npz)
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", action="append", choices=SUITES, help="suite to rebuild (repeatable); default all")
    p.add_argument("--out", type=Path, help="write to DIR/<suite>/ instead of suites/<suite>/artifacts/")
    a = p.parse_args(argv)
    for s in a.suite or SUITES:
        build(s, a.out / s if a.out else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
