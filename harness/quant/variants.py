"""Quantization variants of one Keras model: fp32, int8, int8-pt, int16x8, w4a8, w2a8.

Why one function: the lab sweeps variants of the same trained model, so every variant must come
from the same weights and calibration set by one reproducible recipe (conversion output is
byte-deterministic for a given model and data).

Recipes (TF 2.21 `TFLiteConverter`, flags as in shared/reference/ml.md §4):
- fp32: plain conversion, float I/O.
- int8: full-integer, per-channel weights, int8 I/O.  int8-pt: the same with per-tensor weights.
- int16x8: 16-bit activations, 8-bit per-channel weights, int16 I/O.
- w4a8 / w2a8: the Keras kernels are first fake-quantized per output channel to a symmetric 4-/2-bit
  grid (15 / 3 levels), converted like int8, then `grid.snap_to_grid` rewrites each int8 weight to
  k*m exactly (m = 18 / 127). The result is a plain int8 model TFLM runs unchanged.

Calibration of activation ranges:
- "minmax": the converter's own calibrator (global min and max of every tensor over calib_data).
- "percentile": the same calibration pass, then every recorded range except the graph inputs'
  is narrowed to the [100-p, p] percentiles (p = 99.99 by default) of that tensor's values over
  calib_data (collected by running the calibrated float model with all tensors preserved),
  before the converter's quantizer uses them. Only for the int8-activation variants.
Weight range for w4/w2 (`weight_clip`): "max" (max-abs per channel, default) or "mse" (per-channel
clip minimising the weights' squared rounding error).
Bias correction (`bias_correction=True`): see `weights.correct_biases`; the kernels are
fake-quantized as the variant will quantize them and each bias absorbs the mean output shift.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np

from harness.errors import UnsupportedModel
from harness.quant import grid, weights

VARIANTS: tuple[str, ...] = ("fp32", "int8", "int8-pt", "int16x8", "w4a8", "w2a8")
CALIBRATIONS: tuple[str, ...] = ("minmax", "percentile")

_WBITS = {"fp32": 32, "int8": 8, "int8-pt": 8, "int16x8": 8, "w4a8": 4, "w2a8": 2}
_ABITS = {"fp32": 32, "int8": 8, "int8-pt": 8, "int16x8": 16, "w4a8": 8, "w2a8": 8}


def weight_bits(variant: str) -> int:
    """Bits per weight as stored for BOPs (fp32 counts as 32)."""
    return _WBITS[_check(variant)]


def activation_bits(variant: str) -> int:
    """Bits per activation for BOPs (fp32 counts as 32)."""
    return _ABITS[_check(variant)]


def _check(variant: str) -> str:
    if variant not in VARIANTS:
        raise UnsupportedModel(f"unknown quantization variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return variant


def _as_inputs(calib_data) -> list[np.ndarray]:
    if isinstance(calib_data, (list, tuple)):
        return [np.asarray(a, np.float32) for a in calib_data]
    return [np.asarray(calib_data, np.float32)]


def _representative(model, inputs: list[np.ndarray]):
    """Generator of single samples, batch 1, keyed by input name (order-proof for multi-input)."""
    names = [t.name.split(":")[0] for t in model.inputs]
    n = len(inputs[0])

    def gen() -> Iterator:
        for i in range(n):
            sample = [a[i:i + 1] for a in inputs]
            yield dict(zip(names, sample)) if len(sample) > 1 else sample

    return gen


def _predict_data(inputs: list[np.ndarray]):
    return inputs if len(inputs) > 1 else inputs[0]


@contextlib.contextmanager
def _percentile_ranges(p: float, inputs_gen) -> Iterator[None]:
    """While active, the converter's calibration pass narrows ranges to percentiles (module doc)."""
    from tensorflow.lite.python.optimize import calibrator

    original = calibrator.Calibrator.calibrate

    def calibrate(self, dataset_gen):
        calibrated = original(self, dataset_gen)
        return _narrow(calibrated, p, inputs_gen)

    calibrator.Calibrator.calibrate = calibrate
    try:
        yield
    finally:
        calibrator.Calibrator.calibrate = original


def _narrow(calibrated: bytes, p: float, inputs_gen) -> bytes:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    _fb, m, _ = grid._load(calibrated)
    sg = m.subgraphs[0]
    ranged = [i for i, t in enumerate(sg.tensors)
              if t.quantization is not None and t.quantization.min is not None
              and len(t.quantization.min) == 1 and i not in set(sg.inputs.tolist())]
    interp = Interpreter(
        model_content=calibrated, num_threads=1, experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    details = interp.get_input_details()
    seen: dict[int, list[np.ndarray]] = {i: [] for i in ranged}
    for sample in inputs_gen():
        vals = list(sample.values()) if isinstance(sample, dict) else sample
        keys = list(sample.keys()) if isinstance(sample, dict) else None
        for j, d in enumerate(details):
            if keys is not None:
                x = sample[next((k for k in keys if d["name"] == f"serving_default_{k}:0"),
                                next(k for k in keys if k in d["name"]))]
            else:
                x = vals[j]
            interp.set_tensor(d["index"], x)
        interp.invoke()
        for i in ranged:
            try:
                seen[i].append(np.array(interp.get_tensor(i)).reshape(-1))
            except ValueError:
                pass
    for i in ranged:
        if not seen[i]:
            continue
        v = np.concatenate(seen[i])
        q = sg.tensors[i].quantization
        lo = float(np.percentile(v, 100.0 - p))
        hi = float(np.percentile(v, p))
        # narrow only, and keep 0 representable (the quantizer needs it)
        q.min = [max(float(q.min[0]), min(lo, 0.0))]
        q.max = [min(float(q.max[0]), max(hi, 0.0))]
    return grid._save(m)


def make_variant(keras_model, calib_data: np.ndarray | Sequence[np.ndarray], variant: str, *,
                 calibration: str = "minmax", bias_correction: bool = False,
                 percentile: float = 99.99, weight_clip: str = "max") -> bytes:
    """Convert `keras_model` to the .tflite bytes of `variant` (see the module doc for recipes).

    `calib_data`: one float array (samples first) or a list of them, one per model input, in
    Keras input order. Use a few hundred unlabelled training samples.
    `weight_clip` ("max" or "mse") sets the w4/w2 grid's per-channel scale (`weights.fake_quantize`);
    int8 weights always use the converter's max-abs scale.
    """
    import tensorflow as tf

    _check(variant)
    if calibration not in CALIBRATIONS:
        raise UnsupportedModel(f"unknown calibration {calibration!r}; choose one of {', '.join(CALIBRATIONS)}")
    if calibration == "percentile" and variant == "int16x8":
        raise UnsupportedModel(
            "percentile calibration is implemented for int8 activations only (int16x8 uses the "
            "converter's legacy quantizer, which calibrates internally); use calibration='minmax'"
        )
    inputs = _as_inputs(calib_data)
    model = keras_model
    if variant == "fp32":
        return bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())

    wbits = _WBITS[variant]
    if wbits < 8 or bias_correction:
        weights.weight_layers(model)  # rejects BN / unknown weight layers early
        qmodel = weights.quantize_kernels(model, wbits, per_channel=(variant != "int8-pt"),
                                          clip=weight_clip if wbits < 8 else "max")
        if bias_correction:
            weights.correct_biases(model, qmodel, _predict_data(inputs))
        model = qmodel

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    rep = _representative(model, inputs)
    conv.representative_dataset = rep
    if variant == "int16x8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int16
    else:
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    if variant == "int8-pt":
        conv._experimental_disable_per_channel = True

    ctx = _percentile_ranges(percentile, rep) if calibration == "percentile" else contextlib.nullcontext()
    with ctx:
        out = bytes(conv.convert())
    if wbits < 8:
        out = grid.snap_to_grid(out, wbits)
    return out
