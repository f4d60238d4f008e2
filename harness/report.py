"""Tables (and, for the quantization lab, plots) of result records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from harness.results import Record

if TYPE_CHECKING:
    import pandas as pd


def format_table(header: Sequence[str], rows: Iterable[Sequence[object]], markdown: bool = False) -> str:
    """Plain aligned text, or a Markdown table."""
    cells = [[str(h) for h in header]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, r in enumerate(cells):
        if markdown:
            lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
            if n == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        else:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _num(v: object, fmt: str = "{:,}") -> str:
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "":
        return "-"
    return fmt.format(v)


def measurement_table(records: Iterable[Record] | pd.DataFrame, markdown: bool = False) -> str:
    """One row per suite × model × variant × board: its measurements and its worst test status."""
    from harness.baseline import point_frame

    frame = point_frame(records)
    header = ["suite", "variant", "board", "status", "count/inference", "flash B", "RAM B", "stack B",
              "arena B", "bit-exact", "accuracy", "auc", "latency fr"]
    rows = []
    for (suite, _model, variant, board), p in frame.iterrows():
        get = p.get
        kind = {"instructions": "insn", "cycles": "cyc"}.get(get("count_kind") or "", "")
        count = _num(get("count_per_inference"))
        status = p["failure"] or p["status"] if p["status"] == "failed" else p["status"]
        rows.append([suite, variant, board, status, f"{count} {kind}" if count != "-" else "-",
                     _num(get("flash_bytes")), _num(get("ram_bytes")), _num(get("stack_bytes")),
                     _num(get("arena_bytes")), _num(get("bitexact"), "{:.1%}"), _num(get("accuracy"), "{:.3f}"),
                     _num(get("auc"), "{:.3f}"), _num(get("mean_latency_frames"), "{:.2f}")])
    return format_table(header, rows, markdown=markdown)
