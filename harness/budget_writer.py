"""`hil budgets`: write a suite's budget tables from measured runs, with stated headroom.

Budgets are set once from measurements and then only changed on purpose (a reviewed commit);
never loosened to make a failing test pass. Headroom, chosen because emulated counts are exact
and deterministic while stack and sizes move a little with compiler choices:

- instructions (or cycles) per inference: measured + 3 %
- flash and RAM bytes: measured + 5 %; stack high-water: measured + 25 %, at least + 64 B
- bit-exact fraction: 1.0 (the suite's own check asserts agreement; the line keeps it in the table)
- accuracy and AUC: measured - 0.02; event false-positive rate: measured x 1.5 + 0.5 per 1000
  frames; mean event latency: measured + 2 frames

Task metrics do not depend on the board (outputs are bit-exact everywhere): one `"*"` entry per
variant, from the worst board, so a new board is judged on them at once. Sizes and counts are
per board. With `keep_tighter`, an existing budget is only ever tightened, except the metrics
named in `accept` (a deliberate change: say why in the commit).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.budgets import WILDCARD
from harness.errors import ConfigError
from harness.results import Record
from harness.suite_file import SuiteSpec

Limits = dict[str, float | int]
TASK_LIMITS = ("min_", "max_false", "max_mean")


def _up(x: float, pct: float, minimum: int = 0) -> int:
    return math.ceil(max(x * (1 + pct / 100), x + minimum))


def limits_from(p: dict[str, Any]) -> Limits:
    """The budget lines for one point's measurements (see the module's headroom rules)."""
    out: Limits = {}
    if p.get("flash_bytes"):
        out["flash_bytes"] = _up(p["flash_bytes"], 5)
        out["ram_bytes"] = _up(p["ram_bytes"], 5)
    if p.get("stack_bytes"):
        out["stack_bytes"] = _up(p["stack_bytes"], 25, 64)
    kind = p.get("count_kind")
    if kind and p.get("count_per_inference"):
        out[f"{kind}_per_inference"] = _up(p["count_per_inference"], 3)
    if p.get("bitexact") is not None:
        out["min_bitexact"] = 1.0
    for name, limit in (("accuracy", "min_accuracy"), ("auc", "min_auc")):
        if p.get(name) is not None:
            out[limit] = round(max(0.0, p[name] - 0.02), 4)
    if p.get("false_positive_rate") is not None:
        out["max_false_positive_rate"] = round(p["false_positive_rate"] * 1.5 + 0.5, 3)
    if p.get("mean_latency_frames") is not None:
        out["max_mean_latency_frames"] = round(p["mean_latency_frames"] + 2, 2)
    return out


def measured_points(records: Iterable[Record], spec: SuiteSpec) -> dict[tuple[str, str], dict[str, Any]]:
    """(variant, board) -> the measurements of the suite's records (fitting, counted points only)."""
    points: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        if r.suite != spec.name or r.model != spec.model_name or r.status == "does-not-fit" or not r.count_kind:
            continue
        p = points.setdefault((r.variant, r.board), {})
        for name in ("flash_bytes", "ram_bytes", "stack_bytes", "count_kind", "count_per_inference",
                     "bitexact", "accuracy"):
            if getattr(r, name) not in (None, ""):
                p[name] = getattr(r, name)
        for name in ("auc", "false_positive_rate", "mean_latency_frames"):
            if r.extra.get(name) is not None:
                p[name] = r.extra[name]
    return points


def parse_accept(entry: str) -> tuple[str, str, str]:
    """"BOARD/VARIANT:METRIC" -> (board, variant, metric); a malformed entry is a ConfigError."""
    point, sep, metric = entry.partition(":")
    board, slash, variant = point.partition("/")
    if not (sep and slash and board and variant and metric):
        raise ConfigError(f"--accept {entry!r}: expected BOARD/VARIANT:METRIC (e.g. m4/int8:instructions_per_inference)",
                          field="accept", value=entry)
    return board, variant, metric


def suite_budgets(records: Iterable[Record], spec: SuiteSpec, keep_tighter: bool = False,
                  accept: Iterable[str] = (), used: set[str] | None = None) -> dict[tuple[str, str], Limits]:
    """(board or "*", variant) -> limits, from the records; `accept` entries are "BOARD/VARIANT:METRIC".
    The entries that named a measured limit of this suite are added to `used` (an entry no suite
    used is a typo the caller reports)."""
    task: dict[tuple[str, str], Limits] = {}
    per_board: dict[tuple[str, str], Limits] = {}
    for (variant, board), p in measured_points(records, spec).items():
        for name, value in limits_from(p).items():
            if name.startswith(TASK_LIMITS):
                t = task.setdefault((WILDCARD, variant), {})
                worse = min if name.startswith("min_") else max
                t[name] = worse(t.get(name, value), value)
            else:
                per_board.setdefault((board, variant), {})[name] = value
    accepted = {parse_accept(a): a for a in accept}
    measured = {**task, **per_board}
    if used is not None:
        used.update(a for (board, variant, name), a in accepted.items() if name in measured.get((board, variant), {}))
    if keep_tighter:
        for (board, variant), limits in measured.items():
            before = spec.budgets.entries.get((spec.name, spec.model_name, variant, board), {})
            for name, value in limits.items():
                old = before.get(name)
                if old is None or (board, variant, name) in accepted:
                    continue
                limits[name] = max(old, value) if name.startswith("min_") else min(old, value)
    # What the run did not measure (other boards, variants, metrics) keeps its existing budget.
    out = {(board, variant): dict(limits) for (_, _, variant, board), limits in spec.budgets.entries.items()
           if variant in spec.variants}
    for key, limits in measured.items():
        out[key] = {**out.get(key, {}), **limits}
    return out


def _toml_key(name: str) -> str:
    return name if name.replace("_", "").replace("-", "").isalnum() and "-" not in name else f'"{name}"'


def _toml_value(v: float | int) -> str:
    return f"{v:_}" if isinstance(v, int) and v >= 10_000 else repr(v)


def format_budgets(tables: dict[tuple[str, str], Limits], spec: SuiteSpec) -> str:
    """The tables as a suite budget file ([BOARD.VARIANT]), "*" first, then boards by name."""
    lines = [f"# Budgets of suite {spec.name!r} per board and variant ([BOARD.VARIANT]; \"*\" = every board),",
             "# written by `hil budgets` from measured runs; change them only on purpose (a reviewed commit).",
             "# Headroom: count + 3 %, flash/RAM + 5 %, stack + 25 % (at least 64 B), accuracy/AUC - 0.02,",
             "# false-positive rate x 1.5 + 0.5 per 1000 frames, latency + 2 frames.", ""]
    order = list(spec.variants)
    for board, variant in sorted(tables, key=lambda k: (k[0] != WILDCARD, k[0], order.index(k[1])
                                                         if k[1] in order else len(order))):
        lines.append(f"[{_toml_key(board) if board != WILDCARD else chr(34) + WILDCARD + chr(34)}.{_toml_key(variant)}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in tables[(board, variant)].items()]
        lines.append("")
    return "\n".join(lines)


def write_suite_budgets(spec: SuiteSpec, records: list[Record], out: Path | None, keep_tighter: bool,
                        accept: Iterable[str], used: set[str] | None = None) -> tuple[Path | None, str, int]:
    """Render (and write, to `out`) the suite's budgets; returns (path, text, number of points)."""
    tables = suite_budgets(records, spec, keep_tighter=keep_tighter, accept=accept, used=used)
    text = format_budgets(tables, spec)
    if out is not None:
        from harness.results import atomic_write_text

        atomic_write_text(out, text)
    return out, text, len(measured_points(records, spec))
