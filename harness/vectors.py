"""Test vectors from an .npz: the arrays a suite names, encoded in the model's input layout.

Conventions (the same for `hil.toml` suites, `hil run --data` and the sweep): labels in `y`;
inputs either already encoded for one variant (`x_<variant>`, used as is when its dtype is the
model input's) or float (`x`), quantized with the model input's scale and zero point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.errors import ConfigError
from harness.reference import TensorDetails, quantize


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of the file; ConfigError naming the file when it is missing or not an .npz."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as npz:
            return {k: np.asarray(npz[k]) for k in npz.files}
    except FileNotFoundError:
        raise ConfigError(f"{p}: test data not found", file=str(p), field="data") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{p}: not a readable .npz file ({exc})", file=str(p), field="data") from None


def encoded_inputs(arrays: dict[str, np.ndarray], variant: str, d: TensorDetails, source: str) -> np.ndarray:
    """The input array for `variant` in the model's dtype: `x_<variant>` if it has that dtype, else `x`
    quantized. The first axis (or the first two, for streams) indexes vectors."""
    raw = arrays.get(f"x_{variant}")
    if raw is not None and raw.dtype == d.dtype:
        x = raw
    elif "x" in arrays:
        x = np.asarray(arrays["x"])
        if x.dtype == d.dtype and d.dtype.kind in "iu":
            pass  # already quantized (int8/int16): used as is
        elif x.dtype.kind == "f":
            x = quantize(x, d)
        else:
            raise ConfigError(f"{source}: x is {x.dtype}; the model input is {d.dtype} (give float inputs, or "
                              f"inputs already in {d.dtype})", file=source, field="x")
    else:
        raise ConfigError(f"{source}: no input array 'x' (float, or already {d.dtype}) nor 'x_{variant}'; "
                          f"the file has {', '.join(sorted(arrays)) or 'no arrays'}", file=source, field="x")
    per = int(np.prod(d.shape))
    if x.ndim == 0 or x.size % per or (x[0].size % per):
        raise ConfigError(f"{source}: one input vector must have {per} values (model input {tuple(d.shape)}); "
                          f"x has shape {x.shape}", file=source, field="x")
    return x


def to_bytes(x: np.ndarray, d: TensorDetails) -> list[bytes]:
    """One raw input per vector (the first axis), in the firmware's wire layout."""
    flat = np.ascontiguousarray(x, dtype=d.dtype).reshape(len(x), -1)
    if flat.shape[1] != int(np.prod(d.shape)):
        raise ConfigError(f"one input vector has {flat.shape[1]} values, the model input {tuple(d.shape)} needs "
                          f"{int(np.prod(d.shape))}")
    return pack_vectors([flat])


def pack_vectors(tensors: list[np.ndarray]) -> list[bytes]:
    """Raw input bytes per vector in the firmware's layout (each input's bytes, in model input
    order), from one array per input holding every vector (vectors first): one numpy copy for
    the whole set instead of a conversion per vector and tensor."""
    if not tensors:
        return []
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        raise ConfigError(f"the input arrays have different numbers of vectors: {[len(t) for t in tensors]}")
    rows = np.concatenate([np.ascontiguousarray(t).reshape(n, -1).view(np.uint8) for t in tensors], axis=1)
    width = rows.shape[1]
    flat = rows.tobytes()
    return [flat[i * width : (i + 1) * width] for i in range(n)]


def labels(arrays: dict[str, np.ndarray], source: str) -> np.ndarray:
    if "y" not in arrays:
        raise ConfigError(f"{source}: no label array 'y'; the file has {', '.join(sorted(arrays))}",
                          file=source, field="y")
    return np.asarray(arrays["y"])


def model_inputs(model: str | Path, x: object) -> list[bytes]:
    """Raw inputs for `model` from what a user has: one array (single-input model), a list of arrays
    (one per input, same number of rows), or a list of raw `bytes` per vector (used as is). Float
    arrays are quantized with each input's scale and zero point; integer arrays must have the input's
    dtype."""
    from harness.reference import Reference

    if isinstance(x, (list, tuple)) and x and all(isinstance(v, (bytes, bytearray)) for v in x):
        return [bytes(v) for v in x]
    ref = Reference(model)
    arrays = [np.asarray(v) for v in x] if isinstance(x, (list, tuple)) else [np.asarray(x)]
    if len(arrays) != len(ref.input_details):
        raise ConfigError(f"{model}: got {len(arrays)} input array(s); the model has {len(ref.input_details)} inputs")
    encoded = []
    for a, d in zip(arrays, ref.input_details):
        if a.dtype.kind == "f":
            a = quantize(a, d)
        elif a.dtype != d.dtype:
            raise ConfigError(f"{model}: input {d.index} is {d.dtype}; got {a.dtype} (give float values to be "
                              f"quantized, or {d.dtype} values)")
        if a[0].size != int(np.prod(d.shape)):
            raise ConfigError(f"{model}: one vector of input {d.index} has {a[0].size} values, the model needs "
                              f"{int(np.prod(d.shape))} {tuple(d.shape)}")
        encoded.append(a)
    return pack_vectors(encoded)
