"""Baselines and the regression check, shared by `pytest --baseline` and `hil compare`.

A baseline is a small CSV with one row per point, keyed by suite/model/variant/board (not by
test name: a point's four tests share one row, so one regression is reported once and renaming
a test does not break the baseline). A regression is keyed by point and metric. Everything in
the baseline must be in the run: a point or a metric of the baseline that the run lacks is a
regression (a nightly that measured less must not pass). Tolerances: `Thresholds`, the one
definition of the defaults, used by the plugin and the CLI alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError
from harness.results import Record, atomic_write_text, read_records_csv, records_frame, records_to_csv

if TYPE_CHECKING:
    import pandas as pd

POINT = ("suite", "model", "variant", "board")
BAD_STATUSES = ("failed", "does-not-fit")
_STATUS_RANK = {"failed": 0, "does-not-fit": 1, "skipped": 2, "ok": 3}


@dataclass(frozen=True)
class Thresholds:
    """How far a figure may move before it is a regression (the one set of defaults)."""

    count_pct: float = 1.0  # count per inference growth, % (emulated counts are exact)
    size_pct: float = 1.0  # flash, RAM and arena growth, %
    stack_pct: float = 5.0  # measured stack high-water growth, %
    accuracy_points: float = 0.5  # accuracy, AUC, event F1 drop, percentage points
    agreement_points: float = 0.0  # share of vectors agreeing with the reference, percentage points


# metric -> (direction, Thresholds field); "grow" metrics regress upwards, "drop" ones downwards
METRICS: dict[str, tuple[str, str]] = {
    "count_per_inference": ("grow", "count_pct"),
    "flash_bytes": ("grow", "size_pct"),
    "ram_bytes": ("grow", "size_pct"),
    "arena_bytes": ("grow", "size_pct"),
    "stack_bytes": ("grow", "stack_pct"),
    "accuracy": ("drop", "accuracy_points"),
    "auc": ("drop", "accuracy_points"),
    "event_f1": ("drop", "accuracy_points"),
    "bitexact": ("drop", "agreement_points"),
}
_RECORD_METRICS = [m for m in METRICS if m in {f.name for f in fields(Record)}]
_EXTRA_METRICS = [m for m in METRICS if m not in _RECORD_METRICS]
BASELINE_COLUMNS = ("suite", "model", "variant", "board", "status", "failure", "count_kind", *_RECORD_METRICS,
                    "extra", "model_sha256", "run_id", "time")


# --------------------------------------------------------------------------- points


def point_frame(records: Iterable[Record] | pd.DataFrame) -> pd.DataFrame:
    """One row per point: its worst status (and that record's failure class) and, per
    column, the latest value any of its tests measured (metrics, count kind, model hash...).
    `records`: Records, or a frame of them (records_frame, harness.results.load)."""
    import pandas as pd

    df = records.copy() if isinstance(records, pd.DataFrame) else records_frame(list(records))
    for m in _EXTRA_METRICS:
        if m not in df.columns:
            df[m] = float("nan")
    df = df.sort_values("time", kind="stable")
    for text in ("count_kind", "model_sha256", "core", "backend"):
        df[text] = df[text].replace("", None)
    values = [c for c in df.columns if c not in (*POINT, "status", "failure", "test", "message", "extra")]
    groups = df.groupby(list(POINT), sort=True)
    out = groups[values].last()  # last non-null per column
    ranked = df.assign(rank=df["status"].map(_STATUS_RANK)).sort_values("rank", kind="stable")
    worst = ranked.groupby(list(POINT), sort=True)[["status", "failure"]].first()
    return worst.join(out)


def write_baseline(records: Iterable[Record], path: str | Path) -> Path:
    """One row per point of `records` (e.g. results/baselines/m4.csv), sorted, diffable."""
    frame = point_frame(records)
    rows = []
    for key, row in frame.iterrows():
        values: dict[str, Any] = {str(k): (None if _missing(v) else v) for k, v in row.items()}
        fields_: dict[str, Any] = dict(zip(POINT, key))
        for m in _RECORD_METRICS:
            v = values[m]
            whole = m.endswith("_bytes") or m == "count_per_inference"
            fields_[m] = None if v is None else int(v) if whole else float(v)
        for name in ("failure", "count_kind", "model_sha256", "run_id", "time"):
            fields_[name] = values[name] or ""
        extra = {m: float(values[m]) for m in _EXTRA_METRICS if values[m] is not None}
        rows.append(Record(**fields_, test="", status=str(values["status"]), extra=extra))
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p, records_to_csv(rows, BASELINE_COLUMNS))
    return p


def read_baseline(path: str | Path) -> list[Record]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: baseline not found; write one with `hil baseline --out {p}`",
                          file=str(p), line=None, field=None)
    return read_records_csv(p)  # a records CSV of one row per point (an old per-test one works too)


def _missing(v: Any) -> bool:
    import pandas as pd

    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Change:
    key: tuple[str, ...]  # suite, model, variant, board
    metric: str
    baseline: Any
    current: Any
    change: str
    limit: str
    regressed: bool


@dataclass(frozen=True)
class Comparison:
    changes: tuple[Change, ...]  # every figure that moved, regressed or not, and metrics gone
    missing: tuple[tuple[str, ...], ...]  # points in the baseline, not in the run: regressions
    new: tuple[tuple[str, ...], ...]  # points in the run, not in the baseline
    baseline_path: str = ""

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regressed]

    @property
    def ok(self) -> bool:
        return not self.regressions and not self.missing

    def problems_by_point(self) -> dict[tuple[str, ...], list[str]]:
        """Per baseline point: one line per regressed metric (what a JUnit failure shows)."""
        out: dict[tuple[str, ...], list[str]] = {}
        for c in self.regressions:
            out.setdefault(c.key, []).append(f"{c.metric}: {_show(c.baseline)} -> {_show(c.current)} "
                                             f"({c.change}; limit {c.limit})")
        for key in self.missing:
            out.setdefault(key, []).append("point missing from this run (in the baseline)")
        return out

    def table(self) -> str:
        """What moved, regressions first; then missing and new points."""
        from harness.report import format_table

        rows = [("/".join(c.key), c.metric, _show(c.baseline), _show(c.current), c.change, c.limit,
                 "REGRESSION" if c.regressed else "ok")
                for c in sorted(self.changes, key=lambda c: (not c.regressed, c.key, c.metric))]
        rows += [("/".join(k), "(point)", "measured", "missing", "", "", "REGRESSION") for k in self.missing]
        lines = [format_table(("point", "metric", "baseline", "current", "change", "limit", "verdict"), rows)]
        if not rows:
            lines.append("(nothing moved)")
        for key in self.missing:
            lines.append(f"missing from this run (in baseline): {'/'.join(key)}")
        for key in self.new:
            lines.append(f"new (not in baseline): {'/'.join(key)}")
        bad = len(self.regressions) + len(self.missing)
        verdict = "OK" if self.ok else f"{bad} regression(s)"
        src = f" against {self.baseline_path}" if self.baseline_path else ""
        return f"compare{src}: {verdict}\n" + "\n".join(lines)


def _show(v: Any) -> str:
    if v is None or _missing(v):
        return "-"
    if isinstance(v, float) and v.is_integer() and abs(v) >= 1000:
        v = int(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _judge(key: tuple[str, ...], metric: str, label: str, base: Any, cur: Any, limits: Thresholds) -> Change | None:
    direction, limit_field = METRICS[metric]
    limit = float(getattr(limits, limit_field))
    if _missing(base):
        return None
    if _missing(cur):
        return Change(key, label, base, None, "not measured", "", True)
    base, cur = float(base), float(cur)
    if base == cur:
        return None
    if direction == "grow":
        pct = (cur - base) / base * 100.0 if base else math.inf
        diff = int(cur - base) if (cur - base).is_integer() else cur - base
        return Change(key, label, base, cur, f"{diff:+,} ({pct:+.2f}%)", f"+{limit:g}%", pct > limit)
    points = (cur - base) * 100.0
    return Change(key, label, base, cur, f"{points:+.2f} pt", f"-{limit:g} pt", -points > limit)


def compare(records: Iterable[Record], baseline: str | Path, limits: Thresholds = Thresholds()) -> Comparison:
    """Compare the run's points with the baseline's, on the boards the baseline covers.

    A point whose status turned failed or does-not-fit is a regression; counts of different
    kinds are never compared (shown as a change of kind); a new model hash is shown, not judged.
    """
    base = point_frame(read_baseline(baseline))
    boards = set(base.index.get_level_values("board"))
    cur = point_frame(r for r in records if r.board in boards)
    changes: list[Change | None] = []
    for key in sorted(set(base.index) & set(cur.index)):
        b, c = base.loc[key], cur.loc[key]
        if b["status"] != c["status"]:
            why = f" ({c['failure']})" if c["failure"] else ""
            changes.append(Change(key, "status", b["status"], c["status"] + why, "", "", c["status"] in BAD_STATUSES))
        shas = (b["model_sha256"], c["model_sha256"])
        if not _missing(shas[0]) and not _missing(shas[1]) and shas[0] != shas[1]:
            changes.append(Change(key, "model_sha256", b["model_sha256"][:12], c["model_sha256"][:12], "new model",
                                  "", False))
        for metric in METRICS:
            label = metric
            if metric == "count_per_inference":
                kinds = (b["count_kind"], c["count_kind"])
                if not _missing(kinds[0]) and not _missing(kinds[1]) and kinds[0] != kinds[1]:
                    changes.append(Change(key, "count_kind", kinds[0], kinds[1], "not comparable", "", False))
                    continue
                label = f"{kinds[0] if not _missing(kinds[0]) else 'count'}_per_inference"
            changes.append(_judge(key, metric, label, b[metric], c[metric], limits))
    return Comparison(
        changes=tuple(ch for ch in changes if ch is not None),
        missing=tuple(sorted(set(base.index) - set(cur.index))),
        new=tuple(sorted(set(cur.index) - set(base.index))),
        baseline_path=str(baseline),
    )


def newest_time(baseline: str | Path) -> str:
    """When the newest record behind the baseline was taken ("" for a baseline without times)."""
    return max((r.time for r in read_baseline(baseline)), default="")
