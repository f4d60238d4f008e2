"""Classification metrics from raw device outputs.

Device outputs arrive as raw int8/int16 or float score vectors; the same functions must
work on both so that device and host reference are judged by one rule. Ties in argmax go
to the lowest class index (numpy's rule), which is what the firmware's comparison loop
must also do for top-1 to agree.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def top1(scores: ArrayLike) -> np.ndarray:
    """Predicted class per vector (argmax over the last axis, ties to the lowest index).

    Works on raw quantized scores: argmax is invariant to the affine dequantization
    (positive scale), so there is no need to dequantize first.
    """
    arr = np.asarray(scores)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(f"top1 needs scores with a class axis, got shape {arr.shape}")
    return np.argmax(arr, axis=-1)


def accuracy(predicted: ArrayLike, labels: ArrayLike) -> float:
    """Fraction of predictions equal to their label (0..1)."""
    pred = np.asarray(predicted).ravel()
    lab = np.asarray(labels).ravel()
    if pred.shape != lab.shape:
        raise ValueError(f"accuracy: {pred.size} predictions but {lab.size} labels")
    if pred.size == 0:
        raise ValueError("accuracy of an empty set is undefined: pass at least one vector")
    return float(np.mean(pred == lab))


def accuracy_from_scores(scores: ArrayLike, labels: ArrayLike) -> float:
    """Top-1 accuracy straight from score vectors (one row per input)."""
    return accuracy(top1(scores), labels)


def confusion_matrix(labels: ArrayLike, predicted: ArrayLike, num_classes: int | None = None) -> np.ndarray:
    """Counts[i, j] = inputs of true class i predicted as class j (rows are truth)."""
    lab = np.asarray(labels, dtype=np.int64).ravel()
    pred = np.asarray(predicted, dtype=np.int64).ravel()
    if lab.shape != pred.shape:
        raise ValueError(f"confusion_matrix: {lab.size} labels but {pred.size} predictions")
    if lab.size and (lab.min() < 0 or pred.min() < 0):
        raise ValueError("confusion_matrix: class ids must be >= 0")
    n = num_classes if num_classes is not None else (int(max(lab.max(), pred.max())) + 1 if lab.size else 0)
    if lab.size and max(lab.max(), pred.max()) >= n:
        raise ValueError(f"confusion_matrix: class id {int(max(lab.max(), pred.max()))} >= num_classes {n}")
    out = np.zeros((n, n), dtype=np.int64)
    np.add.at(out, (lab, pred), 1)
    return out
