"""Budget files and the check that fails a test with a readable measured-vs-budget table.

A suite's own budgets live with it (harness/suite_file.py: `[budgets.BOARD.VARIANT]` in its
`hil.toml` or its budgets file). A `--budgets` file adds tables for any suite, one per suite,
model, variant and board::

    [defaults]                      # applies to every entry (optional)
    min_bitexact = 1.0

    [har.cnn1d.int8."*"]            # any board (optional wildcard)
    min_accuracy = 0.85

    [har.cnn1d.int8.m4]             # this board; overrides "*" and defaults
    flash_bytes = 65536
    instructions_per_inference = 900000

Budgets are per count kind: ``instructions_per_inference`` only ever checks an
``instructions`` measurement and ``cycles_per_inference`` only a ``cycles`` one, so an
emulator figure is never judged against a silicon budget. A budget whose measurement is
absent (or None) is shown as "n/a", not failed: one budget table serves boards that
count different things.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.errors import BudgetExceeded, ConfigError

Number = int | float

# budget field -> (measured key, direction, value kind)
FIELDS: dict[str, tuple[str, Literal["max", "min"], Literal["count", "fraction", "real"]]] = {
    "flash_bytes": ("flash_bytes", "max", "count"),
    "ram_bytes": ("ram_bytes", "max", "count"),
    "stack_bytes": ("stack_bytes", "max", "count"),
    "arena_bytes": ("arena_bytes", "max", "count"),
    "instructions_per_inference": ("instructions_per_inference", "max", "count"),
    "cycles_per_inference": ("cycles_per_inference", "max", "count"),
    "min_accuracy": ("accuracy", "min", "fraction"),
    "min_bitexact": ("bitexact", "min", "fraction"),
    "min_auc": ("auc", "min", "fraction"),
    "max_false_positive_rate": ("false_positive_rate", "max", "real"),  # false detections / 1000 frames
    "max_mean_latency_frames": ("mean_latency_frames", "max", "real"),
}
KEY_LEVELS = ("suite", "model", "variant", "board")
WILDCARD = "*"
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


@dataclass(frozen=True)
class Budget:
    """Resolved limits for one (suite, model, variant, board)."""

    key: tuple[str, str, str, str]
    limits: Mapping[str, Number]
    source: str = ""

    @property
    def label(self) -> str:
        return "/".join(self.key)


@dataclass(frozen=True)
class BudgetFile:
    path: str
    defaults: Mapping[str, Number] = field(default_factory=dict)
    entries: Mapping[tuple[str, str, str, str], Mapping[str, Number]] = field(default_factory=dict)

    def lookup(self, suite: str, model: str, variant: str, board: str) -> Budget | None:
        """Defaults, then the "*" board entry, then the exact board entry (later wins).

        None when neither a board nor a wildcard entry exists: the caller decides whether
        an unbudgeted combination is an error.
        """
        wild = self.entries.get((suite, model, variant, WILDCARD))
        exact = self.entries.get((suite, model, variant, board))
        if wild is None and exact is None:
            return None
        limits: dict[str, Number] = dict(self.defaults)
        limits.update(wild or {})
        limits.update(exact or {})
        return Budget((suite, model, variant, board), limits, self.path)


# --------------------------------------------------------------------------- loading


def line_of(text: str, table: tuple[str, ...], fieldname: str | None = None) -> int | None:
    """Best-effort line number of a key (or table) for error messages; None if not found.

    tomllib gives no positions, so scan the text: the key inside its table header, else
    the header of the table (or sub-table) itself, else the first header under it.
    """
    header_re = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
    key_re = re.compile(rf"^\s*[\"']?{re.escape(fieldname)}[\"']?\s*=") if fieldname else None
    headers: list[tuple[int, tuple[str, ...]]] = []
    current: tuple[str, ...] = ()
    key_line = None
    for no, line in enumerate(text.splitlines(), 1):
        m = header_re.match(line)
        if m:
            current = tuple(p.strip().strip("\"'") for p in m.group(1).split("."))
            headers.append((no, current))
        elif key_re is not None and key_line is None and current == table and key_re.match(line):
            key_line = no
    if key_line is not None:
        return key_line
    wanted = [table + (fieldname,)] if fieldname else []
    wanted.append(table)
    for target in wanted:
        for no, path in headers:
            if path == target:
                return no
    for no, path in headers:
        if path[: len(table)] == table:
            return no
    return None


def _fail(path: str, text: str, table: tuple[str, ...], fieldname: str | None, problem: str) -> ConfigError:
    line = line_of(text, table, fieldname)
    where = f"{path}:{line}" if line else path
    what = "[" + ".".join(table) + "]" + (f" {fieldname}" if fieldname else "")
    return ConfigError(f"{where}: {what}: {problem}", file=path, line=line, field=fieldname)


def check_limits(path: str, text: str, table: tuple[str, ...], values: dict) -> dict[str, Number]:
    out: dict[str, Number] = {}
    for name, value in values.items():
        if name not in FIELDS:
            known = ", ".join(sorted(FIELDS))
            raise _fail(path, text, table, name, f"unknown budget field {name!r}; known fields: {known}")
        _, _, kind = FIELDS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, text, table, name, f"must be a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise _fail(path, text, table, name, f"must be finite, got {value!r}")
        if kind == "count" and (not isinstance(value, int) or value < 0):
            raise _fail(path, text, table, name, f"must be a whole number >= 0, got {value!r}")
        if kind == "fraction" and not 0.0 <= value <= 1.0:
            raise _fail(path, text, table, name, f"must be a fraction in 0..1 (0.9 = 90 %), got {value!r}")
        if name == "max_false_positive_rate" and value < 0:
            raise _fail(path, text, table, name, f"must be >= 0 false detections per 1000 frames, got {value!r}")
        out[name] = value
    return out


def parse_budgets(text: str, path: str = "<budgets>") -> BudgetFile:
    """Parse and validate budget TOML text; every problem is a ConfigError naming file, line, field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) if m else None
        where = f"{path}:{line}" if line else path
        raise ConfigError(f"{where}: not valid TOML: {exc}", file=path, line=line, field=None) from None
    defaults: dict[str, Number] = {}
    entries: dict[tuple[str, str, str, str], dict[str, Number]] = {}

    def walk(node: dict, table: tuple[str, ...]) -> None:
        depth = len(table)
        scalars = {k: v for k, v in node.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in node.items() if isinstance(v, dict)}
        if depth == len(KEY_LEVELS):
            if tables:
                name = next(iter(tables))
                raise _fail(path, text, table, name, "budget tables nest only 4 deep: [suite.model.variant.board]")
            entries[table] = check_limits(path, text, table, scalars)  # type: ignore[index]
            return
        if scalars:
            name = next(iter(scalars))
            level = KEY_LEVELS[depth - 1] if depth else ""
            raise _fail(
                path,
                text,
                table,
                name,
                f"budget values belong in a [suite.model.variant.board] table, not at the {level} level"
                if depth
                else "budget values belong in [defaults] or a [suite.model.variant.board] table",
            )
        for key, child in tables.items():
            if key == WILDCARD and depth != 3:
                raise _fail(path, text, table + (key,), None, "the '*' wildcard is only allowed for the board")
            if not _NAME.match(key) and key != WILDCARD:
                raise _fail(path, text, table + (key,), None, f"{KEY_LEVELS[depth]} name {key!r} has unusual characters")
            walk(child, table + (key,))

    for key, value in data.items():
        if key == "defaults":
            if not isinstance(value, dict):
                raise _fail(path, text, (), key, "defaults must be a table: [defaults]")
            nested = [k for k, v in value.items() if isinstance(v, dict)]
            if nested:
                raise _fail(path, text, ("defaults",), nested[0], "[defaults] holds budget fields only")
            defaults = check_limits(path, text, ("defaults",), value)
        elif not isinstance(value, dict):
            raise _fail(path, text, (), key, "budget values belong in [defaults] or a [suite.model.variant.board] table")
        else:
            walk({key: value}, ())
    return BudgetFile(path, defaults, entries)


def load_budgets(path: str | Path) -> BudgetFile:
    """Read a budget file ([suite.model.variant.board] tables)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read budget file: {exc.strerror}", file=str(p), line=None, field=None) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start})", file=str(p), line=None, field=None) from None
    return parse_budgets(text, str(p))


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class BudgetLine:
    """One row of the measured-vs-budget table; ok is None when nothing was measured."""

    metric: str
    measured: Number | None
    limit: Number
    direction: Literal["max", "min"]
    ok: bool | None

    @property
    def margin(self) -> float | None:
        """Room left inside the budget in the metric's unit (negative = over budget)."""
        if self.measured is None:
            return None
        return float(self.limit - self.measured) if self.direction == "max" else float(self.measured - self.limit)

    @property
    def margin_pct(self) -> float | None:
        m = self.margin
        return None if m is None or self.limit == 0 else 100.0 * m / abs(self.limit)


def check_budget(measured: Mapping[str, Number | None], budget: Budget | Mapping[str, Number]) -> list[BudgetLine]:
    """Compare measurements (keys as in FIELDS' measured names) with each budget field."""
    limits = budget.limits if isinstance(budget, Budget) else budget
    lines = []
    for name, limit in limits.items():
        if name not in FIELDS:
            raise ConfigError(f"unknown budget field {name!r}", field=name)
        key, direction, _ = FIELDS[name]
        value = measured.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            lines.append(BudgetLine(key, None, limit, direction, None))
            continue
        ok = value <= limit if direction == "max" else value >= limit
        lines.append(BudgetLine(key, value, limit, direction, bool(ok)))
    return lines


def _fmt(v: Number | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:.4g}"


def format_budget_table(lines: list[BudgetLine]) -> str:
    """metric | measured | budget | ok/MISS | margin, aligned for a terminal."""
    rows = [("metric", "measured", "budget", "ok/MISS", "margin")]
    for ln in lines:
        status = "n/a" if ln.ok is None else ("ok" if ln.ok else "MISS")
        limit = ("<= " if ln.direction == "max" else ">= ") + _fmt(ln.limit)
        if ln.margin is None:
            margin = "-"
        else:
            whole = isinstance(ln.measured, int) and isinstance(ln.limit, int)
            margin = f"{int(ln.margin):+,}" if whole else f"{ln.margin:+.4g}"
            if ln.margin_pct is not None:
                margin += f" ({ln.margin_pct:+.1f}%)"
        rows.append((ln.metric, _fmt(ln.measured), limit, status, margin))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    out = [" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


def enforce_budget(
    measured: Mapping[str, Number | None], budget: Budget | Mapping[str, Number], label: str | None = None
) -> list[BudgetLine]:
    """check_budget, raising BudgetExceeded with the whole table when any line is a MISS."""
    lines = check_budget(measured, budget)
    misses = [ln for ln in lines if ln.ok is False]
    if misses:
        name = label or (budget.label if isinstance(budget, Budget) else "measurement")
        src = f" (budget from {budget.source})" if isinstance(budget, Budget) and budget.source else ""
        raise BudgetExceeded(
            f"{name} missed {len(misses)} budget(s){src}:\n{format_budget_table(lines)}\n"
            "Fix the regression, or raise the budget if the growth is intended (a reviewed commit; "
            "`hil budgets --keep-tighter --accept` rewrites a suite's budgets).",
            lines=lines,
        )
    return lines
