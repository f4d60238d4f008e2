"""Event metrics on hand-made sequences; every expected figure is worked out in the comments.

Unless stated, tolerances are early=2, late=3 frames (small, so windows fit in short
sequences): a prediction matches ground truth g when g.start-2 <= onset <= g.end+3.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.metrics.events import (
    Event,
    EventConfig,
    evaluate_events,
    evaluate_sequences,
    extract_events,
    frames_from_scores,
    latency_summary,
    plot_threshold_sweep,
    realtime,
    threshold_sweep,
)

CFG = EventConfig(early=2, late=3)


def kinds(res):
    return [m.kind for m in res.matches]


def test_on_time_detection():
    # gt event class 1 on frames 2..4; prediction identical -> onset 2, latency 0.
    res = evaluate_events([0, 0, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 0, 0], CFG)
    assert kinds(res) == ["correct"]
    assert res.latencies == [0]
    assert res.confusion.tolist() == [[0, 0], [0, 1]]
    assert res.error_rate == 0.0 and res.false_detections == 0


def test_early_detection_inside_tolerance_has_negative_latency():
    # gt 4..6 -> window [2, 9]; prediction run 2..5, onset 2 = window start -> latency 2-4 = -2.
    truth = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    pred = [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]
    res = evaluate_events(pred, truth, CFG)
    assert kinds(res) == ["correct"]
    assert res.latencies == [-2]


def test_too_early_is_a_miss_and_a_false_detection():
    # gt 4..6 -> window [2, 9]; prediction onset 1 < 2, even though the run overlaps the
    # event (1..5): only the onset counts -> missed event + false detection.
    truth = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    pred = [0, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    res = evaluate_events(pred, truth, CFG)
    assert sorted(kinds(res)) == ["false", "missed"]
    assert res.confusion.tolist() == [[0, 1], [1, 0]]
    assert res.error_rate == 1.0
    # 1 false detection in 10 frames = 100 per 1000 frames.
    assert res.false_positive_rate == pytest.approx(100.0)


def test_late_detection_at_the_edge_and_just_beyond():
    # gt 4..6 -> window ends at 6+3 = 9.
    truth = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    at_edge = [0] * 9 + [1, 0, 0]  # onset 9 -> latency 5, accepted
    beyond = [0] * 10 + [1, 0]  # onset 10 -> out of tolerance
    res = evaluate_events(at_edge, truth, CFG)
    assert kinds(res) == ["correct"] and res.latencies == [5]
    res = evaluate_events(beyond, truth, CFG)
    assert sorted(kinds(res)) == ["false", "missed"]
    assert res.latencies == []


def test_misclassified_between_positive_classes():
    # gt class 1 on 2..4; prediction class 2 on 3..4 (onset 3 in [0, 7]) -> misclassified,
    # counted at confusion[1, 2]; it is not a correct detection, so no latency summary.
    res = evaluate_events([0, 0, 0, 2, 2, 0, 0], [0, 0, 1, 1, 1, 0, 0], CFG)
    assert kinds(res) == ["misclassified"]
    assert res.confusion.tolist() == [[0, 0, 0], [0, 0, 1], [0, 0, 0]]
    assert res.misclassification_rate == 1.0 and res.miss_rate == 0.0
    assert res.matches[0].latency_frames == 1
    assert math.isnan(res.latency.mean)


def test_missed_and_false_alone():
    res = evaluate_events([0, 0, 0, 0, 0], [0, 1, 1, 0, 0], CFG)
    assert kinds(res) == ["missed"] and res.confusion.tolist() == [[0, 0], [1, 0]]
    res = evaluate_events([0, 1, 1, 0, 0], [0, 0, 0, 0, 0], CFG)
    assert kinds(res) == ["false"] and res.confusion.tolist() == [[0, 1], [0, 0]]
    assert math.isnan(res.error_rate)  # no ground-truth events: error rate undefined
    assert res.false_positive_rate == pytest.approx(200.0)  # 1 in 5 frames


def test_overlapping_windows_match_the_most_events():
    # gt A (class 1) 3..4 -> window [1, 7]; gt B (class 1) 8..9 -> window [6, 12].
    # Predictions at 6 and 11. Both windows contain 6. Earliest gt first takes its earliest
    # candidate: A <- 6 (latency 3), then B <- 11 (latency 3): two correct detections.
    # (Matching 6 to B as the closer event would leave A missed and 11 false.)
    truth = [0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0]
    pred = [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    res = evaluate_events(pred, truth, CFG)
    assert kinds(res) == ["correct", "correct"]
    assert res.latencies == [3, 3]
    assert [(m.truth.start, m.pred.start) for m in res.matches] == [(3, 6), (8, 11)]


def test_overlapping_windows_prefer_the_same_class():
    # gt A class 1 on 3..4 (window [1, 7]); gt B class 2 on 8..9 (window [6, 12]).
    # One prediction, class 2, onset 6: in both windows. Pass 1 (same class) gives it to B
    # (latency -2); pass 2 finds nothing left for A -> A missed.
    truth = [0, 0, 0, 1, 1, 0, 0, 0, 2, 2, 0, 0]
    pred = [0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0]
    res = evaluate_events(pred, truth, CFG)
    assert kinds(res) == ["missed", "correct"]
    assert res.latencies == [-2]
    assert res.confusion.tolist() == [[0, 0, 0], [1, 0, 0], [0, 0, 1]]


def test_multiple_detections_in_one_window():
    # gt 5..9 -> window [3, 12]; predictions 4..5, 7..8, 11 (three onsets inside).
    truth = [0] * 5 + [1] * 5 + [0] * 4
    pred = [0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0]
    # Default (absorb): the first (onset 4, latency -1) counts; the other two are absorbed,
    # out of the matrix and the FP rate.
    res = evaluate_events(pred, truth, CFG)
    assert kinds(res) == ["correct", "absorbed", "absorbed"]
    assert res.latencies == [-1]
    assert res.false_detections == 0 and res.confusion.tolist() == [[0, 0], [0, 1]]
    # Strict: the two extra triggers are false detections.
    strict = EventConfig(early=2, late=3, duplicates="false")
    res = evaluate_events(pred, truth, strict)
    assert kinds(res) == ["correct", "false", "false"]
    assert res.confusion.tolist() == [[0, 2], [0, 1]]
    # merge_gap=1: 4..5 and 7..8 are 1 frame apart -> one run 4..8; 11 is 2 frames after 8
    # -> stays separate: 1 correct (latency -1) + 1 false.
    res = evaluate_events(pred, truth, EventConfig(early=2, late=3, merge_gap=1, duplicates="false"))
    assert kinds(res) == ["correct", "false"]
    assert res.matches[0].pred == Event(1, 4, 8)


def test_absorb_stops_at_the_window_edge():
    # gt 2..3 -> window [0, 6]. Onsets 2 (correct, latency 0), 5 (inside: absorbed),
    # 7 (outside every window: a false detection even in absorb mode).
    truth = [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
    pred = [0, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    res = evaluate_events(pred, truth, CFG)
    assert kinds(res) == ["correct", "absorbed", "false"]
    assert (res.absorbed, res.false_detections) == (1, 1)
    assert res.confusion.tolist() == [[0, 1], [0, 1]]


def test_extract_events_merge_and_min_duration():
    frames = [0, 1, 1, 0, 1, 0, 0, 2, 0, 1]
    # Raw runs: class 1 on 1..2, class 1 on 4, class 2 on 7, class 1 on 9.
    assert extract_events(frames) == [Event(1, 1, 2), Event(1, 4, 4), Event(2, 7, 7), Event(1, 9, 9)]
    # merge_gap=1: 1..2 and 4 (gap 1) merge into 1..4; 9 follows a class-2 event -> not merged.
    assert extract_events(frames, merge_gap=1) == [Event(1, 1, 4), Event(2, 7, 7), Event(1, 9, 9)]
    # min_frames=2 after merging keeps only the 4-frame event.
    assert extract_events(frames, merge_gap=1, min_frames=2) == [Event(1, 1, 4)]
    # A run of another class in between blocks the merge even with a large gap.
    assert extract_events([1, 2, 1], merge_gap=5) == [Event(1, 0, 0), Event(2, 1, 1), Event(1, 2, 2)]
    # Another rejection class id.
    assert extract_events([3, 3, 0, 3], rejection=3) == [Event(0, 2, 2)]


def test_empty_and_quiet_sequences():
    res = evaluate_events([], [], CFG)
    assert res.frames == 0 and res.truth_events == 0 and res.matches == ()
    assert res.confusion.shape == (1, 1)
    assert math.isnan(res.error_rate) and math.isnan(res.false_positive_rate)
    res = evaluate_events([0] * 10, [0] * 10, CFG)
    assert res.false_positive_rate == 0.0 and res.matches == ()


def test_generalized_confusion_matrix_over_several_sequences():
    # Sequence 0 (classes 0..2), events: gt 1 on 1..2, gt 2 on 8..9.
    #   pred 1 at 2 -> correct [1,1]; pred 1 at 9 -> misclassified [2,1]; pred 2 at 15 ->
    #   outside [6, 12] -> false [0,2].
    # Sequence 1: gt 2 on 0..1 at the start; nothing predicted -> missed [2,0]. A gt event at
    #   the end of sequence 0 cannot be matched by a prediction in sequence 1.
    s0_truth = [0, 1, 1, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0]
    s0_pred = [0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2]
    s1_truth = [2, 2, 0, 0]
    s1_pred = [0, 0, 0, 0]
    res = evaluate_sequences([(s0_pred, s0_truth), (s1_pred, s1_truth)], CFG)
    assert res.confusion.tolist() == [[0, 0, 1], [0, 1, 0], [1, 1, 0]]
    assert (res.correct, res.misclassified, res.missed, res.false_detections) == (1, 1, 1, 1)
    assert res.error_rate == pytest.approx(2 / 3)
    assert res.frames == 20 and res.false_positive_rate == pytest.approx(50.0)
    assert [m.sequence for m in res.matches if m.kind == "missed"] == [1]


def test_latency_in_ms_and_distribution():
    # 20 Hz -> 50 ms frames. Three events detected with latencies -1, 0, 2 (frames).
    truth = [0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0]
    pred = [0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
    res = evaluate_events(pred, truth, EventConfig(early=2, late=3, frame_ms=50.0))
    assert res.latencies == [-1, 0, 2]
    lat = res.latency
    # mean (−1+0+2)/3 = 1/3; median 0; p90 = 0 + 0.8*(2-0) = 1.6 (linear interpolation).
    assert lat.mean == pytest.approx(1 / 3) and lat.median == 0 and lat.p90 == pytest.approx(1.6)
    assert lat.histogram == {-1: 1, 0: 1, 2: 1}
    assert lat.ms(lat.mean) == pytest.approx(50 / 3)
    # 22 frames of 50 ms = 1.1 s; no false detections.
    assert res.false_per_hour == 0.0
    assert res.summary()["mean_latency_ms"] == pytest.approx(50 / 3)
    assert latency_summary([]).count == 0


def test_frames_from_scores_thresholds_best_positive_class():
    scores = np.array([[0.9, 0.05, 0.05], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1]])
    # Frame 3: best non-rejection class is 1 with 0.4: below 0.45 -> rejection, above 0.35 -> 1.
    assert frames_from_scores(scores, 0.45).tolist() == [0, 1, 2, 0]
    assert frames_from_scores(scores, 0.35).tolist() == [0, 1, 2, 1]
    assert frames_from_scores(np.array([0.2, 0.7]), 0.5).tolist() == [0, 1]


def test_threshold_sweep_small_case(tmp_path):
    # Binary scores, early=1, late=1. gt event on 2..3 -> window [1, 4]. 10 frames.
    scores = np.array([0.1, 0.2, 0.9, 0.8, 0.1, 0.1, 0.6, 0.1, 0.1, 0.1])
    labels = np.array([0, 0, 1, 1, 0, 0, 0, 0, 0, 0])
    cfg = EventConfig(early=1, late=1, frame_ms=50.0)
    res = threshold_sweep(scores, labels, [0.15, 0.5, 0.85, 0.95], cfg)
    rows = {r.threshold: r for r in res.rows}
    # 0.15: frames 1..3 and 6 on -> onset 1 correct (latency -1), frame 6 false (100/1000 frames).
    assert (rows[0.15].error_rate, rows[0.15].false_positive_rate, rows[0.15].mean_latency_frames) == (0.0, 100.0, -1.0)
    # 0.5: frames 2..3 and 6 -> correct with latency 0, one false.
    assert (rows[0.5].error_rate, rows[0.5].false_positive_rate, rows[0.5].mean_latency_frames) == (0.0, 100.0, 0.0)
    # 0.85: only frame 2 -> correct, latency 0, no false detection.
    assert (rows[0.85].error_rate, rows[0.85].false_positive_rate, rows[0.85].mean_latency_frames) == (0.0, 0.0, 0.0)
    # 0.95: nothing -> missed; no latency.
    assert rows[0.95].error_rate == 1.0 and rows[0.95].miss_rate == 1.0 and math.isnan(rows[0.95].mean_latency_frames)
    # 10 frames of 50 ms = 0.5 s -> 1 false detection is 7200 per hour.
    assert rows[0.5].false_per_hour == pytest.approx(7200.0)
    assert "threshold" in res.table() and len(res.table().splitlines()) == 6
    # Same answer when given as a list of one sequence.
    again = threshold_sweep([scores], [labels], [0.15, 0.5, 0.85, 0.95], cfg)
    assert again.rows[:3] == res.rows[:3]
    as_lists = threshold_sweep(scores.tolist(), labels.tolist(), [0.5], cfg)  # plain lists: one sequence
    assert as_lists.rows[0] == rows[0.5]
    # Two sequences of different lengths: the second (5 quiet frames, one 0.6 spike) adds a
    # false detection and 5 frames: 2 false in 15 frames at 0.5 -> 133.3 per 1000 frames.
    two = threshold_sweep([scores, np.array([0.1, 0.6, 0.1, 0.1, 0.1])], [labels, np.zeros(5, int)], [0.5], cfg)
    assert two.rows[0].false_positive_rate == pytest.approx(2000 / 15)  # (row 3 holds a NaN latency, which never compares equal)
    out = plot_threshold_sweep(res, tmp_path / "sweep.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_realtime_margin_and_event_latency():
    # 600 000 cycles at 120 MHz = 5 ms; 20 Hz frames = 50 ms -> margin 45 ms (90 %).
    rt = realtime(600_000, 120e6, 50.0, "cycles")
    assert rt.inference_ms == pytest.approx(5.0) and rt.margin_ms == pytest.approx(45.0)
    assert rt.margin_fraction == pytest.approx(0.9) and rt.realtime
    # Latency -0.5 frame (seed 002's operating point) -> -25 ms + 5 ms inference = -20 ms.
    assert rt.event_latency_ms(-0.5) == pytest.approx(-20.0)
    # 4e6 instructions at 4 MHz with CPI 1.5 = 1.5 s per 50 ms frame -> not real time.
    slow = realtime(4_000_000, 4e6, 50.0, "instructions", cycles_per_instruction=1.5)
    assert slow.inference_ms == pytest.approx(1500.0) and not slow.realtime and slow.margin_ms < 0
    with pytest.raises(ValueError):
        realtime(1, 1e6, 50.0, "wall_us")


def test_bad_config_and_inputs_are_reported():
    with pytest.raises(ConfigError, match="early"):
        EventConfig(early=-1)
    with pytest.raises(ConfigError, match="duplicates"):
        EventConfig(duplicates="ignore")  # deliberately not an allowed value
    with pytest.raises(ValueError, match="predicted frames"):
        evaluate_events([0, 1], [0, 1, 0], CFG)


# ---- properties on random sequences: bookkeeping adds up, and pass 1 is a maximum matching.

def _max_matching(truth, preds, cfg):
    """Largest number of same-class (truth, prediction) pairs, by augmenting paths."""
    adj = {
        gi: [pi for pi, p in enumerate(preds) if p.cls == g.cls and g.start - cfg.early <= p.start <= g.end + cfg.late]
        for gi, g in enumerate(truth)
    }
    owner: dict[int, int] = {}

    def augment(gi, seen):
        for pi in adj[gi]:
            if pi not in seen:
                seen.add(pi)
                if pi not in owner or augment(owner[pi], seen):
                    owner[pi] = gi
                    return True
        return False

    return sum(augment(gi, set()) for gi in adj)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 2), max_size=40),
    st.lists(st.integers(0, 2), max_size=40),
    st.integers(0, 4),
    st.integers(0, 6),
    st.sampled_from(["absorb", "false"]),
)
def test_matching_invariants(truth, pred, early, late, duplicates):
    n = min(len(truth), len(pred))
    truth, pred = truth[:n], pred[:n]
    cfg = EventConfig(early=early, late=late, duplicates=duplicates)
    res = evaluate_events(pred, truth, cfg, num_classes=3)
    t_events = extract_events(truth)
    p_events = extract_events(pred)
    assert res.correct + res.misclassified + res.missed == len(t_events)
    assert res.correct + res.misclassified + res.false_detections + res.absorbed == len(p_events)
    assert res.confusion.sum() == len(t_events) + res.false_detections
    assert res.confusion[0, 0] == 0
    used = [m.pred for m in res.matches if m.pred is not None]
    assert len(used) == len(set(used)) == len(p_events)
    for m in res.matches:
        if m.truth is not None and m.pred is not None:
            assert m.truth.start - early <= m.pred.start <= m.truth.end + late
    assert res.correct == _max_matching(t_events, p_events, cfg)
