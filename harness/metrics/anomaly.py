"""ROC AUC for anomaly detection, computed from ranks.

AUC equals the Mann-Whitney probability that a random anomalous input scores higher than
a random normal one, ties counting one half. Computing it from average ranks gives that
tie rule exactly without building the ROC curve, and keeps the harness free of sklearn
at run time (sklearn only checks it in the tests).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def average_ranks(values: ArrayLike) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of the ranks they span."""
    x = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(x.size, dtype=np.float64)
    # Boundaries of runs of equal values in sorted order.
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], x.size]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + 1 + e) / 2.0  # mean of ranks s+1 .. e
    return ranks


def roc_auc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the ROC curve; labels are truthy for anomalies (positives).

    Higher score = more anomalous (e.g. reconstruction error).
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel().astype(bool)
    if s.shape != y.shape:
        raise ValueError(f"roc_auc: {s.size} scores but {y.size} labels")
    if np.isnan(s).any():
        raise ValueError("roc_auc: scores contain NaN; check the device output dequantization")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"roc_auc needs both classes, got {n_pos} anomalous and {n_neg} normal inputs")
    ranks = average_ranks(s)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def reconstruction_error(inputs: ArrayLike, outputs: ArrayLike) -> np.ndarray:
    """Anomaly score of an autoencoder: mean squared error per vector (first axis), in real units."""
    x = np.asarray(inputs, np.float64)
    y = np.asarray(outputs, np.float64)
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    if x.shape != y.shape:
        raise ValueError(f"reconstruction error needs outputs shaped like the inputs: {y.shape} vs {x.shape}")
    return np.asarray(((y - x) ** 2).mean(axis=1))
