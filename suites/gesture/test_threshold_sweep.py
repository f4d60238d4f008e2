"""Seed 002 Fig. 3.3 from the device's own scores: a custom check beside the suite file.

`hil_suite` gives the same run as the suite's own checks (cached), as a Point with numpy outputs.
"""

from harness.metrics.events import SEED_002, plot_threshold_sweep, threshold_sweep

THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995]


def test_threshold_sweep(hil_suite, hil, tmp_path):
    """FP rate vs error rate and latency vs threshold; raising the threshold must not add false
    detections overall (first vs last threshold). The plot goes next to the run's records."""
    point = hil_suite("int8")
    y = point.labels  # (streams, frames)
    scores = point.dequantized(0).reshape(*y.shape, -1)
    sweep = threshold_sweep(list(scores), list(y), THRESHOLDS, SEED_002, num_classes=4)
    writer = hil.writer()
    out_dir = writer.run_dir if writer is not None else tmp_path
    png = plot_threshold_sweep(sweep, out_dir / f"gesture_threshold_sweep_int8_{point.run.board.name}.png")
    png.with_suffix(".txt").write_text(sweep.table() + "\n")
    assert png.stat().st_size > 0
    assert sweep.rows[-1].false_positive_rate <= sweep.rows[0].false_positive_rate, sweep.table()
