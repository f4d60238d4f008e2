"""Streaming gesture detection: an explicit-state GRU cell run frame by frame on the device.

The state lives on the device between frames (the generated C carries it) and is reset at the
start of every stream; the host sends one 3-axis frame per inference. Judged by frame-based event
metrics (seed 002: 10 frames early, 20 late, at 20 Hz) and by the real-time margin at the board's
clock.
"""

import numpy as np

from harness.metrics.classification import accuracy, top1
from harness.metrics.events import SEED_002, evaluate_sequences, realtime
from harness.runner import StateWiring
from suites.common import Artifacts, check_bitexact, check_footprint, point_fixture

SUITE = "gesture"
MODEL = Artifacts(SUITE).model_name  # names the point in records, even when its run fails
FRAME_MS = 50.0  # 20 Hz


def _streaming(art: Artifacts, variant: str) -> dict:
    wiring = art.meta["variants"][variant]["state"]
    streams, frames = art.data[f"x_{variant}"].shape[:2]
    h0 = np.ascontiguousarray(art.data[f"h0_{variant}"]).tobytes()
    return {"state": StateWiring(wiring["input"], wiring["output"], h0),
            "reset_before": tuple(range(0, streams * frames, frames))}


point = point_fixture(SUITE, run_options=_streaming)


def _scores_output(point) -> int:
    """Index of the class-score output (the other one is the state)."""
    return 1 - point.artifacts.meta["variants"][point.variant]["state"]["output"]


def _events(point):
    y = point.artifacts.data["y"]  # (streams, frames)
    predicted = top1(point.outputs(_scores_output(point))).reshape(y.shape)
    return evaluate_sequences(zip(predicted, y), SEED_002, num_classes=4), predicted, y


def test_matches_reference(point, hil_check):
    """Outputs and the carried state agree bit for bit with the TFLM runtime, frame by frame."""
    check_bitexact(point, hil_check)


def test_frame_accuracy(point, hil_check):
    _, predicted, y = _events(point)
    hil_check(point.key, point.run, accuracy=accuracy(predicted.ravel(), y.ravel()))


def test_event_metrics(point, hil_check):
    result, _, _ = _events(point)
    assert result.truth_events > 0, "the test streams hold no events"
    hil_check(point.key, point.run, false_positive_rate=result.false_positive_rate,
              mean_latency_frames=result.latency.mean if result.latency.count else None,
              event_error_rate=result.error_rate)


def test_realtime(point, hil_check):
    """One inference per frame must fit the 50 ms frame period at the board's clock."""
    run = point.run
    rt = realtime(run.count_per_inference, run.board.clock_hz, FRAME_MS, run.count_kind)
    assert rt.realtime, (f"{rt.inference_ms:.3f} ms per frame ({run.count_per_inference:,} {run.count_kind} "
                         f"at {run.board.clock_hz / 1e6:g} MHz) exceeds the {FRAME_MS} ms frame period")
    hil_check(point.key, run, **{f"{run.count_kind}_per_inference": run.count_per_inference},
              realtime_margin_ms=rt.margin_ms, inference_ms=rt.inference_ms)


def test_footprint(point, hil_check):
    check_footprint(point, hil_check)


def test_threshold_sweep(point, hil, tmp_path):
    """Seed 002 Fig. 3.3 from the device's own scores: FP rate vs error rate, latency vs threshold.

    The plot goes next to the run's records; raising the threshold must not add false detections
    overall (first vs last threshold)."""
    from harness.metrics.events import plot_threshold_sweep, threshold_sweep

    y = point.artifacts.data["y"]
    scores = point.dequantized(_scores_output(point)).reshape(*y.shape, -1)
    sweep = threshold_sweep(list(scores), list(y), [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995], SEED_002, num_classes=4)
    writer = hil.writer()
    out_dir = writer.run_dir if writer is not None else tmp_path
    png = plot_threshold_sweep(sweep, out_dir / f"gesture_threshold_sweep_{point.variant}_{point.run.board.name}.png")
    (png.with_suffix(".txt")).write_text(sweep.table() + "\n")
    assert png.stat().st_size > 0
    assert sweep.rows[-1].false_positive_rate <= sweep.rows[0].false_positive_rate, sweep.table()
