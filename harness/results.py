"""Result records, their on-disk store and the comparison against a baseline.

Layout: ``results/runs/<run_id>/records.csv`` (one row per test x model x variant x
board) next to ``manifest.json`` (run id, start/end, argv, git sha, tool versions,
status). Every write goes to a temporary file in the same directory, is fsynced and
renamed over the target, so a run killed at any instant leaves each file either at its
previous complete state or at the new one, and earlier runs are never touched. A
manifest still saying "running" whose process is gone is reported (and, by the next
writer, rewritten) as "partial".

CSV rather than Parquet: no extra dependency, readable in any tool, diffable baselines.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.counts import COUNT_KINDS
from harness.errors import ConfigError, HilError

STATUSES = ("ok", "failed", "skipped", "does-not-fit")


def failure_class(exc: BaseException) -> str:
    """The failure column for an exception: the HilError status, else 'assertion' or 'error'."""
    if isinstance(exc, HilError):
        return exc.status
    if isinstance(exc, AssertionError):
        return "assertion"
    return "error"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class Record:
    """One measured (or failed, skipped, not fitting) test point.

    Run context (run_id, time, git_sha, toolchain, emulator) is filled in by
    ResultsWriter.append when left empty, so tests only state what they measured.
    """

    suite: str
    test: str
    model: str
    variant: str
    board: str
    run_id: str = ""
    time: str = ""
    git_sha: str = ""
    toolchain: str = ""
    emulator: str = ""
    model_sha256: str = ""
    firmware_sha256: str = ""  # sha256 of the ELF that ran (`hil build` prints the same for flashing by hand)
    twin: bool = False  # ran on the board's Renode twin (board NAME@twin; counts are instructions)
    core: str = ""
    backend: str = ""
    count_kind: str = ""
    count_per_inference: int | None = None
    flash_bytes: int | None = None
    ram_bytes: int | None = None
    stack_bytes: int | None = None
    arena_bytes: int | None = None
    accuracy: float | None = None
    bitexact: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    status: str = "ok"
    failure: str = ""
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Record.status must be one of {STATUSES}, got {self.status!r}")
        if self.count_kind and self.count_kind not in COUNT_KINDS:  # "" = no count (e.g. a failed run)
            raise ValueError(f"Record.count_kind must be one of {COUNT_KINDS} or empty, got {self.count_kind!r}")
        if self.status == "failed" and not self.failure:
            raise ValueError("a failed Record needs its failure class (see harness.errors / failure_class())")

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """Identity of a test point across runs (what a baseline is keyed by)."""
        return (self.suite, self.test, self.model, self.variant, self.board)

    def measurements(self) -> dict[str, Any]:
        """Measured figures under the names budgets use (see harness.budgets.FIELDS)."""
        out: dict[str, Any] = {
            "flash_bytes": self.flash_bytes,
            "ram_bytes": self.ram_bytes,
            "stack_bytes": self.stack_bytes,
            "arena_bytes": self.arena_bytes,
            "accuracy": self.accuracy,
            "bitexact": self.bitexact,
        }
        if self.count_kind in ("instructions", "cycles"):
            out[f"{self.count_kind}_per_inference"] = self.count_per_inference
        for k, v in self.extra.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out.setdefault(k, v)
        return out


FIELD_NAMES = [f.name for f in dataclasses.fields(Record)]
_INT_FIELDS = {"count_per_inference", "flash_bytes", "ram_bytes", "stack_bytes", "arena_bytes"}
_FLOAT_FIELDS = {"accuracy", "bitexact"}


# --------------------------------------------------------------------------- CSV


def _cell(rec: Record, name: str) -> str:
    value = getattr(rec, name)
    if name == "extra":
        return json.dumps(dict(value), sort_keys=True, default=str)
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def records_to_csv(records: Iterable[Record]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FIELD_NAMES)
    for rec in records:
        writer.writerow([_cell(rec, n) for n in FIELD_NAMES])
    return buf.getvalue()


def read_records_csv(path: str | Path) -> list[Record]:
    """Read a records.csv or a baseline; unknown columns are ignored, missing ones defaulted."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read results CSV: {exc}", file=str(p), line=None, field=None) from None
    reader = csv.DictReader(io.StringIO(text))
    required = {"suite", "test", "model", "variant", "board"}
    if reader.fieldnames is None or not required <= set(reader.fieldnames):
        raise ConfigError(
            f"{p}:1: not a results CSV: needs columns {sorted(required)}, got {reader.fieldnames}",
            file=str(p),
            line=1,
            field=None,
        )
    out = []
    for row in reader:
        line = reader.line_num
        kwargs: dict[str, Any] = {}
        for name in FIELD_NAMES:
            raw = row.get(name)
            if raw is None:
                continue
            try:
                if name == "extra":
                    kwargs[name] = json.loads(raw) if raw else {}
                    if not isinstance(kwargs[name], dict):
                        raise ValueError("not a JSON object")
                elif name in _INT_FIELDS:
                    kwargs[name] = int(raw) if raw else None
                elif name in _FLOAT_FIELDS:
                    kwargs[name] = float(raw) if raw else None
                elif name == "twin":
                    kwargs[name] = raw == "True"
                else:
                    kwargs[name] = raw
            except ValueError as exc:
                raise ConfigError(f"{p}:{line}: column {name}: {exc}", file=str(p), line=line, field=name) from None
        try:
            out.append(Record(**kwargs))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{p}:{line}: {exc}", file=str(p), line=line, field=None) from None
    return out


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write via temp file + fsync + rename: readers see the old or the new file, never half."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, p)
    try:
        dir_fd = os.open(p.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# --------------------------------------------------------------------------- environment


def _first_line(cmd: Sequence[str], cwd: str | Path | None = None) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, cwd=cwd, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if done.returncode != 0:
        return "unknown"
    lines = done.stdout.strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def collect_environment(repo: str | Path | None = None) -> dict[str, str]:
    """Git sha (with -dirty for tracked changes) and tool versions, for the manifest and records."""
    repo = Path(repo) if repo else Path(__file__).resolve().parent.parent
    sha = _first_line(["git", "rev-parse", "HEAD"], repo)
    if sha != "unknown" and _first_line(["git", "status", "--porcelain", "--untracked-files=no"], repo) != "unknown":
        sha += "-dirty"
    return {
        "git_sha": sha,
        "toolchain": _first_line(["arm-none-eabi-gcc", "--version"]),
        "emulator": _first_line(["qemu-system-arm", "--version"]),
        "python": sys.version.split()[0],
    }


# --------------------------------------------------------------------------- writer


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """The run's manifest; a "running" run whose process is gone on this host reads "partial"."""
    p = Path(run_dir) / "manifest.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"run_id": Path(run_dir).name, "status": "partial", "problem": f"unreadable manifest: {exc}"}
    if (
        data.get("status") == "running"
        and data.get("host") == socket.gethostname()
        and isinstance(data.get("pid"), int)
        and not _pid_alive(data["pid"])
    ):
        data["status"] = "partial"
        data.setdefault("problem", "the run's process ended without closing the run")
    return data


def mark_stale_runs(results_dir: str | Path) -> list[str]:
    """Rewrite manifests of dead "running" runs as "partial"; returns their run ids."""
    fixed = []
    for run_dir in sorted((Path(results_dir) / "runs").glob("*/")):
        path = run_dir / "manifest.json"
        if not path.exists():
            continue
        data = read_manifest(run_dir)
        try:
            on_disk = json.loads(path.read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError):
            continue
        if on_disk == "running" and data.get("status") == "partial":
            atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
            fixed.append(run_dir.name)
    return fixed


class ResultsWriter:
    """Appends records of one run; use as a context manager so an exception marks it partial."""

    def __init__(
        self,
        results_dir: str | Path,
        run_id: str | None = None,
        argv: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.results_dir = Path(results_dir)
        self.run_id = run_id or new_run_id()
        self.run_dir = self.results_dir / "runs" / self.run_id
        (self.results_dir / "runs").mkdir(parents=True, exist_ok=True)
        mark_stale_runs(self.results_dir)
        try:
            self.run_dir.mkdir()
        except FileExistsError:
            raise ConfigError(
                f"{self.run_dir}: run id {self.run_id!r} already exists; results are append-only, pick a new id",
                file=str(self.run_dir),
                line=None,
                field="run_id",
            ) from None
        self.environment = dict(environment) if environment is not None else collect_environment()
        self._records: list[Record] = []
        self.manifest: dict[str, Any] = {
            "run_id": self.run_id,
            "start": utc_now(),
            "end": None,
            "argv": list(argv if argv is not None else sys.argv),
            "git_sha": self.environment.get("git_sha", "unknown"),
            "versions": {k: v for k, v in self.environment.items() if k != "git_sha"},
            "status": "running",
            "records": 0,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        self._write_manifest()

    @property
    def records_path(self) -> Path:
        return self.run_dir / "records.csv"

    def _write_manifest(self) -> None:
        atomic_write_text(self.run_dir / "manifest.json", json.dumps(self.manifest, indent=2, sort_keys=True) + "\n")

    def append(self, record: Record) -> Record:
        """Fill the run context, then rewrite records.csv atomically with the new row."""
        fill: dict[str, Any] = {
            "run_id": record.run_id or self.run_id,
            "time": record.time or utc_now(),
            "git_sha": record.git_sha or self.environment.get("git_sha", ""),
            "toolchain": record.toolchain or self.environment.get("toolchain", ""),
            "emulator": record.emulator or self.environment.get("emulator", ""),
        }
        rec = dataclasses.replace(record, **fill)
        atomic_write_text(self.records_path, records_to_csv(self._records + [rec]))
        self._records.append(rec)
        return rec

    def close(self, status: str = "complete") -> None:
        if status not in ("complete", "partial"):
            raise ValueError(f"run status must be 'complete' or 'partial', got {status!r}")
        self.manifest.update(status=status, end=utc_now(), records=len(self._records))
        self._write_manifest()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self.close("complete" if exc_type is None else "partial")


# --------------------------------------------------------------------------- reading


def load_runs(results_dir: str | Path) -> list[dict[str, Any]]:
    """Manifests of every run, oldest first (status as read_manifest reports it)."""
    runs = [read_manifest(d) for d in sorted((Path(results_dir) / "runs").glob("*/")) if (d / "manifest.json").exists()]
    return sorted(runs, key=lambda m: (str(m.get("start") or ""), str(m.get("run_id"))))


def load_records(results_dir: str | Path, include_partial: bool = True) -> list[Record]:
    """Every record of every run (temporary files ignored), ordered by time."""
    out: list[Record] = []
    for manifest in load_runs(results_dir):
        if not include_partial and manifest.get("status") != "complete":
            continue
        path = Path(results_dir) / "runs" / str(manifest.get("run_id")) / "records.csv"
        if path.exists():
            out.extend(read_records_csv(path))
    return sorted(out, key=lambda r: r.time)


def latest_by_key(records: Iterable[Record]) -> dict[tuple[str, ...], Record]:
    """Last record per key (by time, then input order)."""
    latest: dict[tuple[str, ...], Record] = {}
    for rec in sorted(records, key=lambda r: r.time):
        latest[rec.key] = rec
    return latest


def write_baseline(records: Iterable[Record], path: str | Path) -> Path:
    """Write the latest record per key as a baseline CSV (e.g. results/baselines/m4.csv)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    latest = latest_by_key(records)
    atomic_write_text(p, records_to_csv(latest[k] for k in sorted(latest)))
    return p


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Thresholds:
    """How much a figure may move before compare calls it a regression."""

    count_pct: float = 1.0  # count per inference growth, % (emulated counts are exact)
    flash_pct: float = 1.0
    ram_pct: float = 1.0  # RAM and arena
    stack_pct: float = 5.0
    accuracy_points: float = 0.5  # drop in percentage points
    bitexact_points: float = 0.0


@dataclass(frozen=True)
class Change:
    key: tuple[str, ...]
    metric: str
    baseline: Any
    current: Any
    change: str
    limit: str
    regressed: bool


@dataclass(frozen=True)
class Comparison:
    changes: tuple[Change, ...]  # every figure that moved, regressed or not
    missing: tuple[tuple[str, ...], ...]  # in the baseline, not in the current records
    new: tuple[tuple[str, ...], ...]  # in the current records, not in the baseline
    baseline_path: str = ""

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regressed]

    @property
    def ok(self) -> bool:
        return not self.regressions

    def table(self) -> str:
        """What moved, regressions first; then missing and new points."""
        head = ("point", "metric", "baseline", "current", "change", "limit", "verdict")
        rows = [head]
        for c in sorted(self.changes, key=lambda c: (not c.regressed, c.key, c.metric)):
            rows.append(
                ("/".join(c.key), c.metric, _show(c.baseline), _show(c.current), c.change, c.limit,
                 "REGRESSION" if c.regressed else "ok")
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [" | ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        if len(rows) == 1:
            lines.append("(nothing moved)")
        for key in self.missing:
            lines.append(f"missing from this run (in baseline): {'/'.join(key)}")
        for key in self.new:
            lines.append(f"new (not in baseline): {'/'.join(key)}")
        verdict = "OK" if self.ok else f"{len(self.regressions)} regression(s)"
        src = f" against {self.baseline_path}" if self.baseline_path else ""
        return f"compare{src}: {verdict}\n" + "\n".join(lines)


def _show(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _grow(key, metric, base, cur, limit_pct) -> Change | None:
    if base is None or cur is None or base == cur:
        return None
    pct = (cur - base) / base * 100.0 if base else math.inf
    return Change(key, metric, base, cur, f"{cur - base:+,} ({pct:+.2f}%)", f"+{limit_pct:g}%", pct > limit_pct)


def _drop(key, metric, base, cur, limit_points) -> Change | None:
    if base is None or cur is None or base == cur or (math.isnan(base) and math.isnan(cur)):
        return None
    points = (cur - base) * 100.0
    return Change(key, metric, base, cur, f"{points:+.2f} pt", f"-{limit_points:g} pt", -points > limit_points)


def compare(
    records: Iterable[Record], baseline_csv: str | Path, thresholds: Thresholds = Thresholds()
) -> Comparison:
    """Compare the latest record per point with the baseline's; see Thresholds for the rules.

    A point that was ok and now is not is a regression; counts of different kinds are
    never compared (shown as a change of kind); a new model hash is shown, not judged.
    """
    base = latest_by_key(read_records_csv(baseline_csv))
    cur = latest_by_key(records)
    changes: list[Change | None] = []  # None: a figure that did not move
    for key in sorted(set(base) & set(cur)):
        b, c = base[key], cur[key]
        if b.status != c.status:
            why = f" ({c.failure})" if c.failure else ""
            changes.append(Change(key, "status", b.status, c.status + why, "", "", b.status == "ok"))
        if b.model_sha256 != c.model_sha256 and b.model_sha256 and c.model_sha256:
            changes.append(Change(key, "model_sha256", b.model_sha256[:12], c.model_sha256[:12], "new model", "", False))
        if b.count_kind != c.count_kind and b.count_per_inference is not None and c.count_per_inference is not None:
            changes.append(Change(key, "count_kind", b.count_kind, c.count_kind, "not comparable", "", False))
        else:
            changes.append(_grow(key, f"{c.count_kind or 'count'}_per_inference", b.count_per_inference,
                                 c.count_per_inference, thresholds.count_pct))
        changes.append(_grow(key, "flash_bytes", b.flash_bytes, c.flash_bytes, thresholds.flash_pct))
        changes.append(_grow(key, "ram_bytes", b.ram_bytes, c.ram_bytes, thresholds.ram_pct))
        changes.append(_grow(key, "arena_bytes", b.arena_bytes, c.arena_bytes, thresholds.ram_pct))
        changes.append(_grow(key, "stack_bytes", b.stack_bytes, c.stack_bytes, thresholds.stack_pct))
        changes.append(_drop(key, "accuracy", b.accuracy, c.accuracy, thresholds.accuracy_points))
        changes.append(_drop(key, "bitexact", b.bitexact, c.bitexact, thresholds.bitexact_points))
    return Comparison(
        changes=tuple(ch for ch in changes if ch is not None),
        missing=tuple(sorted(set(base) - set(cur))),
        new=tuple(sorted(set(cur) - set(base))),
        baseline_path=str(baseline_csv),
    )
