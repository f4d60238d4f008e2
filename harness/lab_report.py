"""The quantization lab's report (Markdown + HTML + PNG plots) and its regression check.

Why accuracy *drop* rather than accuracy: suites differ in how hard they are, so each point is
measured against the fp32 point of the same suite on the same board (or, when that point failed
on the device, the fp32 model's host accuracy, and the table says so). Why Pareto fronts: a lab
engineer picks a variant per model and core; only points no other variant beats on both the cost
axis and the accuracy drop are worth a look. BOPs (MACs x weight bits x activation bits, the
seed-003 proxy) stand beside the measured counts so the gap between proxy and board is visible.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.report import format_table
from harness.results import Record, load_runs, read_manifest, read_run_records

VARIANT_ORDER = ("fp32", "int8", "int8-pt", "int16x8", "w4a8", "w2a8")
MARKERS = {"fp32": "o", "int8": "s", "int8-pt": "D", "int16x8": "^", "w4a8": "v", "w2a8": "P"}
AXES = (  # (attribute of LabPoint, axis label, scale divisor)
    ("flash_bytes", "flash (KiB)", 1024.0),
    ("count", "{kind} per inference", 1.0),
    ("peak_ram_bytes", "peak RAM: data+bss+stack used (KiB)", 1024.0),
)


# --------------------------------------------------------------------------- selection


def select_run(results_dir: str | Path, run_id: str | None = None) -> tuple[dict[str, Any], list[Record]]:
    """The run's manifest and records: `run_id`, or the most recently started run."""
    runs = load_runs(results_dir)
    if not runs:
        raise ConfigError(f"{results_dir}: no runs recorded; run `hil sweep ...` first",
                          file=str(results_dir), line=None, field=None)
    if run_id is None:
        manifest = runs[-1]
    else:
        matches = [m for m in runs if str(m.get("run_id")) == run_id or str(m.get("run_id")).startswith(run_id)]
        if len(matches) != 1:
            known = ", ".join(str(m.get("run_id")) for m in runs[-5:])
            raise ConfigError(f"{results_dir}: run {run_id!r} {'is ambiguous' if matches else 'not found'}; "
                              f"latest runs: {known}", file=str(results_dir), line=None, field="run")
        manifest = matches[0]
    run_dir = Path(results_dir) / "runs" / str(manifest.get("run_id"))
    return read_manifest(run_dir), read_run_records(run_dir)


# --------------------------------------------------------------------------- analysis


def pareto_front(xs: Sequence[float], ys: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats on both axes (both minimised), by x.

    A point is dominated when another is <= on both and < on one; equal points all stay.
    """
    idx = [i for i in range(len(xs)) if not (math.isnan(xs[i]) or math.isnan(ys[i]))]
    front = []
    for i in idx:
        dominated = any(xs[j] <= xs[i] and ys[j] <= ys[i] and (xs[j] < xs[i] or ys[j] < ys[i]) for j in idx)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (xs[i], ys[i]))


@dataclass
class LabPoint:
    """One record seen by the lab: its figures plus the drop against its fp32 point."""

    rec: Record
    drop: float | None = None  # accuracy drop vs fp32, percentage points (positive = worse)
    drop_basis: str = ""  # "device" or "host" fp32 accuracy, "" when there is none
    on_front: set[str] = field(default_factory=set)  # axes on whose Pareto front the point lies

    @property
    def ok(self) -> bool:
        return self.rec.status == "ok"

    def get(self, name: str) -> float | None:
        if name == "count":
            return _f(self.rec.count_per_inference)
        if name in ("flash_bytes", "ram_bytes", "arena_bytes", "stack_bytes", "accuracy", "bitexact"):
            return _f(getattr(self.rec, name))
        return _f(self.rec.extra.get(name))


def _f(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _vkey(variant: str) -> tuple[int, str]:
    return (VARIANT_ORDER.index(variant) if variant in VARIANT_ORDER else len(VARIANT_ORDER), variant)


def analyse(records: Iterable[Record]) -> list[LabPoint]:
    """One record per (suite, variant, board), drops against fp32, Pareto membership.

    Sweep records win; from a pytest run (several tests per point) the latest record that
    measured an accuracy, else the latest one.
    """
    records = list(records)
    if any(r.test == "sweep" for r in records):
        records = [r for r in records if r.test == "sweep"]
    latest: dict[tuple[str, str, str], Record] = {}
    for r in sorted(records, key=lambda r: (r.accuracy is not None, r.time)):
        latest[(r.suite, r.variant, r.board)] = r
    points = [LabPoint(r) for _, r in sorted(latest.items(), key=lambda kv: (kv[0][0], kv[0][2], _vkey(kv[0][1])))]
    for p in points:
        ref = latest.get((p.rec.suite, "fp32", p.rec.board))
        if ref is None or not p.ok or p.rec.accuracy is None:
            continue
        if ref.status == "ok" and ref.accuracy is not None:
            p.drop, p.drop_basis = round((ref.accuracy - p.rec.accuracy) * 100.0, 9), "device"  # 0.90-0.89 is 1 pt
        elif _f(ref.extra.get("host_accuracy")) is not None:
            p.drop, p.drop_basis = round((float(ref.extra["host_accuracy"]) - p.rec.accuracy) * 100.0, 9), "host"
    for (suite, board) in {(p.rec.suite, p.rec.board) for p in points}:
        group = [p for p in points if p.rec.suite == suite and p.rec.board == board and p.ok and p.drop is not None]
        for attr, _, _ in AXES:
            usable = [p for p in group if p.get(attr) is not None]
            for i in pareto_front([p.get(attr) for p in usable], [p.drop for p in usable]):  # type: ignore[misc]
                usable[i].on_front.add(attr)
    return points


# --------------------------------------------------------------------------- tables


def _n(v: Any, fmt: str = "{:,.0f}") -> str:
    return "-" if v is None else fmt.format(v)


TABLE_HEADER = ("suite", "variant", "status", "accuracy", "drop (pt)", "bit-exact", "max abs diff", "count/inf",
                "MACs", "BOPs", "count/MAC", "flash B", "weights B", "peak RAM B", "arena B", "stack B", "front")


def point_rows(points: Sequence[LabPoint]) -> list[list[str]]:
    rows = []
    for p in points:
        r = p.rec
        macs = p.get("macs")
        count = p.get("count")
        drop = _n(p.drop, "{:+.2f}") + (" (host fp32)" if p.drop_basis == "host" else "")
        kind = {"instructions": " insn", "cycles": " cyc"}.get(r.count_kind, "")
        front = ",".join(a.split("_")[0] for a, _, _ in AXES if a in p.on_front)
        status = "ok" if p.ok else f"{r.status} ({r.failure})"
        acc = _n(r.accuracy, "{:.3f}") if p.ok else (_n(_f(r.extra.get("host_accuracy")), "{:.3f}") + " (host)"
                                                     if r.extra.get("host_accuracy") is not None else "-")
        rows.append([r.suite, r.variant, status, acc, drop, _n(r.bitexact, "{:.1%}"),
                     _n(_f(r.extra.get("max_abs_diff")), "{:.3g}"),
                     (_n(count) + kind) if count is not None else "-", _n(macs), _n(p.get("bops")),
                     _n(count / macs if count and macs else None, "{:.1f}"), _n(r.flash_bytes), _n(p.get("weights_bytes")),
                     _n(p.get("peak_ram_bytes")), _n(r.arena_bytes), _n(r.stack_bytes), front])
    return rows


def choice_rows(points: Sequence[LabPoint], max_drop: float = 1.0) -> list[list[str]]:
    """Per suite and board: the cheapest variant on each axis among those within `max_drop` points."""
    rows = []
    for suite, board in sorted({(p.rec.suite, p.rec.board) for p in points}):
        ok = [p for p in points if p.rec.suite == suite and p.rec.board == board and p.ok
              and p.drop is not None and p.drop <= max_drop]
        row = [suite, board]
        for attr, _, _ in AXES:
            usable = [p for p in ok if p.get(attr) is not None]
            if not usable:
                row.append("-")
                continue
            best = min(usable, key=lambda p: (p.get(attr), p.drop, _vkey(p.rec.variant)))
            row.append(f"{best.rec.variant} ({_n(best.get(attr))}, {best.drop:+.1f} pt)")
        rows.append(row)
    return rows


def failure_rows(points: Sequence[LabPoint]) -> list[list[str]]:
    return [[p.rec.suite, p.rec.variant, p.rec.board, p.rec.failure or p.rec.status, p.rec.message]
            for p in points if not p.ok]


def _html_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _md_escape(rows: list[list[str]]) -> list[list[str]]:
    return [[c.replace("|", "\\|").replace("\n", " ") for c in r] for r in rows]


# --------------------------------------------------------------------------- plots


def _colors(suites: Sequence[str]) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {s: cmap(i % 10) for i, s in enumerate(suites)}


def plot_board(points: Sequence[LabPoint], board: str, path: Path) -> Path | None:
    """Accuracy drop vs flash, count per inference and peak RAM for one board (a row per suite).

    Variants at the same spot share one label; ringed points and the dashed step are the front.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

    pts = [p for p in points if p.rec.board == board and p.ok and p.drop is not None]
    if not pts:
        return None
    all_suites = sorted({p.rec.suite for p in points})
    color = _colors(all_suites)
    suites = [s for s in all_suites if any(p.rec.suite == s for p in pts)]
    kind = next((p.rec.count_kind for p in pts if p.rec.count_kind), "count") or "count"
    fig, axes = plt.subplots(len(suites), len(AXES), figsize=(5.2 * len(AXES), 3.5 * len(suites) + 0.8),
                             squeeze=False)
    for row, suite in zip(axes, suites):
        mine_all = [p for p in pts if p.rec.suite == suite]
        drops = [p.drop for p in mine_all if p.drop is not None]  # all of them: pts have a drop
        lo, hi = min(drops), max(drops)
        pad = max(0.5, 0.1 * (hi - lo))
        for ax, (attr, label, div) in zip(row, AXES):
            mine = [p for p in mine_all if p.get(attr) is not None]
            xs = [x for p in mine if (x := p.get(attr))]
            log = bool(xs) and max(xs) / min(xs) > 8
            spots: dict[tuple[int, int], list[tuple[float, float, str]]] = {}
            xpos = [math.log10(v) if log else v for v in xs]
            xspan = (max(xpos) - min(xpos)) or 1.0 if xpos else 1.0
            yspan = max(1.0, hi - lo)
            for p in mine:
                x = p.get(attr) / div  # type: ignore[operator]
                ax.scatter([x], [p.drop], marker=MARKERS.get(p.rec.variant, "x"), color=color[suite], s=46, zorder=3)
                if attr in p.on_front:
                    ax.scatter([x], [p.drop], marker="o", s=190, facecolors="none", edgecolors=color[suite],
                               linewidths=1.4, zorder=2)
                xv = math.log10(p.get(attr)) if log else p.get(attr)  # type: ignore[arg-type]
                cell = (round(xv / xspan * 40), round(p.drop / yspan * 25))  # type: ignore[operator]
                spots.setdefault(cell, []).append((x, p.drop, p.rec.variant))  # type: ignore[arg-type]
            per_row: dict[int, int] = {}
            for (_, ycell), group in sorted(spots.items()):  # one label per crowded spot
                n = per_row[ycell] = per_row.get(ycell, -1) + 1  # alternate above/below along a row
                x0, y0, _v = min(group)
                ax.annotate(", ".join(v for _, _, v in group), (x0, y0), textcoords="offset points",
                            xytext=(6, 6 if n % 2 == 0 else -12), fontsize=7, color="0.2")
            front = sorted((p for p in mine if attr in p.on_front), key=lambda p: p.get(attr))  # type: ignore[arg-type,return-value]
            if len(front) > 1:
                ax.step([p.get(attr) / div for p in front], [p.drop for p in front], where="post",  # type: ignore[operator]
                        color=color[suite], linestyle="--", linewidth=1.0, alpha=0.8, zorder=1)
            if log:
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
                ax.xaxis.set_minor_formatter(NullFormatter())
            if attr == "count":
                ax.xaxis.set_major_formatter(EngFormatter(sep=""))
            ax.set_xlabel(label.format(kind=kind), fontsize=9)
            ax.set_ylim(min(-1.0, lo - pad), max(1.0, hi + pad))
            ax.axhline(0.0, color="0.6", linewidth=0.8)
            ax.grid(True, alpha=0.3)
        row[0].set_ylabel(f"{suite}: accuracy drop\nvs fp32 (points)")
    handles = [Line2D([], [], color=color[s], marker="o", linestyle="", label=s) for s in suites]
    variants = sorted({p.rec.variant for p in pts}, key=_vkey)
    handles += [Line2D([], [], color="0.3", marker=MARKERS.get(v, "x"), linestyle="", label=v) for v in variants]
    handles.append(Line2D([], [], color="0.3", marker="o", markerfacecolor="none", markersize=11, linestyle="--",
                          label="Pareto front"))
    fig.suptitle(f"board {board}: accuracy drop vs cost (lower left is better)", fontsize=11)
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.6 / (3.5 * len(suites) + 0.8), 1, 1))
    _save(fig, path)
    return path


def plot_bops(points: Sequence[LabPoint], boards: Sequence[str], path: Path) -> Path | None:
    """The proxy (BOPs) against the measured count, one panel per board, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

    pts = [p for p in points if p.ok and p.get("bops") and p.get("count")]
    if not pts:
        return None
    suites = sorted({p.rec.suite for p in points})
    color = _colors(suites)
    fig, axes = plt.subplots(1, len(boards), figsize=(4.6 * len(boards), 4.0), squeeze=False)
    for ax, board in zip(axes[0], boards):
        spots: dict[tuple[str, int, int], list[tuple[float, float, str]]] = {}
        for p in (p for p in pts if p.rec.board == board):
            x, y = p.get("bops"), p.get("count")
            ax.scatter([x], [y], marker=MARKERS.get(p.rec.variant, "x"), color=color[p.rec.suite], s=40)
            cell = (p.rec.suite, round(math.log10(x) * 12), round(math.log10(y) * 30))  # type: ignore[arg-type]
            spots.setdefault(cell, []).append((x, y, p.rec.variant))  # type: ignore[arg-type]
        for group in spots.values():  # one label per crowded spot
            x0, y0, _v = min(group)
            ax.annotate(", ".join(v for _, _, v in group), (x0, y0), textcoords="offset points", xytext=(4, 4),
                        fontsize=7, color="0.25")
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis, subs in ((ax.xaxis, (1.0,)), (ax.yaxis, (1.0, 2.0, 3.0, 5.0))):
            axis.set_major_locator(LogLocator(subs=subs))
            axis.set_major_formatter(EngFormatter(sep=""))
            axis.set_minor_formatter(NullFormatter())
        ax.set_title(board, fontsize=10)
        ax.set_xlabel("BOPs (MACs x W bits x A bits)")
        ax.grid(True, alpha=0.3, which="both")
    kind = next((p.rec.count_kind for p in pts if p.rec.count_kind), "count")
    axes[0][0].set_ylabel(f"measured {kind} per inference")
    fig.suptitle("proxy (BOPs) vs measured count per inference (marker = variant)", fontsize=11)
    fig.legend(handles=[Line2D([], [], color=color[s], marker="o", linestyle="", label=s) for s in suites],
               loc="lower center", ncol=len(suites), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    _save(fig, path)
    return path


def _save(fig: Any, path: Path) -> None:
    """PNG with a 256-colour palette: a third of the bytes, so reports can be committed."""
    import io as _io

    import matplotlib.pyplot as plt
    from PIL import Image

    buf = _io.BytesIO()
    fig.savefig(buf, dpi=100, format="png")
    plt.close(fig)
    buf.seek(0)
    with Image.open(buf) as im:
        im.convert("RGB").quantize(colors=256).save(path, format="PNG", optimize=True)


# --------------------------------------------------------------------------- report


@dataclass
class LabReport:
    markdown: Path
    html: Path
    images: list[Path]


def write_report(records: Iterable[Record], out_dir: str | Path, *, manifest: dict[str, Any] | None = None,
                 title: str = "Quantization lab report") -> LabReport:
    """Write report.md, report.html and the PNGs they reference into `out_dir`."""
    records = list(records)
    if not records:
        raise ConfigError("no records to report on; pick a run with records (`hil results`)",
                          file=None, line=None, field="run")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    points = analyse(records)
    boards = sorted({p.rec.board for p in points})
    images: list[tuple[str, Path]] = []
    for board in boards:
        png = plot_board(points, board, out / f"drop-{board}.png")
        if png is not None:
            images.append((f"Board {board}: accuracy drop vs flash, {_kind(points, board)} per inference, peak RAM", png))
    bops = plot_bops(points, boards, out / "bops-vs-count.png")
    if bops is not None:
        images.append(("BOPs (proxy) vs measured count per inference", bops))

    ok = sum(p.ok for p in points)
    m = manifest or {}
    facts = [
        ("run", str(m.get("run_id") or records[0].run_id)),
        ("status", str(m.get("status", "?"))),
        ("started", str(m.get("start", "?"))),
        ("git", str(m.get("git_sha") or records[0].git_sha or "?")),
        ("points", f"{len(points)} ({ok} ok, {len(points) - ok} failed)"),
        ("toolchain", records[0].toolchain or "?"),
        ("emulator", records[0].emulator or "?"),
    ]
    notes = [
        "drop (pt): accuracy of the fp32 point of the same suite and board minus this point's, in percentage "
        "points (positive = worse); '(host fp32)' when the fp32 firmware failed and the fp32 model's TFLM host "
        "accuracy is the basis.",
        "count/inf: worst case over the test vectors (instructions under emulation, exact); count/MAC divides by "
        "the generator's MAC count. BOPs = MACs x weight bits x activation bits (fp32 counts as 32 x 32).",
        "peak RAM: .data + .bss + measured stack high-water; flash: vectors + text + rodata + data; weights B: "
        "the model's constant data in flash (where packed 4/2-bit weights show).",
        "bit-exact: share of vectors agreeing with the TFLM reference, by the suites' rule (integer variants "
        "byte for byte, fp32 every element within 1e-5 absolute + 1e-4 relative); max abs diff: the largest "
        "difference (LSB for integer outputs, output units for fp32).",
        "front: Pareto-optimal on flash / count / peak RAM vs drop within its suite and board (ringed in the plots).",
    ]
    md = [f"# {title}", ""]
    md += [f"- **{k}**: {v}" for k, v in facts] + [""]
    for caption, png in images:
        md += [f"![{caption}]({png.name})", ""]
    html_parts = [f"<h1>{html.escape(title)}</h1>", "<ul>"]
    html_parts += [f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in facts] + ["</ul>"]
    html_parts += [f'<figure><img src="{html.escape(png.name)}" alt="{html.escape(c)}"><figcaption>{html.escape(c)}'
                   f"</figcaption></figure>" for c, png in images]
    for board in boards:
        mine = [p for p in points if p.rec.board == board]
        rows = point_rows(mine)
        md += [f"## Board {board}", "", format_table(TABLE_HEADER, _md_escape(rows), markdown=True), ""]
        html_parts += [f"<h2>Board {html.escape(board)}</h2>", _html_table(TABLE_HEADER, rows)]
    choice_head = ("suite", "board", "least flash", "fewest count/inference", "least peak RAM")
    choices = choice_rows(points)
    md += ["## Cheapest variant within 1 point of fp32", "", format_table(choice_head, _md_escape(choices), markdown=True), ""]
    html_parts += ["<h2>Cheapest variant within 1 point of fp32</h2>", _html_table(choice_head, choices)]
    fails = failure_rows(points)
    if fails:
        head = ("suite", "variant", "board", "failure", "message")
        md += ["## Failed points", "", format_table(head, _md_escape(fails), markdown=True), ""]
        html_parts += ["<h2>Failed points</h2>", _html_table(head, fails)]
    md += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    html_parts += ["<h2>Notes</h2>", "<ul>"] + [f"<li>{html.escape(n)}</li>" for n in notes] + ["</ul>"]
    md_path, html_path = out / "report.md", out / "report.html"
    md_path.write_text("\n".join(md), encoding="utf-8")
    style = ("body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:12px}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
             "img{max-width:100%}figcaption{font-size:12px;color:#555}")
    html_path.write_text(f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                         f"<style>{style}</style></head><body>\n" + "\n".join(html_parts) + "\n</body></html>\n",
                         encoding="utf-8")
    return LabReport(md_path, html_path, [png for _, png in images])


def _kind(points: Sequence[LabPoint], board: str) -> str:
    return next((p.rec.count_kind for p in points if p.rec.board == board and p.rec.count_kind), "count")
