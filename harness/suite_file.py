"""A suite without Python: `hil.toml` names the model, the test data, the task and the budgets.

    [suite]
    name = "wine"
    task = "classification"          # or "anomaly" (AUC) or "events" (streaming, frame-based)
    model = "model/wine_int8.tflite" # or a [suite.variants] table: int8 = "...", w4a8 = "..."
    data = "data/test.npz"           # x: float inputs (quantized here) or x_<variant>; y: labels

    [budgets."*"]                    # every board; [budgets.m4] one board;
    min_accuracy = 0.9               # [budgets.m4.int8] one variant on one board
    [budgets.m4]
    instructions_per_inference = 5_000_000

Paths are relative to the file. Every key is validated: an unknown key, a budget naming a board
that does not exist or a variant the suite does not have is a ConfigError naming file and line.
The pytest plugin collects each such file into the same checks as the built-in suites.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.budgets import WILDCARD, BudgetFile, check_limits, line_of
from harness.errors import ConfigError

SUITE_FILE = "hil.toml"
TASKS = ("classification", "anomaly", "events")
SUITE_KEYS = {"name", "task", "model", "variants", "data", "model_name", "strict", "output", "vectors",
              "budgets", "target", "opt", "anomaly", "stream"}
STREAM_KEYS = {"state_input", "state_output", "h0", "frame_ms", "early_frames", "late_frames", "rejection",
               "num_classes"}
ANOMALY_KEYS = {"score"}
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


@dataclass(frozen=True)
class StreamSpec:
    """A streaming model's state wiring and the frame-based event metric's parameters (seed 002)."""

    state_input: int
    state_output: int
    h0: str | None  # npz key of the initial state; None = h0_<variant> if present, else zeros
    frame_ms: float | None
    early_frames: int = 10
    late_frames: int = 20
    rejection: int = 0
    num_classes: int | None = None


@dataclass(frozen=True)
class SuiteSpec:
    """One `hil.toml`, validated. `budgets` is keyed like every budget: (suite, model, variant, board)."""

    path: Path
    name: str
    task: str
    model_name: str
    variants: dict[str, Path]
    data: Path
    strict: bool = False
    output: int = 0
    vectors: int | None = None
    target: str = "board"
    opt: str = "-O2"
    anomaly_score: str = "reconstruction"
    stream: StreamSpec | None = None
    budgets: BudgetFile = field(default_factory=lambda: BudgetFile("<none>"))

    @property
    def dir(self) -> Path:
        return self.path.parent


class _Reader:
    """Typed access to one TOML table with errors that name the file, the line and the key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text

    def fail(self, table: tuple[str, ...], key: str | None, problem: str) -> ConfigError:
        line = line_of(self.text, table, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        what = "[" + ".".join(table) + "]" + (f" {key}" if key else "")
        return ConfigError(f"{where}: {what}: {problem}", file=str(self.path), line=line, field=key)

    def keys(self, node: dict[str, Any], table: tuple[str, ...], allowed: Iterable[str]) -> None:
        for key in node:
            if key not in allowed:
                raise self.fail(table, key, f"unknown key {key!r}; known keys: {', '.join(sorted(allowed))}")

    def get(self, node: dict[str, Any], table: tuple[str, ...], key: str, kind: type | tuple[type, ...],
            default: Any = None, required: bool = False) -> Any:
        if key not in node:
            if required:
                raise self.fail(table, None, f"missing required key {key!r}")
            return default
        value = node[key]
        if isinstance(value, bool) and kind is not bool:
            raise self.fail(table, key, f"must be {_kind_name(kind)}, got {value!r}")
        if not isinstance(value, kind):
            raise self.fail(table, key, f"must be {_kind_name(kind)}, got {type(value).__name__} {value!r}")
        return value

    def file(self, table: tuple[str, ...], key: str, value: str) -> Path:
        p = (self.path.parent / value).resolve()
        if not p.is_file():
            raise self.fail(table, key, f"file not found: {value} (looked for {p})")
        return p


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def load_suite(path: str | Path, extra_boards: Iterable[str] = ()) -> SuiteSpec:
    """Read and validate a suite file. `extra_boards` adds board names (e.g. from --board) to those
    in the harness's boards/ folder, for checking the budget tables."""
    p = Path(path).resolve()
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read suite file: {exc}", file=str(p)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        where = f"{p}:{m.group(1)}" if m else str(p)
        raise ConfigError(f"{where}: not valid TOML: {exc}", file=str(p), line=int(m.group(1)) if m else None) from None
    r = _Reader(p, text)
    r.keys(data, (), {"suite", "budgets"})
    suite = r.get(data, (), "suite", dict, required=True)
    t = ("suite",)
    r.keys(suite, t, SUITE_KEYS)
    name = r.get(suite, t, "name", str, required=True)
    if not _NAME.match(name):
        raise r.fail(t, "name", f"suite name {name!r} may hold letters, digits and . _ + - only")
    task = r.get(suite, t, "task", str, required=True)
    if task not in TASKS:
        raise r.fail(t, "task", f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    variants = _variants(r, suite)
    model_name = r.get(suite, t, "model_name", str, default=name)
    output = r.get(suite, t, "output", int, default=0)
    vectors = r.get(suite, t, "vectors", int)
    if vectors is not None and vectors < 1:
        raise r.fail(t, "vectors", f"must be >= 1, got {vectors}")
    target = r.get(suite, t, "target", str, default="board")
    opt = r.get(suite, t, "opt", str, default="-O2")
    if opt not in ("-O2", "-Os", "-O3", "-O1", "-O0"):
        raise r.fail(t, "opt", f"must be one of -O0 -O1 -O2 -O3 -Os, got {opt!r}")
    anomaly = r.get(suite, t, "anomaly", dict, default={})
    r.keys(anomaly, t + ("anomaly",), ANOMALY_KEYS)
    score = r.get(anomaly, t + ("anomaly",), "score", str, default="reconstruction")
    if score not in ("reconstruction", "output"):
        raise r.fail(t + ("anomaly",), "score", f"must be 'reconstruction' or 'output', got {score!r}")
    stream = _stream(r, suite) if task == "events" else None
    if task != "events" and "stream" in suite:
        raise r.fail(t, "stream", "a [suite.stream] table belongs to task = \"events\" only")
    spec = SuiteSpec(
        path=p, name=name, task=task, model_name=model_name, variants=variants,
        data=r.file(t, "data", r.get(suite, t, "data", str, required=True)),
        strict=r.get(suite, t, "strict", bool, default=False), output=output, vectors=vectors, target=target,
        opt=opt, anomaly_score=score, stream=stream,
    )
    boards = known_boards(extra_boards)
    budget_file = r.get(suite, t, "budgets", str)
    if budget_file is not None and "budgets" in data:
        raise r.fail(t, "budgets", "budgets are given both here (a file) and as [budgets] tables; keep one")
    if budget_file is not None:
        bpath = r.file(t, "budgets", budget_file)
        btext = bpath.read_text(encoding="utf-8")
        try:
            tables = tomllib.loads(btext)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{bpath}: not valid TOML: {exc}", file=str(bpath)) from None
        budgets = parse_suite_budgets(_Reader(bpath, btext), tables, (), spec, boards)
    else:
        budgets = parse_suite_budgets(r, r.get(data, (), "budgets", dict, default={}), ("budgets",), spec, boards)
    return SuiteSpec(**{**spec.__dict__, "budgets": budgets})


def _variants(r: _Reader, suite: dict[str, Any]) -> dict[str, Path]:
    t = ("suite",)
    if ("model" in suite) == ("variants" in suite):
        raise r.fail(t, None, "give either model = \"file.tflite\" or a [suite.variants] table (name = \"file\")")
    if "model" in suite:
        path = r.get(suite, t, "model", str)
        return {Path(path).name.split(".")[0]: r.file(t, "model", path)}
    table = r.get(suite, t, "variants", dict)
    if not table:
        raise r.fail(t + ("variants",), None, "names no variant")
    out = {}
    for variant in table:
        if not _NAME.match(variant):
            raise r.fail(t + ("variants",), variant, f"variant name {variant!r} may hold letters, digits and . _ + -")
        out[variant] = r.file(t + ("variants",), variant, r.get(table, t + ("variants",), variant, str))
    return out


def _stream(r: _Reader, suite: dict[str, Any]) -> StreamSpec:
    t = ("suite", "stream")
    s = r.get(suite, ("suite",), "stream", dict)
    if s is None:
        raise r.fail(("suite",), None, "task = \"events\" needs a [suite.stream] table (state_input, state_output)")
    r.keys(s, t, STREAM_KEYS)
    frame_ms = r.get(s, t, "frame_ms", (int, float))
    if frame_ms is not None and not frame_ms > 0:
        raise r.fail(t, "frame_ms", f"must be > 0, got {frame_ms}")
    spec = StreamSpec(
        state_input=r.get(s, t, "state_input", int, required=True),
        state_output=r.get(s, t, "state_output", int, required=True),
        h0=r.get(s, t, "h0", str), frame_ms=float(frame_ms) if frame_ms is not None else None,
        early_frames=r.get(s, t, "early_frames", int, default=10),
        late_frames=r.get(s, t, "late_frames", int, default=20),
        rejection=r.get(s, t, "rejection", int, default=0),
        num_classes=r.get(s, t, "num_classes", int))
    for key in ("early_frames", "late_frames", "rejection"):
        if getattr(spec, key) < 0:
            raise r.fail(t, key, f"must be >= 0, got {getattr(spec, key)}")
    return spec


def known_boards(extra: Iterable[str] = ()) -> set[str]:
    """Board names a budget table may use: the board files, their twins (`NAME@twin`) and `extra`."""
    from harness.boards import BOARDS_DIR, TWIN_SUFFIX

    files = list(BOARDS_DIR.glob("*.toml"))
    twins = {p.stem + TWIN_SUFFIX for p in files if "\n[twin]" in p.read_text(encoding="utf-8", errors="replace")}
    return {p.stem for p in files} | twins | set(extra)


def parse_suite_budgets(r: _Reader, tables: dict[str, Any], prefix: tuple[str, ...], spec: SuiteSpec,
                        boards: set[str]) -> BudgetFile:
    """`[BOARD]` (or "*") tables of limits, each with optional `[BOARD.VARIANT]` sub-tables, into entries
    keyed (suite, model, variant, board). A board or variant that nothing matches is an error."""
    entries: dict[tuple[str, str, str, str], dict[str, int | float]] = {}
    for board, node in tables.items():
        bt = prefix + (board,)
        if not isinstance(node, dict):
            raise r.fail(prefix, board, "budgets go in a table per board: [budgets.\"*\"] or [budgets.m4]")
        if board != WILDCARD and board not in boards:
            raise r.fail(bt, None, f"no board named {board!r} (known: {', '.join(sorted(boards))}, or \"*\")")
        limits = {k: v for k, v in node.items() if not isinstance(v, dict)}
        per_variant = {k: v for k, v in node.items() if isinstance(v, dict)}
        common = check_limits(str(r.path), r.text, bt, limits)
        for variant in per_variant:
            if variant not in spec.variants:
                raise r.fail(bt + (variant,), None, f"suite {spec.name!r} has no variant {variant!r} "
                             f"(variants: {', '.join(spec.variants)})")
        for variant in spec.variants:
            mine = per_variant.get(variant, {})
            sub = {k: v for k, v in mine.items()}
            nested = [k for k, v in sub.items() if isinstance(v, dict)]
            if nested:
                raise r.fail(bt + (variant,), nested[0], "budget tables nest only as [BOARD.VARIANT]")
            entries[(spec.name, spec.model_name, variant, board)] = {
                **common, **check_limits(str(r.path), r.text, bt + (variant,), sub)}
    return BudgetFile(str(r.path), {}, entries)
