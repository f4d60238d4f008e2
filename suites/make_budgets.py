"""Write suites/budgets.toml from measured runs, with stated headroom.

    .venv/bin/python suites/make_budgets.py results/runs/<run id> [...] [--out suites/budgets.toml]
        [--keep-tighter [--accept SUITE/MODEL/VARIANT/BOARD:METRIC ...]]

Budgets are set once from measurements and then only changed on purpose (a reviewed commit);
never loosen one to make a failing test pass. Headroom, chosen because emulated counts are exact
and deterministic, while stack and sizes move a little with compiler choices:

- instructions (or cycles) per inference: measured + 3 %
- flash and RAM bytes: measured + 5 %; stack high-water: measured + 25 %, at least + 64 B
- bit-exact fraction: 1.0 (integer variants must agree exactly; fp32 within its tolerance)
- accuracy and AUC: measured − 0.02; event false-positive rate: measured × 1.5 + 0.5 per 1000
  frames; mean event latency: measured + 2 frames
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.results import read_run_records  # noqa: E402

HEADER = __doc__.split("\n\n", 2)[2]


def _up(x: float, pct: float, minimum: int = 0) -> int:
    return int(math.ceil(max(x * (1 + pct / 100), x + minimum)))


def limits_from(points: dict) -> dict[str, float | int]:
    out: dict[str, float | int] = {}
    if points.get("flash_bytes"):
        out["flash_bytes"] = _up(points["flash_bytes"], 5)
        out["ram_bytes"] = _up(points["ram_bytes"], 5)
    if points.get("stack_bytes"):
        out["stack_bytes"] = _up(points["stack_bytes"], 25, 64)
    kind = points.get("count_kind")
    if kind and points.get("count_per_inference"):
        out[f"{kind}_per_inference"] = _up(points["count_per_inference"], 3)
    if points.get("bitexact") is not None:
        out["min_bitexact"] = 1.0
    for name, limit in (("accuracy", "min_accuracy"), ("auc", "min_auc")):
        if points.get(name) is not None:
            out[limit] = round(max(0.0, points[name] - 0.02), 4)
    if points.get("false_positive_rate") is not None:
        out["max_false_positive_rate"] = round(points["false_positive_rate"] * 1.5 + 0.5, 3)
    if points.get("mean_latency_frames") is not None:
        out["max_mean_latency_frames"] = round(points["mean_latency_frames"] + 2, 2)
    return out


def _read_budgets(path: Path) -> dict[tuple[str, str, str, str], dict]:
    """The existing budgets.toml as {(suite, model, variant, board): limits}."""
    import tomllib

    data = tomllib.loads(path.read_text())
    return {(suite, model, variant, board): dict(limits)
            for suite, models in data.items() for model, variants in models.items()
            for variant, boards in variants.items() for board, limits in boards.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="results/runs/<run id> directories")
    ap.add_argument("--out", type=Path, default=ROOT / "suites" / "budgets.toml")
    ap.add_argument("--keep-tighter", action="store_true",
                    help="where --out already has a budget, keep the tighter of it and the new one: re-measuring "
                         "then only tightens, except for the metrics named by --accept")
    ap.add_argument("--accept", action="append", default=[], metavar="SUITE/MODEL/VARIANT/BOARD:METRIC",
                    help="with --keep-tighter: a deliberate change (say why in the commit); take the new budget")
    args = ap.parse_args(argv)
    previous = _read_budgets(args.out) if args.keep_tighter and args.out.is_file() else {}
    accepted = {tuple(a.split(":")[0].split("/")) + (a.split(":")[1],) for a in args.accept}

    points: dict[tuple[str, str, str, str], dict] = {}
    for run in args.runs:
        for r in read_run_records(run):
            if r.status == "does-not-fit" or not r.count_kind:
                continue
            p = points.setdefault((r.suite, r.model, r.variant, r.board), {})
            for name in ("flash_bytes", "ram_bytes", "stack_bytes", "count_kind", "count_per_inference",
                         "bitexact", "accuracy"):
                if getattr(r, name) not in (None, ""):
                    p[name] = getattr(r, name)
            for name in ("auc", "false_positive_rate", "mean_latency_frames"):
                if r.extra.get(name) is not None:
                    p[name] = r.extra[name]

    # Task metrics do not depend on the board (outputs are bit-exact everywhere): one "*" entry per
    # variant, from the worst board, so a new board is judged on them at once. Sizes and counts
    # are per board.
    task: dict[tuple[str, str, str], dict] = {}
    per_board: dict[tuple[str, str, str, str], dict] = {}
    for (suite, model, variant, board), p in points.items():
        limits = limits_from(p)
        for name, value in limits.items():
            if name.startswith(("min_", "max_false", "max_mean")):
                t = task.setdefault((suite, model, variant), {})
                worse = min if name.startswith("min_") else max
                t[name] = worse(t.get(name, value), value)
            else:
                per_board.setdefault((suite, model, variant, board), {})[name] = value
    for key, limits in [*task.items(), *per_board.items()]:
        full = key if len(key) == 4 else (*key, "*")
        for name, value in limits.items():
            before = previous.get(full, {}).get(name)
            if before is None or full + (name,) in accepted:
                continue
            limits[name] = max(before, value) if name.startswith("min_") else min(before, value)
    lines = ["# Budgets per suite.model.variant.board, set from measurements (suites/make_budgets.py).", "#"]
    lines += ["# " + ln if ln else "#" for ln in HEADER.strip().splitlines()]
    for (suite, model, variant), limits in sorted(task.items()):
        lines += ["", f'[{suite}.{model}."{variant}"."*"]']
        lines += [f"{k} = {v}" for k, v in limits.items()]
    for (suite, model, variant, board), limits in sorted(per_board.items()):
        lines += ["", f'[{suite}.{model}."{variant}".{board}]']
        lines += [f"{k} = {v}" for k, v in limits.items()]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(points)} budgets to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
