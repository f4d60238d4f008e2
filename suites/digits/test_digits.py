"""Image classification: small CNN on scikit-learn's 8x8 digits (real data).

One pytest item per check, for every committed variant, on every --board.
"""

from suites._classification import check_accuracy, check_agreement, check_count, check_footprint
from suites.common import Artifacts, point_fixture

SUITE = "digits"
MODEL = Artifacts(SUITE).model_name  # names the point in records, even when its run fails
point = point_fixture(SUITE)


def test_matches_reference(point, hil_check):
    check_agreement(point, hil_check)


def test_accuracy(point, hil_check):
    check_accuracy(point, hil_check)


def test_count_per_inference(point, hil_check):
    check_count(point, hil_check)


def test_footprint(point, hil_check):
    check_footprint(point, hil_check)
