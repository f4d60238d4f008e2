"""Frame-based event metrics for streaming (many-to-many) models.

Always-on sensor models emit one output per input frame; users judge them by *events*
(a gesture detected late, a false wake-up), not frames (seed 002, ch. 3 and app. 3.A).
The seed leaves the matching algorithm open; this module fixes it as follows.

Frames and classes
    Each frame carries one class id. Class ``rejection`` (default 0) is the non-event
    class. Predicted frames come from argmax over the score vector or from
    :func:`frames_from_scores` (threshold on the best non-rejection score).

Events
    An event is a maximal run of consecutive frames of one non-rejection class,
    ``Event(cls, start, end)`` with ``start``/``end`` inclusive frame indices.
    Predicted events are then post-processed, in this order:

    1. merge: two *consecutive* predicted events (nothing but rejection frames between
       them) of the same class whose gap ``next.start - prev.end - 1`` is <= ``merge_gap``
       become one event (a run of another class in between prevents the merge);
    2. minimum duration: predicted events shorter than ``min_frames`` are dropped.

    Ground-truth events are taken as labelled (no merge, no minimum).

Onset and tolerance window
    The detection time (onset) of a predicted event is its first frame, ``pred.start``.
    A predicted event is a *candidate* for a ground-truth event ``g`` when
    ``g.start - early <= pred.start <= g.end + late`` (inclusive; seed 002 uses early=10,
    late=20 frames at 20 Hz). Only the onset matters: a prediction that is already on
    before the window opens does not match.

Matching (one prediction matches at most one ground-truth event and vice versa)
    1. Correct detections: ground-truth events are visited in order of start (earliest
       first); each takes the *earliest* unassigned candidate prediction of its own class.
       Because windows are sorted by their right end too, this greedy rule matches the
       largest possible number of correct detections per class. The class takes
       precedence over time: an earlier wrong-class prediction in the window does not
       stop a later right-class one from counting as the detection.
    2. Misclassifications: ground-truth events still unmatched are visited again in
       order of start; each takes the earliest unassigned candidate of any other
       non-rejection class (greedy; not guaranteed to be a maximum matching).
    3. Ground-truth events left unmatched are *missed* (false negatives).
    4. Several detections inside one window: the first (earliest) one is matched. By
       default (``duplicates="absorb"``) every other unassigned prediction whose onset
       lies inside the window of a matched ground-truth event is *absorbed*: counted
       (``absorbed``) but left out of the confusion matrix and the false-positive rate,
       because seed 002's tolerance window attributes those frames to the event and a
       flickering output would otherwise make false detections *rise* with the threshold.
       With ``duplicates="false"`` they are false detections instead (strict: for an
       application without debouncing, a second trigger is a false wake-up).
    5. Predictions left unassigned and not absorbed are *false detections*.

Confusion matrix ((K+1) x (K+1), rows = truth, columns = prediction, indexed by class id)
    ``[g, p]`` for each matched pair (diagonal: correct detection; off-diagonal:
    misclassification between positive classes); ``[g, rejection]`` missed events;
    ``[rejection, p]`` false detections. ``[rejection, rejection]`` stays 0: non-events
    are not counted as events (the seed prints "true positive" there).

Rates
    ``error_rate = (missed + misclassified) / ground-truth events`` (false detections are
    excluded, as in seed 002 Fig. 3.3a; they are reported as a rate of their own).
    ``false_positive_rate`` = false detections per 1000 frames of stream (independent of
    the frame rate); ``false_per_hour`` = false detections per hour of stream when the
    frame period is known.

Latency
    ``latency = pred.start - g.start`` in frames for each matched pair (negative = early
    detection); in ms multiply by the frame period. Summaries (mean, median, p90) are over
    *correct* detections only: a misclassified detection did not detect the event.
    On a device the decision for a frame is available one inference time after the frame,
    so :func:`realtime` adds the inference time to get the latency a user sees.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from harness.errors import ConfigError

MatchKind = Literal["correct", "misclassified", "missed", "false", "absorbed"]


@dataclass(frozen=True)
class Event:
    """A maximal run of frames of one class; start and end are inclusive frame indices."""

    cls: int
    start: int
    end: int

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class EventConfig:
    """Hyperparameters of the event metric (all in frames)."""

    rejection: int = 0
    early: int = 10
    late: int = 20
    merge_gap: int = 0
    min_frames: int = 1
    duplicates: Literal["absorb", "false"] = "absorb"
    frame_ms: float | None = None  # frame period; None = latencies in frames only

    def __post_init__(self) -> None:
        for name in ("early", "late", "merge_gap"):
            if getattr(self, name) < 0:
                raise ConfigError(f"EventConfig.{name} must be >= 0 frames, got {getattr(self, name)}")
        if self.min_frames < 1:
            raise ConfigError(f"EventConfig.min_frames must be >= 1, got {self.min_frames}")
        if self.duplicates not in ("false", "absorb"):
            raise ConfigError(f"EventConfig.duplicates must be 'false' or 'absorb', got {self.duplicates!r}")
        if self.frame_ms is not None and not self.frame_ms > 0:
            raise ConfigError(f"EventConfig.frame_ms must be > 0, got {self.frame_ms}")


SEED_002 = EventConfig(early=10, late=20, frame_ms=50.0)
"""Tolerances of seed 002 Fig. 3.3: 10 frames early, 20 late, at 20 Hz."""


@dataclass(frozen=True)
class Match:
    """One line of the matching: a pair, a missed event or a false/absorbed detection."""

    kind: MatchKind
    truth: Event | None
    pred: Event | None
    sequence: int = 0

    @property
    def latency_frames(self) -> int | None:
        if self.truth is None or self.pred is None:
            return None
        return self.pred.start - self.truth.start


@dataclass(frozen=True)
class LatencySummary:
    """Latency of correct detections, in frames (ms when the frame period is known)."""

    count: int
    mean: float
    median: float
    p90: float
    min: float
    max: float
    histogram: dict[int, int]  # latency in frames -> number of events
    frame_ms: float | None = None

    def ms(self, value: float) -> float | None:
        return None if self.frame_ms is None else value * self.frame_ms


def latency_summary(latencies: Sequence[int], frame_ms: float | None = None) -> LatencySummary:
    """Mean/median/p90 (linear interpolation) and the distribution; NaN when empty."""
    if not latencies:
        nan = float("nan")
        return LatencySummary(0, nan, nan, nan, nan, nan, {}, frame_ms)
    arr = np.asarray(latencies, dtype=np.float64)
    return LatencySummary(
        count=int(arr.size),
        mean=float(arr.mean()),
        median=float(np.median(arr)),
        p90=float(np.percentile(arr, 90)),
        min=float(arr.min()),
        max=float(arr.max()),
        histogram=dict(sorted(Counter(int(v) for v in latencies).items())),
        frame_ms=frame_ms,
    )


@dataclass(frozen=True)
class EventResult:
    """Outcome of matching one or several sequences."""

    matches: tuple[Match, ...]
    confusion: np.ndarray  # (K+1)x(K+1), rows = truth, cols = prediction
    frames: int
    config: EventConfig

    def _count(self, kind: str) -> int:
        return sum(1 for m in self.matches if m.kind == kind)

    @property
    def truth_events(self) -> int:
        return sum(1 for m in self.matches if m.truth is not None)

    @property
    def correct(self) -> int:
        return self._count("correct")

    @property
    def misclassified(self) -> int:
        return self._count("misclassified")

    @property
    def missed(self) -> int:
        return self._count("missed")

    @property
    def false_detections(self) -> int:
        return self._count("false")

    @property
    def absorbed(self) -> int:
        return self._count("absorbed")

    @property
    def error_rate(self) -> float:
        """(missed + misclassified) / ground-truth events; NaN with no events."""
        n = self.truth_events
        return (self.missed + self.misclassified) / n if n else float("nan")

    @property
    def miss_rate(self) -> float:
        n = self.truth_events
        return self.missed / n if n else float("nan")

    @property
    def misclassification_rate(self) -> float:
        n = self.truth_events
        return self.misclassified / n if n else float("nan")

    @property
    def false_positive_rate(self) -> float:
        """False detections per 1000 frames (NaN for an empty stream)."""
        return 1000.0 * self.false_detections / self.frames if self.frames else float("nan")

    @property
    def false_per_hour(self) -> float | None:
        if self.config.frame_ms is None or not self.frames:
            return None
        hours = self.frames * self.config.frame_ms / 3_600_000.0
        return self.false_detections / hours

    @property
    def latencies(self) -> list[int]:
        """Latency in frames of each correct detection, in match order."""
        return [m.latency_frames for m in self.matches if m.kind == "correct"]  # type: ignore[misc]

    @property
    def latency(self) -> LatencySummary:
        return latency_summary(self.latencies, self.config.frame_ms)

    def summary(self) -> dict[str, float | int | None]:
        """Flat figures for results records and budgets."""
        lat = self.latency
        return {
            "events": self.truth_events,
            "correct": self.correct,
            "misclassified": self.misclassified,
            "missed": self.missed,
            "false_detections": self.false_detections,
            "error_rate": self.error_rate,
            "false_positive_rate": self.false_positive_rate,
            "false_per_hour": self.false_per_hour,
            "mean_latency_frames": lat.mean,
            "median_latency_frames": lat.median,
            "p90_latency_frames": lat.p90,
            "mean_latency_ms": lat.ms(lat.mean),
        }


def _as_frames(frames: ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.ndim != 1:
        raise ValueError(f"{what}: expected one class id per frame (1-D), got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{what}: class ids must be integers")
    return arr.astype(np.int64)


def extract_events(frames: ArrayLike, rejection: int = 0, merge_gap: int = 0, min_frames: int = 1) -> list[Event]:
    """Events (maximal runs of one non-rejection class), merged and filtered as documented."""
    arr = _as_frames(frames, "extract_events")
    runs: list[Event] = []
    if arr.size:
        edges = np.flatnonzero(arr[1:] != arr[:-1]) + 1
        starts = np.r_[0, edges]
        ends = np.r_[edges - 1, arr.size - 1]
        runs = [Event(int(arr[s]), int(s), int(e)) for s, e in zip(starts, ends) if arr[s] != rejection]
    merged: list[Event] = []
    for ev in runs:
        if merged and merged[-1].cls == ev.cls and ev.start - merged[-1].end - 1 <= merge_gap:
            merged[-1] = Event(ev.cls, merged[-1].start, ev.end)
        else:
            merged.append(ev)
    return [ev for ev in merged if ev.frames >= min_frames]


def frames_from_scores(scores: ArrayLike, threshold: float, rejection: int = 0) -> np.ndarray:
    """Per-frame class ids from scores with an output threshold.

    ``scores`` is (T, C) with the rejection class as column ``rejection``: a frame gets the
    best non-rejection class if that class's score is >= ``threshold``, else ``rejection``.
    A 1-D ``scores`` is a binary detector: class 1 where score >= threshold, else 0.
    The threshold is in the units of ``scores``: dequantize int8 outputs first to sweep
    probabilities.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 1:
        return np.where(s >= threshold, 1, 0).astype(np.int64)
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueError(f"frames_from_scores: expected (frames, classes>=2) or (frames,), got {s.shape}")
    if not 0 <= rejection < s.shape[1]:
        raise ValueError(f"frames_from_scores: rejection class {rejection} outside 0..{s.shape[1] - 1}")
    masked = s.copy()
    masked[:, rejection] = -np.inf
    best = np.argmax(masked, axis=1)
    best_score = masked[np.arange(s.shape[0]), best]
    return np.where(best_score >= threshold, best, rejection).astype(np.int64)


def _match_sequence(truth: list[Event], preds: list[Event], cfg: EventConfig, seq: int) -> list[Match]:
    def candidate(g: Event, p: Event) -> bool:
        return g.start - cfg.early <= p.start <= g.end + cfg.late

    owner: dict[int, int] = {}  # pred index -> truth index
    kind_of: dict[int, MatchKind] = {}
    for same_class in (True, False):
        for gi, g in enumerate(truth):
            if gi in kind_of:
                continue
            for pi, p in enumerate(preds):  # preds are in onset order: first hit is earliest
                if pi in owner or (p.cls == g.cls) != same_class or not candidate(g, p):
                    continue
                owner[pi] = gi
                kind_of[gi] = "correct" if same_class else "misclassified"
                break
    pair_of = {gi: pi for pi, gi in owner.items()}
    out: list[Match] = []
    for gi, g in enumerate(truth):
        if gi in pair_of:
            out.append(Match(kind_of[gi], g, preds[pair_of[gi]], seq))
        else:
            out.append(Match("missed", g, None, seq))
    matched_truth = [truth[gi] for gi in pair_of]
    for pi, p in enumerate(preds):
        if pi in owner:
            continue
        absorbed = cfg.duplicates == "absorb" and any(candidate(g, p) for g in matched_truth)
        out.append(Match("absorbed" if absorbed else "false", None, p, seq))
    return out


def evaluate_sequences(
    pairs: Iterable[tuple[ArrayLike, ArrayLike]],
    config: EventConfig = EventConfig(),
    num_classes: int | None = None,
) -> EventResult:
    """Match predicted vs ground-truth frames over several independent sequences.

    Each pair is (predicted frames, true frames) of equal length; events never span
    sequences (streaming state is reset between them).
    """
    matches: list[Match] = []
    frames = 0
    top = config.rejection
    for seq, (pred, true) in enumerate(pairs):
        p = _as_frames(pred, f"sequence {seq} predictions")
        t = _as_frames(true, f"sequence {seq} labels")
        if p.shape != t.shape:
            raise ValueError(f"sequence {seq}: {p.size} predicted frames but {t.size} labelled frames")
        if p.size and min(p.min(), t.min()) < 0:
            raise ValueError(f"sequence {seq}: class ids must be >= 0")
        if p.size:
            top = max(top, int(p.max()), int(t.max()))
        frames += int(p.size)
        truth_ev = extract_events(t, config.rejection)
        pred_ev = extract_events(p, config.rejection, config.merge_gap, config.min_frames)
        matches.extend(_match_sequence(truth_ev, pred_ev, config, seq))
    n = num_classes if num_classes is not None else top + 1
    if top >= n:
        raise ValueError(f"class id {top} >= num_classes {n}")
    confusion = np.zeros((n, n), dtype=np.int64)
    for m in matches:
        if m.kind == "absorbed":
            continue
        row = m.truth.cls if m.truth is not None else config.rejection
        col = m.pred.cls if m.pred is not None else config.rejection
        confusion[row, col] += 1
    return EventResult(tuple(matches), confusion, frames, config)


def evaluate_events(
    predicted: ArrayLike, truth: ArrayLike, config: EventConfig = EventConfig(), num_classes: int | None = None
) -> EventResult:
    """Match one sequence of predicted frames against its ground-truth frames."""
    return evaluate_sequences([(predicted, truth)], config, num_classes)


# --------------------------------------------------------------------------- threshold sweep


@dataclass(frozen=True)
class SweepRow:
    threshold: float
    events: int
    false_detections: int
    false_positive_rate: float  # per 1000 frames
    false_per_hour: float | None
    error_rate: float
    miss_rate: float
    misclassification_rate: float
    mean_latency_frames: float


@dataclass(frozen=True)
class SweepResult:
    rows: tuple[SweepRow, ...]
    config: EventConfig

    def table(self) -> str:
        head = f"{'threshold':>9} | {'FP/1000fr':>9} | {'FP/hour':>8} | {'error':>6} | {'miss':>6} | {'miscls':>6} | {'latency(fr)':>11}"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            fph = "-" if r.false_per_hour is None else f"{r.false_per_hour:.1f}"
            lines.append(
                f"{r.threshold:>9.3f} | {r.false_positive_rate:>9.3f} | {fph:>8} | {r.error_rate:>6.3f} | "
                f"{r.miss_rate:>6.3f} | {r.misclassification_rate:>6.3f} | {r.mean_latency_frames:>11.2f}"
            )
        return "\n".join(lines)


def threshold_sweep(
    scores: ArrayLike | Sequence[ArrayLike],
    labels: ArrayLike | Sequence[ArrayLike],
    thresholds: Iterable[float],
    config: EventConfig = EventConfig(),
    num_classes: int | None = None,
) -> SweepResult:
    """Event figures at each output threshold (seed 002 Fig. 3.3).

    One sequence: ``labels`` a 1-D numpy array of class ids and ``scores`` its (T, C) or
    (T,) array. Several sequences: ``labels`` and ``scores`` lists of such arrays.
    """
    single = (isinstance(labels, np.ndarray) and labels.ndim == 1) or (
        isinstance(labels, (list, tuple)) and (not labels or np.ndim(labels[0]) == 0)
    )
    if single:
        label_seqs, score_seqs = [np.asarray(labels)], [np.asarray(scores)]
    else:
        label_seqs = [np.asarray(y) for y in labels]  # type: ignore[union-attr]
        score_seqs = [np.asarray(s) for s in scores]  # type: ignore[union-attr]
    if len(score_seqs) != len(label_seqs):
        raise ValueError(f"threshold_sweep: {len(score_seqs)} score sequences but {len(label_seqs)} label sequences")
    rows = []
    for th in thresholds:
        res = evaluate_sequences(
            [(frames_from_scores(s, th, config.rejection), y) for s, y in zip(score_seqs, label_seqs)],
            config,
            num_classes,
        )
        rows.append(
            SweepRow(
                threshold=float(th),
                events=res.truth_events,
                false_detections=res.false_detections,
                false_positive_rate=res.false_positive_rate,
                false_per_hour=res.false_per_hour,
                error_rate=res.error_rate,
                miss_rate=res.miss_rate,
                misclassification_rate=res.misclassification_rate,
                mean_latency_frames=res.latency.mean,
            )
        )
    return SweepResult(tuple(rows), config)


def plot_threshold_sweep(result: SweepResult, path: str | Path) -> Path:
    """Write the two panels of seed 002 Fig. 3.3: error rates vs FP rate, latency vs threshold.

    Uses the Agg canvas directly, so it never touches pyplot's global backend state.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = result.rows
    by_fp = sorted(rows, key=lambda r: r.false_positive_rate)  # a curve, not a zigzag
    fp = [r.false_positive_rate for r in by_fp]
    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(fp, [r.error_rate for r in by_fp], "o-", label="error (missed + misclassified)")
    ax1.plot(fp, [r.miss_rate for r in by_fp], "s--", label="missed (false negative)")
    ax1.plot(fp, [r.misclassification_rate for r in by_fp], "^--", label="misclassified")
    ax1.set_xlabel("false detections per 1000 frames")
    ax1.set_ylabel("event error rate")
    ax1.set_title("(a) error rate vs false-positive rate")
    ax1.legend(fontsize="small")
    ax1.grid(True, alpha=0.3)
    ax2.plot([r.threshold for r in rows], [r.mean_latency_frames for r in rows], "o-")
    ax2.axhline(0.0, color="grey", lw=0.8)
    ax2.set_xlabel("output threshold")
    ax2.set_ylabel("mean latency (frames, negative = early)")
    cfg = result.config
    ax2.set_title(f"(b) latency vs threshold (early {cfg.early}, late {cfg.late} frames)")
    ax2.grid(True, alpha=0.3)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out


# --------------------------------------------------------------------------- real time


@dataclass(frozen=True)
class RealTime:
    """Does one inference per frame keep up with the sensor?"""

    count_per_frame: int
    count_kind: str
    clock_hz: float
    inference_ms: float
    frame_ms: float

    @property
    def margin_ms(self) -> float:
        """Frame period left after inference (negative = cannot keep up)."""
        return self.frame_ms - self.inference_ms

    @property
    def margin_fraction(self) -> float:
        return self.margin_ms / self.frame_ms

    @property
    def realtime(self) -> bool:
        return self.inference_ms <= self.frame_ms

    @property
    def duty_cycle(self) -> float:
        return self.inference_ms / self.frame_ms

    def event_latency_ms(self, latency_frames: float) -> float:
        """User-visible latency: frames of detection delay plus the inference of the deciding frame."""
        return latency_frames * self.frame_ms + self.inference_ms


def realtime(
    count_per_frame: int,
    clock_hz: float,
    frame_ms: float,
    count_kind: str = "cycles",
    cycles_per_instruction: float = 1.0,
) -> RealTime:
    """Time per frame at the board clock.

    ``cycles`` convert exactly; emulated ``instructions`` are an estimate that assumes
    ``cycles_per_instruction`` (1.0 by default, optimistic for memory-bound kernels on
    real silicon): say so wherever the figure is shown.
    """
    if count_per_frame < 0:
        raise ValueError(f"count_per_frame must be >= 0, got {count_per_frame}")
    if not clock_hz > 0 or not frame_ms > 0:
        raise ValueError(f"clock_hz ({clock_hz}) and frame_ms ({frame_ms}) must be > 0")
    if count_kind == "cycles":
        cycles = float(count_per_frame)
    elif count_kind == "instructions":
        cycles = count_per_frame * cycles_per_instruction
    else:
        raise ValueError(f"count_kind must be 'cycles' or 'instructions', got {count_kind!r}")
    inference_ms = cycles / clock_hz * 1000.0
    if math.isnan(inference_ms):
        raise ValueError("inference time is NaN")
    return RealTime(int(count_per_frame), count_kind, float(clock_hz), inference_ms, float(frame_ms))
