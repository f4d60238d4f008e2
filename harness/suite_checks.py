"""The checks of a suite, one pytest item each, for every variant on every --board.

A `hil.toml` file becomes a test module built here (`suite_module`): its `point` fixture runs
the variant on the board once, and its tests are the task's checks:

- every task: `test_matches_reference` (asserted here: integer outputs bit-exact with the TFLM
  reference, float within tolerance; never left to a budget line), `test_footprint`;
- classification: `test_accuracy`, `test_count_per_inference`;
- anomaly: `test_auc`, `test_count_per_inference`;
- events: `test_frame_accuracy`, `test_event_metrics`, `test_realtime` (which checks the count).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from harness.errors import ConfigError
from harness.point import Point
from harness.reference import Reference, TensorDetails, quantize
from harness.runner import StateWiring
from harness.suite_file import SuiteSpec
from harness.vectors import encoded_inputs, labels, to_bytes


@dataclass
class SuitePoint(Point):
    """A point of a suite file: also its spec and the encoded inputs it was fed."""

    spec: SuiteSpec | None = None
    inputs: np.ndarray | None = None


@dataclass(frozen=True)
class SuiteInputs:
    """What one variant of a suite sends to the device, and the `run_model` options it needs."""

    encoded: np.ndarray  # (N, ...) or (streams, frames, ...) in the model input's dtype
    raw: list[bytes]
    labels: np.ndarray
    options: dict[str, Any] = field(default_factory=dict)


def prepare_inputs(spec: SuiteSpec, variant: str, arrays: dict[str, np.ndarray]) -> SuiteInputs:
    """Encode the suite's test set for `variant`'s model (streaming: one frame per inference, state
    kept on the device and reset at the start of every stream)."""
    source = str(spec.data)
    model = spec.variants[variant]
    ref = Reference(model)
    details: list[TensorDetails] = list(ref.input_details)
    stream = spec.stream
    if stream is not None:
        for key, idx, count in (("state_input", stream.state_input, len(details)),
                                ("state_output", stream.state_output, len(ref.output_details))):
            if not 0 <= idx < count:
                raise ConfigError(f"{spec.path}: [suite.stream] {key} = {idx}, but {model.name} has {count}",
                                  file=str(spec.path), field=key)
        details = [d for d in details if d.index != stream.state_input]
    if len(details) != 1:
        raise ConfigError(f"{spec.path}: {model.name} has {len(details)} (non-state) inputs; a suite file feeds one "
                          "input tensor: use the hil_model fixture for multi-input models", file=str(spec.path))
    d = details[0]
    y = labels(arrays, source)
    x = encoded_inputs(arrays, variant, d, source)
    if stream is None:
        if spec.vectors is not None:
            x, y = x[: spec.vectors], y[: spec.vectors]
        if len(y) != len(x):
            raise ConfigError(f"{source}: {len(x)} input vectors but {len(y)} labels", file=source, field="y")
        return SuiteInputs(x, to_bytes(x, d), y)
    if x.ndim < 3 or y.shape != x.shape[:2]:
        raise ConfigError(f"{source}: a stream suite needs x as (streams, frames, ...) and y as (streams, frames); "
                          f"got x {x.shape}, y {y.shape}", file=source, field="x")
    if spec.vectors is not None:
        x, y = x[: spec.vectors], y[: spec.vectors]
    streams, frames = x.shape[:2]
    state = ref.input_details[stream.state_input]
    h0_key = stream.h0 or next((k for k in (f"h0_{variant}", "h0") if k in arrays), None)
    if h0_key is None:
        h0 = np.zeros(state.shape, state.dtype)
    elif h0_key not in arrays:
        raise ConfigError(f"{source}: no array {h0_key!r} for the initial state", file=source, field="h0")
    else:
        h0 = arrays[h0_key]
        h0 = h0 if h0.dtype == state.dtype else quantize(h0, state)
    if h0.size != int(np.prod(state.shape)):
        raise ConfigError(f"{source}: {h0_key} has {h0.size} values, the state input needs {int(np.prod(state.shape))}",
                          file=source, field="h0")
    options = {"state": StateWiring(stream.state_input, stream.state_output,
                                    np.ascontiguousarray(h0, state.dtype).tobytes()),
               "reset_before": tuple(range(0, streams * frames, frames))}
    return SuiteInputs(x, to_bytes(x.reshape(streams * frames, *x.shape[2:]), d), y, options)


# --------------------------------------------------------------------------- the checks


def check_footprint(point: Point, hil_check: Callable[..., None]) -> None:
    run = point.run
    hil_check(point, flash_bytes=run.footprint.flash, ram_bytes=run.footprint.ram_total,
              stack_bytes=run.stack_high_water)


def check_count(point: Point, hil_check: Callable[..., None]) -> None:
    run = point.run
    assert run.count_per_inference and run.count_per_inference > 0, "the device reported no count"
    hil_check(point, **{f"{run.count_kind}_per_inference": run.count_per_inference})


def test_matches_reference(point: SuitePoint, hil_check: Callable[..., None]) -> None:
    """Every output agrees with the TFLM reference: bit-exact for integer outputs, within
    1e-5 absolute + 1e-4 relative for float outputs."""
    a = point.agreement()
    hil_check(point, self_checked=True, bitexact=a.fraction, max_abs_diff=a.max_abs_diff)
    unit = " LSB" if point.exact_outputs else ""
    assert a.exact, (f"{a.vectors - a.matching_vectors} of {a.vectors} vectors differ from the TFLM reference "
                     f"({a.mismatched_elements} of {a.elements} output values, max |difference| {a.max_abs_diff:g}{unit})")


def test_accuracy(point: SuitePoint, hil_check: Callable[..., None]) -> None:
    from harness.metrics.classification import accuracy_from_scores

    assert point.spec is not None and point.labels is not None
    scores = point.outputs(point.spec.output).reshape(len(point.labels), -1)
    hil_check(point, accuracy=accuracy_from_scores(scores, point.labels))


def anomaly_scores(point: SuitePoint) -> np.ndarray:
    """Per vector: the reconstruction error (mean squared, in real units) or the model's own score."""
    from harness.metrics.anomaly import reconstruction_error
    from harness.reference import dequantize

    assert point.spec is not None and point.inputs is not None
    y = point.dequantized(point.spec.output).reshape(len(point.run.outputs), -1)
    if point.spec.anomaly_score == "output":
        return y[:, 0]
    x = dequantize(point.inputs, point.run.input_details[0], np.float64)
    if x.size != y.size:
        raise ConfigError(f"{point.spec.path}: anomaly score = \"reconstruction\" needs the output to have the input's "
                          f"size ({x[0].size} vs {y.shape[1]}); set [suite.anomaly] score = \"output\" if the model "
                          "outputs the score", file=str(point.spec.path), field="score")
    return reconstruction_error(x, y)


def test_auc(point: SuitePoint, hil_check: Callable[..., None]) -> None:
    from harness.metrics.anomaly import roc_auc

    assert point.labels is not None
    hil_check(point, auc=roc_auc(anomaly_scores(point), point.labels))


def test_count_per_inference(point: SuitePoint, hil_check: Callable[..., None]) -> None:
    check_count(point, hil_check)


def test_footprint(point: SuitePoint, hil_check: Callable[..., None]) -> None:
    check_footprint(point, hil_check)


def _scores_output(point: SuitePoint) -> int:
    """Index of the class-score output of a streaming model (the output that is not the state)."""
    assert point.spec is not None and point.spec.stream is not None
    state = point.spec.stream.state_output
    return point.spec.output if point.spec.output != state else next(
        i for i in range(len(point.output_details)) if i != state)


def frame_predictions(point: SuitePoint) -> np.ndarray:
    """Top-1 class per frame, shaped like the labels (streams, frames)."""
    from harness.metrics.classification import top1

    assert point.labels is not None
    scores = point.outputs(_scores_output(point)).reshape(point.labels.size, -1)
    return np.asarray(top1(scores)).reshape(point.labels.shape)


def event_config(point: SuitePoint) -> Any:
    from harness.metrics.events import EventConfig

    assert point.spec is not None and point.spec.stream is not None
    s = point.spec.stream
    return EventConfig(rejection=s.rejection, early=s.early_frames, late=s.late_frames, frame_ms=s.frame_ms)


def test_frame_accuracy(point: SuitePoint, hil_check: Callable[..., None]) -> None:
    from harness.metrics.classification import accuracy

    assert point.labels is not None
    hil_check(point, accuracy=accuracy(frame_predictions(point).ravel(), point.labels.ravel()))


def test_event_metrics(point: SuitePoint, hil_check: Callable[..., None]) -> None:
    from harness.metrics.events import evaluate_sequences

    assert point.spec is not None and point.spec.stream is not None and point.labels is not None
    result = evaluate_sequences(zip(frame_predictions(point), point.labels), event_config(point),
                                num_classes=point.spec.stream.num_classes)
    assert result.truth_events > 0, f"the test streams of {point.spec.data} hold no events"
    hil_check(point, false_positive_rate=result.false_positive_rate,
              mean_latency_frames=result.latency.mean if result.latency.count else None,
              event_error_rate=result.error_rate)


def test_realtime(point: SuitePoint, hil_check: Callable[..., None]) -> None:
    """One inference per frame fits the frame period at the board's clock (and the count its budget)."""
    from harness.metrics.events import realtime

    assert point.spec is not None and point.spec.stream is not None
    run = point.run
    frame_ms = point.spec.stream.frame_ms
    if frame_ms is None:
        check_count(point, hil_check)
        return
    assert run.count_per_inference, "the device reported no count"
    rt = realtime(run.count_per_inference, run.board.clock_hz, frame_ms, run.count_kind)
    assert rt.realtime, (f"{rt.inference_ms:.3f} ms per frame ({run.count_per_inference:,} {run.count_kind} at "
                         f"{run.board.clock_hz / 1e6:g} MHz) exceeds the {frame_ms} ms frame period")
    hil_check(point, **{f"{run.count_kind}_per_inference": run.count_per_inference},
              realtime_margin_ms=rt.margin_ms, inference_ms=rt.inference_ms)


TASK_TESTS: dict[str, tuple[Callable[..., None], ...]] = {
    "classification": (test_matches_reference, test_accuracy, test_count_per_inference, test_footprint),
    "anomaly": (test_matches_reference, test_auc, test_count_per_inference, test_footprint),
    "events": (test_matches_reference, test_frame_accuracy, test_event_metrics, test_realtime, test_footprint),
}


def suite_module(spec: SuiteSpec) -> types.ModuleType:
    """A test module for `spec`: its `point` fixture (one per variant, on the session's boards) and the
    task's tests. `SUITE` / `MODEL` name its records even when the run fails before a check."""
    mod = types.ModuleType(f"hil_suite_{spec.name}", spec.path.read_text(encoding="utf-8").split("\n", 1)[0])
    mod.__file__ = str(spec.path)
    vars(mod).update(SUITE=spec.name, MODEL=spec.model_name, SPEC=spec)

    @pytest.fixture(scope="module", params=list(spec.variants))
    def point(request: pytest.FixtureRequest, board: Any, hil: Any) -> SuitePoint:
        return hil.suite_point(spec, request.param, board)

    vars(mod).update(point=point, **{test.__name__: test for test in TASK_TESTS[spec.task]})
    return mod
