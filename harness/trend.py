"""Nightly trends: each metric of each point across runs, one line per board, regressions marked.

Why against the previous run: a nightly job asks "what got worse since yesterday", and a slow
drift shows as a line while a step is marked where it happened. The regression rule and its
tolerances are harness.baseline's (the ones `hil compare` and `pytest --baseline` apply).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.baseline import METRICS, POINT, Thresholds, point_frame
from harness.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

TREND_METRICS = ("count_per_inference", "flash_bytes", "ram_bytes", "accuracy", "auc")
LABELS = {"count_per_inference": "{kind} per inference", "flash_bytes": "flash (B)", "ram_bytes": "RAM (B)",
          "accuracy": "accuracy", "auc": "AUC"}


def trend_table(df: pd.DataFrame, limits: Thresholds = Thresholds()) -> pd.DataFrame:
    """Long table: one row per point, board, metric and run (oldest first), with the change
    against the same point's previous run and whether that change is a regression."""
    import pandas as pd

    per_run = []
    for (run_id, start), run in df.groupby(["run_id", "run_start"], sort=False, dropna=False):
        points = point_frame(run).reset_index()
        per_run.append(points.assign(run_id=run_id, run_start=start))
    columns = [*POINT, "count_kind", "run_id", "run_start", "metric", "value", "previous", "regressed"]
    if not per_run:
        return pd.DataFrame(columns=columns)
    wide = pd.concat(per_run, ignore_index=True)
    present = [m for m in TREND_METRICS if m in wide.columns]
    long = wide.melt(id_vars=[*POINT, "count_kind", "run_id", "run_start"], value_vars=present, var_name="metric",
                     value_name="value").dropna(subset=["value"])
    long = long.sort_values([*POINT, "metric", "run_start"], kind="stable").reset_index(drop=True)
    long["value"] = long["value"].astype(float)
    long["previous"] = long.groupby([*POINT, "metric"])["value"].shift(1)
    direction = long["metric"].map(lambda m: METRICS[m][0])
    limit = long["metric"].map(lambda m: float(getattr(limits, METRICS[m][1])))
    growth = (long["value"] - long["previous"]) / long["previous"] * 100.0
    drop = (long["previous"] - long["value"]) * 100.0
    long["regressed"] = ((direction == "grow") & (growth > limit)) | ((direction == "drop") & (drop > limit))
    return long[columns]


@dataclass
class TrendReport:
    markdown: Path
    table: Path
    images: list[Path]
    regressions: int


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)


def plot_point(table: pd.DataFrame, point: tuple[str, str, str], path: Path) -> Path:
    """One panel per metric, runs on x, one line per board, regressions ringed in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from harness.lab_report import _save

    runs = list(dict.fromkeys(table.sort_values("run_start")["run_id"]))
    metrics = [m for m in TREND_METRICS if m in set(table["metric"])]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        mine = table[table["metric"] == metric]
        for board, line in mine.groupby("board"):
            xs = [runs.index(r) for r in line["run_id"]]
            ax.plot(xs, line["value"], marker="o", markersize=4, label=board)
            bad = line[line["regressed"]]
            ax.scatter([runs.index(r) for r in bad["run_id"]], bad["value"], s=160, facecolors="none",
                       edgecolors="red", linewidths=1.6, zorder=3)
        kind = next((k for k in mine["count_kind"].dropna() if k), "count")
        ax.set_title(LABELS[metric].format(kind=kind), fontsize=10)
        ax.set_xticks(range(len(runs)))
        ax.set_xticklabels([r[:15] for r in runs], rotation=45, ha="right", fontsize=7)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{'/'.join(point)} across runs (red ring: regression against the previous run)", fontsize=11)
    fig.tight_layout()
    _save(fig, path)
    return path


def write_trend(df: pd.DataFrame, out_dir: str | Path, limits: Thresholds = Thresholds()) -> TrendReport:
    """trend.csv (the table), one PNG per point and trend.md (regressions first) in `out_dir`."""
    from harness.report import format_table

    table = trend_table(df, limits)
    if table.empty:
        raise ConfigError("no measurements to plot; pick runs with records (`hil results`)", file=None, line=None,
                          field="run")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "trend.csv"
    table.to_csv(csv_path, index=False)
    images = []
    for point, rows in table.groupby(["suite", "model", "variant"], sort=True):
        images.append(plot_point(rows, point, out / f"trend-{_slug('-'.join(point))}.png"))
    bad = table[table["regressed"]]
    md = ["# Trends across runs", "", f"- runs: {table['run_id'].nunique()}, points: "
          f"{len(table.groupby(list(POINT)))}, regressions against the previous run: {len(bad)}",
          f"- the table behind the plots: [{csv_path.name}]({csv_path.name})", ""]
    if len(bad):
        rows = [["/".join(r[c] for c in POINT), r["metric"], r["run_id"], f"{r['previous']:,.4g}",
                 f"{r['value']:,.4g}"] for _, r in bad.iterrows()]
        md += ["## Regressions", "", format_table(("point", "metric", "run", "previous", "value"), rows,
                                                   markdown=True), ""]
    md += [f"![{p.stem}]({p.name})\n" for p in images]
    md_path = out / "trend.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    return TrendReport(md_path, csv_path, images, len(bad))
