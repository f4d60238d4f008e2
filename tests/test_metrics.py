"""Classification, agreement and AUC metrics (AUC checked against scikit-learn)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.metrics.agreement import bitexact, within_tolerance
from harness.metrics.anomaly import average_ranks, roc_auc
from harness.metrics.classification import accuracy, accuracy_from_scores, confusion_matrix, top1


def test_top1_on_raw_int8_scores_and_ties():
    scores = np.array([[-128, 5, 5], [127, -1, 0], [-3, -2, -100]], dtype=np.int8)
    assert top1(scores).tolist() == [1, 0, 1]  # tie 5/5 -> lowest index
    assert accuracy_from_scores(scores, [1, 0, 0]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="labels"):
        accuracy([1, 2], [1])


def test_confusion_matrix_matches_sklearn():
    sk_confusion = pytest.importorskip("sklearn.metrics").confusion_matrix
    labels = [0, 1, 2, 2, 1, 0, 2]
    pred = [0, 2, 2, 1, 1, 0, 0]
    assert confusion_matrix(labels, pred, 3).tolist() == sk_confusion(labels, pred, labels=[0, 1, 2]).tolist()


def test_bitexact_counts_mismatches_in_lsb_without_overflow():
    ref = np.array([[127, -128, 0], [1, 2, 3]], dtype=np.int8)
    dev = np.array([[-128, -128, 0], [1, 2, 3]], dtype=np.int8)
    a = bitexact(dev, ref)
    # 127 vs -128 differ by 255 LSB (int8 subtraction would wrap to 1).
    assert (a.vectors, a.matching_vectors, a.mismatched_elements, a.max_abs_diff) == (2, 1, 1, 255.0)
    assert a.fraction == 0.5 and not a.exact
    assert bitexact(ref, ref).exact
    with pytest.raises(ValueError, match="shape"):
        bitexact(ref, ref[:1])
    with pytest.raises(ValueError, match="within_tolerance"):
        bitexact(ref.astype(np.float32), ref.astype(np.float32))


def test_within_tolerance_for_float_outputs():
    ref = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    dev = ref + np.array([[1e-6, 0.0], [0.1, np.nan]], dtype=np.float32)
    a = within_tolerance(dev, ref, atol=1e-5, rtol=0.0)
    assert (a.matching_vectors, a.mismatched_elements) == (1, 2)
    assert a.max_abs_diff == float("inf")  # a NaN element is never close


def test_auc_hand_case_with_ties():
    # Positives {0.8, 0.5}, negatives {0.5, 0.1}: pairs (0.8>0.5),(0.8>0.1),(0.5=0.5 -> 1/2),(0.5>0.1)
    # -> 3.5 / 4.
    assert roc_auc([0.8, 0.5, 0.5, 0.1], [1, 1, 0, 0]) == pytest.approx(0.875)
    assert average_ranks([3, 1, 3]).tolist() == [2.5, 1.0, 2.5]
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([0.1, 0.2], [1, 1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=60))
def test_auc_agrees_with_sklearn(pairs):
    roc_auc_score = pytest.importorskip("sklearn.metrics").roc_auc_score  # the 'ml' extra
    scores = [s for s, _ in pairs]
    labels = [int(y) for _, y in pairs]
    assume(len(set(labels)) == 2)
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
