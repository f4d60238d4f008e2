"""The four checks of a classification suite, shared by har, kws and digits."""

from __future__ import annotations

from harness.metrics.agreement import within_tolerance
from harness.metrics.classification import accuracy_from_scores
from suites.common import Point, check_bitexact, check_count, check_footprint

FLOAT_ATOL, FLOAT_RTOL = 1e-5, 1e-4  # fp32: the C kernels may sum in another order than TFLM


def check_agreement(point: Point, hil_check) -> None:
    """Integer variants: bit-exact. fp32: every element within the stated tolerance."""
    if point.variant == "fp32":
        import numpy as np

        dev = np.stack([np.frombuffer(o, np.float32) for o in point.run.outputs])
        ref = np.stack([np.frombuffer(o, np.float32) for o in point.run.reference])
        agreement = within_tolerance(dev, ref, atol=FLOAT_ATOL, rtol=FLOAT_RTOL)
        hil_check(point.key, point.run, bitexact=agreement.fraction, max_abs_diff=float(agreement.max_abs_diff))
    else:
        check_bitexact(point, hil_check)


def check_accuracy(point: Point, hil_check) -> None:
    acc = accuracy_from_scores(point.outputs(0), point.artifacts.data["y"])
    hil_check(point.key, point.run, accuracy=acc)




# The four tests, imported by each classification suite's module (which defines `point`).
def test_matches_reference(point, hil_check):
    check_agreement(point, hil_check)


def test_accuracy(point, hil_check):
    check_accuracy(point, hil_check)


def test_count_per_inference(point, hil_check):
    check_count(point, hil_check)


def test_footprint(point, hil_check):
    check_footprint(point, hil_check)
