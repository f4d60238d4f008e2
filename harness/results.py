"""Result records, their on-disk store, and the DataFrame view over runs.

Layout: ``results/runs/<run_id>/records.parquet`` (one row per test x model x variant x
board) next to ``manifest.json`` (run id, start/end, argv, the user's project git sha and
dirty state, the harness's version and sha, tool versions, status). Every write goes to a
temporary file in the same directory, is fsynced and renamed over the target, so a run
killed at any instant leaves each file either at its previous complete state or at the new
one (readable at any instant), and earlier runs are never touched. A manifest still saying
"running" whose process is gone is reported (and, by the next writer, rewritten) as "partial".

Parquet (pandas + pyarrow) for runs: typed columns, one `load()` over every run. Baselines
stay small, diffable CSV (harness/baseline.py). Runs written before the Parquet store
(records.csv) are still read.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.counts import COUNT_KINDS
from harness.errors import ConfigError, HilError

if TYPE_CHECKING:
    import pandas as pd

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
    test: str = ""  # empty in a baseline row, which stands for every test of its point
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


def records_to_csv(records: Iterable[Record], columns: Sequence[str] = FIELD_NAMES) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for rec in records:
        writer.writerow([_cell(rec, n) for n in columns])
    return buf.getvalue()


def read_records_csv(path: str | Path) -> list[Record]:
    """Read a records.csv or a baseline; unknown columns are ignored, missing ones defaulted."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read results CSV: {exc}", file=str(p), line=None, field=None) from None
    reader = csv.DictReader(io.StringIO(text))
    required = {"suite", "model", "variant", "board"}
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
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
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


HARNESS_ROOT = Path(__file__).resolve().parent.parent


def git_state(path: str | Path) -> dict[str, Any]:
    """The commit checked out at `path` and whether tracked files differ from it.

    `sha` is "unknown" outside a git work tree (or without git); `dirty` is then None.
    """
    cwd = Path(path)
    sha = _first_line(["git", "rev-parse", "HEAD"], cwd)
    if sha == "unknown":
        return {"sha": "unknown", "dirty": None}
    try:
        done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                              capture_output=True, text=True, timeout=20, check=False)
        dirty: bool | None = bool(done.stdout.strip()) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        dirty = None
    return {"sha": sha, "dirty": dirty}


def _harness_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tinyml-hil")
    except PackageNotFoundError:
        return "unknown"


def collect_environment(project: str | Path | None = None) -> dict[str, Any]:
    """The user's project (git sha, dirty state) and the harness's own, plus tool versions.

    `project` is the user's repository: pytest's rootdir, or the working folder of the CLI.
    `git_sha` (what records carry) is the project's, with "-dirty" when tracked files changed.
    """
    root = Path(project) if project is not None else Path.cwd()
    proj, own = git_state(root), git_state(HARNESS_ROOT)
    return {
        "git_sha": proj["sha"] + ("-dirty" if proj["dirty"] else ""),
        "project": {"root": str(root.resolve()), "git_sha": proj["sha"], "dirty": proj["dirty"]},
        "harness": {"version": _harness_version(), "git_sha": own["sha"], "dirty": own["dirty"],
                    "path": str(HARNESS_ROOT)},
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


# --------------------------------------------------------------------------- Parquet

RECORDS_FILE = "records.parquet"
LEGACY_RECORDS_FILE = "records.csv"
_BOOL_FIELDS = {"twin"}


def _arrow_schema() -> Any:
    import pyarrow as pa

    types = ({n: pa.int64() for n in _INT_FIELDS} | {n: pa.float64() for n in _FLOAT_FIELDS}
             | {n: pa.bool_() for n in _BOOL_FIELDS})
    return pa.schema([(n, types.get(n, pa.string())) for n in FIELD_NAMES])


def _row(rec: Record) -> dict[str, Any]:
    row = {n: getattr(rec, n) for n in FIELD_NAMES}
    row["extra"] = json.dumps(dict(rec.extra), sort_keys=True, default=str)
    return row


def records_to_parquet(records: Iterable[Record]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([_row(r) for r in records], schema=_arrow_schema())
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    return bytes(buf.getvalue().to_pybytes())


def _record_of(row: Mapping[str, Any], where: str) -> Record:
    kwargs: dict[str, Any] = {}
    for name in FIELD_NAMES:
        if name not in row:
            continue
        v = row[name]
        missing = v is None or (isinstance(v, float) and v != v)
        if name == "extra":
            kwargs[name] = json.loads(v) if isinstance(v, str) and v else {}
        elif name in _INT_FIELDS:
            kwargs[name] = None if missing else int(v)
        elif name in _FLOAT_FIELDS:
            kwargs[name] = None if missing else float(v)
        elif name in _BOOL_FIELDS:
            kwargs[name] = False if missing else bool(v)
        else:
            kwargs[name] = "" if missing else str(v)
    try:
        return Record(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}", file=where, line=None, field=None) from None


def read_run_records(run_dir: str | Path) -> list[Record]:
    """The records of one run: records.parquet, or records.csv of a run from before Parquet."""
    d = Path(run_dir)
    path = d / RECORDS_FILE
    if path.exists():
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:
            raise ConfigError(f"{path}: not a readable records file ({exc})", file=str(path), line=None,
                              field=None) from None
        return [_record_of(r, str(path)) for r in rows]
    if (d / LEGACY_RECORDS_FILE).exists():
        return read_records_csv(d / LEGACY_RECORDS_FILE)
    return []


# --------------------------------------------------------------------------- writer


class ResultsWriter:
    """Appends records of one run; use as a context manager so an exception marks it partial."""

    def __init__(
        self,
        results_dir: str | Path,
        run_id: str | None = None,
        argv: Sequence[str] | None = None,
        environment: Mapping[str, Any] | None = None,
        project: str | Path | None = None,
    ) -> None:
        """`project`: the user's repository whose git state the manifest records (default: cwd)."""
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
        self.environment = dict(environment) if environment is not None else collect_environment(project)
        self._records: list[Record] = []
        self.manifest: dict[str, Any] = {
            "run_id": self.run_id,
            "start": utc_now(),
            "end": None,
            "argv": list(argv if argv is not None else sys.argv),
            "git_sha": self.environment.get("git_sha", "unknown"),
            "project": self.environment.get("project", {}),
            "harness": self.environment.get("harness", {}),
            "versions": {k: v for k, v in self.environment.items() if k not in ("git_sha", "project", "harness")},
            "status": "running",
            "records": 0,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "transport": None,  # vectors' path to the device (uart/memory/auto), set by the caller
        }
        self._write_manifest()

    @property
    def records_path(self) -> Path:
        return self.run_dir / RECORDS_FILE

    def _write_manifest(self) -> None:
        atomic_write_text(self.run_dir / "manifest.json", json.dumps(self.manifest, indent=2, sort_keys=True) + "\n")

    def append(self, record: Record) -> Record:
        """Fill the run context, then rewrite records.parquet atomically with the new row."""
        env = self.environment
        rec = dataclasses.replace(
            record, run_id=self.run_id, time=record.time or utc_now(),
            git_sha=record.git_sha or str(env.get("git_sha", "")),
            toolchain=record.toolchain or str(env.get("toolchain", "")),
            emulator=record.emulator or str(env.get("emulator", "")))
        atomic_write_bytes(self.records_path, records_to_parquet(self._records + [rec]))
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
        out.extend(read_run_records(Path(results_dir) / "runs" / str(manifest.get("run_id"))))
    return sorted(out, key=lambda r: r.time)


RUN_COLUMNS = ("run_status", "run_start", "run_end", "run_host", "project_sha", "project_dirty",
               "harness_sha", "harness_version")


def records_frame(records: Iterable[Record]) -> pd.DataFrame:
    """Records as a DataFrame: one column per Record field (extra as JSON text) plus one
    column per numeric `extra` entry (auc, macs, max_abs_diff, ...)."""
    import pandas as pd

    rows = [_row(r) for r in records]
    df = pd.DataFrame(rows, columns=FIELD_NAMES)
    for name in _INT_FIELDS:
        df[name] = df[name].astype("Int64")
    for name in _FLOAT_FIELDS:
        df[name] = df[name].astype("float64")
    extras = pd.DataFrame([{k: v for k, v in r.extra.items()
                            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in FIELD_NAMES}
                           for r in records], index=df.index)
    return pd.concat([df, extras], axis=1) if len(extras.columns) else df


def load(results_dir: str | Path = "results", *, runs: Sequence[str] | None = None, suite: Sequence[str] = (),
         board: Sequence[str] = (), variant: Sequence[str] = (), since: str | None = None,
         include_partial: bool = True) -> pd.DataFrame:
    """One DataFrame over the runs in `results_dir`: every record with its run's metadata
    (RUN_COLUMNS), oldest first. Filters: run ids (or unique prefixes), suites, boards,
    variants, runs started at or after `since` (ISO date or time, UTC)."""
    import pandas as pd

    frames = []
    for m in load_runs(results_dir):
        rid = str(m.get("run_id"))
        if runs and not any(rid.startswith(r) for r in runs):
            continue
        if not include_partial and m.get("status") != "complete":
            continue
        if since and str(m.get("start") or "") < since:
            continue
        df = records_frame(read_run_records(Path(results_dir) / "runs" / rid))
        project, harness = m.get("project") or {}, m.get("harness") or {}
        meta = {"run_status": m.get("status"), "run_start": m.get("start"), "run_end": m.get("end"),
                "run_host": m.get("host"), "project_sha": project.get("git_sha", m.get("git_sha")),
                "project_dirty": project.get("dirty"), "harness_sha": harness.get("git_sha"),
                "harness_version": harness.get("version")}
        frames.append(df.assign(**meta))
    if not frames:
        return records_frame([]).assign(**{c: None for c in RUN_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    for column, wanted in (("suite", suite), ("board", board), ("variant", variant)):
        if wanted:
            out = out[out[column].isin(list(wanted))]
    return out.reset_index(drop=True)
