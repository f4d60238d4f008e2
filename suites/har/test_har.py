"""Activity recognition: 1D-CNN on BasicMotions (real accelerometer + gyroscope windows).

One pytest item per check (suites/_classification.py), for every committed variant, on every --board.
"""

from suites._classification import (  # noqa: F401  (collected here, with this module's point)
    test_accuracy,
    test_count_per_inference,
    test_footprint,
    test_matches_reference,
)
from suites.common import Artifacts, point_fixture

SUITE = "har"
MODEL = Artifacts(SUITE).model_name  # names the point in records, even when its run fails
point = point_fixture(SUITE)
