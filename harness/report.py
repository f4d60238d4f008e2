"""Tables (and, for the quantization lab, plots) of result records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.results import Record


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
    if v is None or v == "":
        return "-"
    return fmt.format(v)


_STATUS_ORDER = ("failed", "does-not-fit", "skipped", "ok")


def measurement_table(records: Iterable[Record], markdown: bool = False) -> str:
    """One row per suite × model × variant × board: its measurements and its worst test status."""
    points: dict[tuple[str, str, str, str], dict] = {}
    for r in records:
        p = points.setdefault((r.suite, r.model, r.variant, r.board), {"status": "ok", "tests": 0})
        p["tests"] += 1
        status = r.failure or r.status if r.status == "failed" else r.status
        if _STATUS_ORDER.index(r.status) < _STATUS_ORDER.index(p.get("rank", "ok")):
            p["rank"], p["status"] = r.status, status
        for name in ("count_kind", "count_per_inference", "flash_bytes", "ram_bytes", "stack_bytes",
                     "arena_bytes", "bitexact"):
            if getattr(r, name) not in (None, ""):
                p[name] = getattr(r, name)
        for name, value in {"accuracy": r.accuracy, **dict(r.extra)}.items():
            if name in ("accuracy", "auc", "event_f1", "mean_latency_frames") and value is not None:
                p[name] = value
    header = ["suite", "variant", "board", "status", "count/inference", "flash B", "RAM B", "stack B",
              "arena B", "bit-exact", "accuracy", "auc", "latency fr"]
    rows = []
    for (suite, _model, variant, board), p in sorted(points.items()):
        kind = {"instructions": "insn", "cycles": "cyc"}.get(p.get("count_kind", ""), "")
        count = f"{p['count_per_inference']:,} {kind}" if p.get("count_per_inference") is not None else "-"
        rows.append([suite, variant, board, p["status"], count, _num(p.get("flash_bytes")),
                     _num(p.get("ram_bytes")), _num(p.get("stack_bytes")), _num(p.get("arena_bytes")),
                     _num(p.get("bitexact"), "{:.1%}"), _num(p.get("accuracy"), "{:.3f}"),
                     _num(p.get("auc"), "{:.3f}"), _num(p.get("mean_latency_frames"), "{:.2f}")])
    return format_table(header, rows, markdown=markdown)
