"""Weight-side quantization on the Keras model: fake-quantize kernels and correct biases.

Why on the Keras model: the TFLite converter quantizes weights itself (symmetric, max-abs/127 per
channel or per tensor). Putting the float weights on the wanted grid *before* conversion makes the
converter's int8 weights land on that grid, so TFLM runs the result unchanged and stays the
bit-exact reference. Bias correction works on the same fake-quantized model.

Supported weight layers: Dense, Conv1D, Conv2D, DepthwiseConv1D/2D (no BatchNormalization: the
converter folds BN into the kernel after our fake-quantization, which would move it off the grid).
"""

from __future__ import annotations

import numpy as np

from harness.errors import UnsupportedModel

_KERNEL_LAYERS = ("Dense", "Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D")


def weight_layers(model) -> list:
    """The layers whose kernels the converter quantizes, in topological order."""
    out = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "BatchNormalization":
            raise UnsupportedModel(
                f"model {model.name}: layer {layer.name} is BatchNormalization; the converter folds it "
                "into the kernel after fake-quantization, breaking the weight grid. Build the model "
                "without BN (or fold it) before making low-bit or bias-corrected variants."
            )
        if kind in _KERNEL_LAYERS:
            out.append(layer)
        elif getattr(layer, "kernel", None) is not None or getattr(layer, "depthwise_kernel", None) is not None:
            raise UnsupportedModel(
                f"model {model.name}: layer {layer.name} ({kind}) has weights this quantizer does not "
                f"handle; supported: {', '.join(_KERNEL_LAYERS)}"
            )
    return out


def _kernel_var(layer):
    return layer.kernel  # Keras 3 DepthwiseConv* also expose .kernel


def _as_channels(kernel: np.ndarray, layer) -> np.ndarray:
    """View a Keras kernel as (..., output channels), the converter's per-channel axis."""
    if type(layer).__name__.startswith("Depthwise"):
        # (k..., in, mult) -> TFLite 1HWC with C = in*mult (index i*mult + m)
        return kernel.reshape(kernel.shape[:-2] + (kernel.shape[-2] * kernel.shape[-1],))
    return kernel


def fake_quantize(w: np.ndarray, layer, bits: int, per_channel: bool = True, clip: str = "max") -> np.ndarray:
    """Round a kernel to a symmetric `bits`-bit grid: levels k*s, |k| <= 2^(bits-1)-1.

    clip="max": s = max|w| / qmax, exactly what the converter does for int8 (max-abs/127), so for
    bits=8 conversion reproduces the same integers; for 4 and 2 it is the w4/w2 grid (15 / 3
    levels per channel). clip="mse": s = a * max|w| / qmax with a in [0.2, 1] (33 steps) chosen
    per channel to minimise the squared rounding error (seed 003's MSE range setting); weights
    beyond the clip saturate, so max|w'| = qmax*s and the converter still lands on the grid.
    """
    if clip not in ("max", "mse"):
        raise UnsupportedModel(f"unknown weight clipping {clip!r}; choose 'max' or 'mse'")
    qmax = (1 << (bits - 1)) - 1
    wc = _as_channels(np.asarray(w, np.float32), layer)
    axes = tuple(range(wc.ndim - 1)) if per_channel else None
    amax = np.max(np.abs(wc), axis=axes, keepdims=per_channel)
    base = np.where(amax > 0, amax / np.float32(qmax), np.float32(1.0)).astype(np.float32)
    scale = base
    if clip == "mse":
        best = None
        for a in np.linspace(0.2, 1.0, 33, dtype=np.float32):
            s = (base * a).astype(np.float32)
            err = np.sum((np.clip(np.round(wc / s), -qmax, qmax) * s - wc) ** 2, axis=axes, keepdims=per_channel)
            if best is None:
                best, scale = err, s
            else:
                better = err < best
                best, scale = np.where(better, err, best), np.where(better, s, scale)
    q = np.clip(np.round(wc / scale), -qmax, qmax)
    return (q * scale).astype(np.float32).reshape(np.shape(w))


def clone_with_weights(model):
    """An independent copy of a Keras model with the same weights."""
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def quantize_kernels(model, bits: int, per_channel: bool = True, clip: str = "max"):
    """A clone whose kernels lie on the `bits`-bit grid (biases untouched)."""
    q = clone_with_weights(model)
    for layer in weight_layers(q):
        k = _kernel_var(layer)
        k.assign(fake_quantize(np.asarray(k), layer, bits, per_channel, clip))
    return q


def _linear_output(layer, x: np.ndarray) -> np.ndarray:
    """The layer's pre-activation output (its activation swapped for identity)."""
    import keras

    act = layer.activation
    layer.activation = keras.activations.linear
    try:
        return np.asarray(layer(x))
    finally:
        layer.activation = act


def _predict(model, data) -> np.ndarray:
    return np.asarray(model.predict(data, batch_size=1, verbose=0))


def correct_biases(float_model, qmodel, calib_data) -> None:
    """Empirical bias correction, in place on `qmodel` (weights already fake-quantized).

    Layer by layer in topological order: E[y_q - y_f] over the calibration set and all positions,
    where y_f is the float layer on its float input and y_q the quantized layer on its input in
    the (already corrected) quantized model, both before the activation; the bias is lowered by
    that mean. This removes the mean output shift caused by weight quantization and its
    propagation. Activations are not quantized in this simulation.
    """
    import keras

    f_layers = {layer.name: layer for layer in weight_layers(float_model)}
    for ql in weight_layers(qmodel):
        if not getattr(ql, "use_bias", False):
            continue
        fl = f_layers[ql.name]
        xf = _predict(keras.Model(float_model.inputs, fl.input), calib_data)
        xq = _predict(keras.Model(qmodel.inputs, ql.input), calib_data)
        yf, yq = _linear_output(fl, xf), _linear_output(ql, xq)  # kernels are batch-agnostic
        shift = (yq - yf).reshape(-1, yq.shape[-1]).mean(axis=0)
        ql.bias.assign(np.asarray(ql.bias) - shift.astype(np.float32))
