"""Lab report: Pareto fronts on hand cases, drops against fp32, files from a real sweep."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from harness.cli import main
from harness.lab_report import analyse, choice_rows, pareto_front, select_run, write_report
from harness.report import format_table, measurement_table
from harness.results import Record

ROOT = Path(__file__).resolve().parent.parent
HAR = ROOT / "suites" / "har" / "artifacts"


def test_pareto_front_hand_case() -> None:
    #        0    1    2    3    4    5
    xs = [1.0, 2.0, 3.0, 2.0, 4.0, 1.0]
    ys = [5.0, 3.0, 1.0, 4.0, 1.0, 5.0]
    # 3 is beaten by 1 (same x, lower y); 4 by 2 (same y, lower x); 0 and 5 tie and both stay
    assert pareto_front(xs, ys) == [0, 5, 1, 2]
    assert pareto_front([], []) == []
    assert pareto_front([1.0, float("nan")], [1.0, 0.0]) == [0]
    assert pareto_front([3.0, 1.0, 2.0], [1.0, 3.0, 2.0]) == [1, 2, 0]  # a trade-off curve: all stay


def _rec(variant: str, board: str, acc: float | None, flash: int, count: int, status: str = "ok", **extra) -> Record:
    failed = status != "ok"
    return Record(suite="s", test="sweep", model="s", variant=variant, board=board, status=status,
                  failure="unsupported" if failed else "", message="no kernel" if failed else "",
                  accuracy=None if failed else acc, flash_bytes=None if failed else flash,
                  count_kind="" if failed else "instructions", count_per_inference=None if failed else count,
                  extra={"peak_ram_bytes": flash // 10, **extra} if not failed else extra)


def test_drop_is_against_the_fp32_point_of_the_same_board() -> None:
    recs = [
        _rec("fp32", "m4", 0.90, 9000, 500), _rec("int8", "m4", 0.88, 5000, 400),
        _rec("w2a8", "m4", 0.70, 4000, 410), _rec("int8-pt", "m4", 0.89, 6000, 450),
        _rec("fp32", "m0plus", None, 0, 0, status="failed", host_accuracy=0.92),
        _rec("int8", "m0plus", 0.88, 5000, 900),
    ]
    pts = {(p.rec.variant, p.rec.board): p for p in analyse(recs)}
    assert pts[("int8", "m4")].drop == pytest.approx(2.0)
    assert pts[("w2a8", "m4")].drop == pytest.approx(20.0)
    assert pts[("fp32", "m4")].drop == 0.0
    assert (pts[("int8", "m0plus")].drop, pts[("int8", "m0plus")].drop_basis) == (pytest.approx(4.0), "host")
    assert pts[("fp32", "m0plus")].drop is None
    # flash front on m4: w2a8 (smallest), int8 (less drop), int8-pt (less drop still), fp32 (no drop)
    assert {v for (v, b), p in pts.items() if b == "m4" and "flash_bytes" in p.on_front} == {"w2a8", "int8", "int8-pt", "fp32"}
    # count front: int8 (400) dominates w2a8 (410, more drop)
    assert {v for (v, b), p in pts.items() if b == "m4" and "count" in p.on_front} == {"int8", "int8-pt", "fp32"}
    # within 1 point of fp32 only fp32 and int8-pt qualify on m4; int8-pt is cheaper on every axis
    rows = {(r[0], r[1]): r[2:] for r in choice_rows(list(pts.values()), max_drop=1.0)}
    assert rows[("s", "m4")] == ["int8-pt (6,000, +1.0 pt)", "int8-pt (450, +1.0 pt)", "int8-pt (600, +1.0 pt)"]
    assert rows[("s", "m0plus")] == ["-", "-", "-"]  # int8 is 4 points below the host fp32 accuracy


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sweep: fp32 and int8 of the har suite on m4 (4 vectors each)."""
    root = tmp_path_factory.mktemp("report")
    art = root / "suites" / "har" / "artifacts"
    art.mkdir(parents=True)
    for f in ("fp32.tflite", "int8.tflite", "test.npz"):
        shutil.copy(HAR / f, art)
    (art / "w2a8.tflite").write_bytes(b"not a model")
    rc = main(["sweep", "--suite", "har", "--variants", "fp32,int8,w2a8", "--boards", "m4", "-j", "2",
               "--vectors", "4", "--suites-dir", str(root / "suites"), "--results-dir", str(root / "results")])
    assert rc == 0
    return root


def test_report_files_reference_existing_pngs(real_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = real_run / "report"
    assert main(["report", "--results-dir", str(real_run / "results"), "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    md_imgs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    html_imgs = re.findall(r'<img src="([^"]+)"', page)
    assert "drop-m4.png" in md_imgs and "bops-vs-count.png" in md_imgs
    assert sorted(md_imgs) == sorted(html_imgs)
    for name in md_imgs:
        png = out / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(png) as im:  # a real figure, not an empty canvas
            assert im.size[0] >= 400 and im.size[1] >= 300
            assert len(im.convert("RGB").getcolors(1 << 16) or []) > 8
    # tables: both variants measured, the broken one listed with its class and reason
    assert re.search(r"\| har +\| int8 +\| ok +\|", md)
    assert re.search(r"\| har +\| w2a8 +\| m4 +\| invalid-model +\| .*w2a8\.tflite", md)
    assert "<td>w2a8</td>" in page and "<h2>Failed points</h2>" in page
    manifest, records = select_run(real_run / "results")
    assert manifest["status"] == "complete" and len(records) == 3


def test_report_of_unknown_run_names_the_latest(real_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--results-dir", str(real_run / "results"), "--run", "nope", "--out",
                 str(real_run / "x")]) == 2
    err = capsys.readouterr().err
    assert "[config]" in err and "not found" in err and "latest runs:" in err


def test_write_report_needs_records(tmp_path: Path) -> None:
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="no records"):
        write_report([], tmp_path)


def test_plugin_tables_still_work() -> None:
    assert format_table(["a", "b"], [[1, None]], markdown=True).splitlines()[2] == "| 1 |   |"
    table = measurement_table([_rec("int8", "m4", 0.5, 100, 10)])
    assert "int8" in table and "10 insn" in table


def test_sweep_records_win_over_other_tests_of_the_same_point() -> None:
    import dataclasses

    sweep = dataclasses.replace(_rec("int8", "m4", 0.88, 5000, 400), time="2026-01-01T00:00:00Z")
    later = dataclasses.replace(_rec("int8", "m4", None, 7000, 900), test="test_footprint",
                                time="2026-01-02T00:00:00Z")
    (p,) = analyse([sweep, later])
    assert p.rec.test == "sweep" and p.rec.flash_bytes == 5000
    (q,) = analyse([dataclasses.replace(sweep, test="test_accuracy"), later])
    assert q.rec.test == "test_accuracy"  # no sweep: the record that measured accuracy


def test_trend_marks_the_step_against_the_previous_run(tmp_path: Path) -> None:
    import dataclasses

    import pandas as pd

    from harness.results import ResultsWriter

    env = {"git_sha": "0" * 40, "toolchain": "gcc", "emulator": "qemu"}
    counts = {"m4": [400, 401, 480], "m0plus": [900, 900, 900]}  # m4 grows 20 % in the third run
    for night in range(3):
        with ResultsWriter(tmp_path / "results", run_id=f"2026120{night + 1}-run", environment=env) as w:
            for board, series in counts.items():
                w.append(dataclasses.replace(_rec("int8", board, 0.9 - 0.01 * (night == 2), 5000, series[night]),
                                             test="test_count"))
    out = tmp_path / "trend"
    assert main(["report", "--trend", "--results-dir", str(tmp_path / "results"), "--out", str(out)]) == 0
    table = pd.read_csv(out / "trend.csv")
    bad = table[table["regressed"]]
    assert sorted(zip(bad["board"], bad["metric"], bad["run_id"])) == [
        ("m0plus", "accuracy", "20261203-run"), ("m4", "accuracy", "20261203-run"),
        ("m4", "count_per_inference", "20261203-run")]
    assert len(table[(table["metric"] == "count_per_inference")]) == 6  # 3 runs x 2 boards
    assert "## Regressions" in (out / "trend.md").read_text()
    (png,) = out.glob("trend-*.png")
    with Image.open(png) as im:
        assert im.size[0] >= 800 and len(im.convert("RGB").getcolors(1 << 16) or []) > 8
