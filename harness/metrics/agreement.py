"""Agreement between device outputs and the host reference.

The harness promises bit-exact int8/int16 outputs against the TFLM runtime, so the
primary figure is the fraction of vectors that match exactly; mismatch counts and the
largest difference in LSB tell *how* wrong a non-exact kernel is. Float models cannot be
bit-exact across FPUs/soft-float, hence the tolerance variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

FLOAT_ATOL, FLOAT_RTOL = 1e-5, 1e-4  # fp32 outputs: |device - reference| <= atol + rtol * |reference|


@dataclass(frozen=True)
class Agreement:
    """Device vs reference over a batch of output vectors (first axis = vector)."""

    vectors: int
    matching_vectors: int  # bit-exact (integer) or all elements within tolerance (float)
    elements: int
    mismatched_elements: int
    max_abs_diff: float  # in LSB for integer outputs, in output units for float

    @property
    def fraction(self) -> float:
        """Fraction of vectors that agree (1.0 for an empty batch is avoided: 0 vectors -> 0.0)."""
        return self.matching_vectors / self.vectors if self.vectors else 0.0

    @property
    def exact(self) -> bool:
        return self.vectors > 0 and self.matching_vectors == self.vectors


def _pair(device: ArrayLike, reference: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    dev = np.asarray(device)
    ref = np.asarray(reference)
    if dev.shape != ref.shape:
        raise ValueError(
            f"device output shape {dev.shape} != reference shape {ref.shape}: "
            "check the model's output tensor and how vectors were stacked"
        )
    if dev.ndim == 0:
        dev, ref = dev.reshape(1, 1), ref.reshape(1, 1)
    elif dev.ndim == 1:  # a single vector
        dev, ref = dev.reshape(1, -1), ref.reshape(1, -1)
    return dev.reshape(dev.shape[0], -1), ref.reshape(ref.shape[0], -1)


def bitexact(device: ArrayLike, reference: ArrayLike) -> Agreement:
    """Exact comparison of integer outputs; differences measured in LSB (no overflow)."""
    dev, ref = _pair(device, reference)
    if not (np.issubdtype(dev.dtype, np.integer) and np.issubdtype(ref.dtype, np.integer)):
        raise ValueError(
            f"bitexact() needs integer outputs, got {dev.dtype} and {ref.dtype}; "
            "use within_tolerance() for float models"
        )
    diff = np.abs(dev.astype(np.int64) - ref.astype(np.int64))
    bad = diff != 0
    return Agreement(
        vectors=dev.shape[0],
        matching_vectors=int(np.sum(~bad.any(axis=1))),
        elements=int(diff.size),
        mismatched_elements=int(bad.sum()),
        max_abs_diff=float(diff.max()) if diff.size else 0.0,
    )


def within_tolerance(device: ArrayLike, reference: ArrayLike, atol: float = 1e-5, rtol: float = 1e-4) -> Agreement:
    """Float comparison: an element agrees if |d - r| <= atol + rtol*|r| (NaN never agrees)."""
    dev, ref = _pair(device, reference)
    d = dev.astype(np.float64)
    r = ref.astype(np.float64)
    diff = np.abs(d - r)
    bad = ~(diff <= atol + rtol * np.abs(r))  # NaN compares False -> bad
    finite = diff[np.isfinite(diff)]
    return Agreement(
        vectors=dev.shape[0],
        matching_vectors=int(np.sum(~bad.any(axis=1))),
        elements=int(diff.size),
        mismatched_elements=int(bad.sum()),
        max_abs_diff=float(finite.max()) if finite.size == diff.size and diff.size else (float("inf") if diff.size else 0.0),
    )


def agreement(device: ArrayLike, reference: ArrayLike) -> Agreement:
    """The harness's one agreement rule: integer outputs bit-exact, float outputs within
    FLOAT_ATOL / FLOAT_RTOL (the C kernels may sum in another order than TFLM)."""
    dev = np.asarray(device)
    if np.issubdtype(dev.dtype, np.integer):
        return bitexact(dev, reference)
    return within_tolerance(dev, reference, atol=FLOAT_ATOL, rtol=FLOAT_RTOL)


def agreeing_vectors(device: ArrayLike, reference: ArrayLike) -> np.ndarray:
    """Per vector (first axis), whether it agrees under `agreement`'s rule."""
    dev, ref = _pair(device, reference)
    if np.issubdtype(dev.dtype, np.integer):
        return np.asarray((dev.astype(np.int64) == ref.astype(np.int64)).all(axis=1))
    d, r = dev.astype(np.float64), ref.astype(np.float64)
    return np.asarray((np.abs(d - r) <= FLOAT_ATOL + FLOAT_RTOL * np.abs(r)).all(axis=1))
