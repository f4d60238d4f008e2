"""Anomaly detection: dense autoencoder on 640-dim spectra, judged by reconstruction-error AUC."""

import numpy as np

from harness.metrics.anomaly import roc_auc
from suites.common import Artifacts, check_bitexact, check_count, check_footprint, point_fixture

SUITE = "ad"
MODEL = Artifacts(SUITE).model_name  # names the point in records, even when its run fails
point = point_fixture(SUITE)


def anomaly_scores(point) -> np.ndarray:
    """Reconstruction MSE per vector, in the input's real units (both sides dequantized)."""
    d_in = point.artifacts.meta["variants"][point.variant]["inputs"][0]
    x = point.artifacts.data[f"x_{point.variant}"].astype(np.float64)
    if d_in["dtype"] != "float32":
        x = (x - d_in["zero_point"]) * d_in["scale"]
    y = point.dequantized(0)
    return ((y - x.reshape(y.shape)) ** 2).mean(axis=1)


def test_matches_reference(point, hil_check):
    check_bitexact(point, hil_check)


def test_auc(point, hil_check):
    hil_check(point.key, point.run, auc=roc_auc(anomaly_scores(point), point.artifacts.data["y"]))


def test_count_per_inference(point, hil_check):
    check_count(point, hil_check)


def test_footprint(point, hil_check):
    check_footprint(point, hil_check)
