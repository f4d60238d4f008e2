"""`hil baseline` / `hil compare` on a real sweep run, and check_baseline for the pytest plugin."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.baseline import Thresholds, compare
from harness.lab_report import select_run
from harness.results import ResultsWriter, read_records_csv

ROOT = Path(__file__).resolve().parent.parent
HAR = ROOT / "suites" / "har" / "artifacts"


def hil(*args: str) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess: exit codes are what CI sees."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=600)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare")
    art = root / "suites" / "har" / "artifacts"
    art.mkdir(parents=True)
    for f in ("int8.tflite", "int8-pt.tflite", "test.npz"):
        shutil.copy(HAR / f, art)
    done = hil("sweep", "--suite", "har", "--variants", "int8,int8-pt", "--boards", "m0plus,m4", "--vectors", "4",
               "-j", "2", "--suites-dir", str(root / "suites"), "--results-dir", str(root / "results"))
    assert done.returncode == 0, done.stderr
    return root


def _edit(src: Path, dst: Path, variant: str, **changes: str) -> Path:
    """Copy a baseline, changing some cells of one variant's row (a planted regression)."""
    rows = list(csv.DictReader(src.open()))
    for row in rows:
        if row["variant"] == variant:
            row.update(changes)
    with dst.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return dst


def test_baseline_holds_the_board_named_by_the_file(run: Path) -> None:
    out = run / "baselines" / "m4.csv"
    done = hil("baseline", "--out", str(out), "--results-dir", str(run / "results"))
    assert done.returncode == 0, done.stderr
    recs = read_records_csv(out)
    assert sorted((r.variant, r.board) for r in recs) == [("int8", "m4"), ("int8-pt", "m4")]


def test_compare_against_own_baseline_passes(run: Path) -> None:
    out = run / "baselines" / "m4.csv"
    hil("baseline", "--out", str(out), "--results-dir", str(run / "results"))
    done = hil("compare", "--baseline", str(out), "--results-dir", str(run / "results"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK" in done.stdout and "m0plus" not in done.stdout  # other boards are not this baseline's business


def test_planted_regression_fails_and_names_the_metric(run: Path) -> None:
    good = run / "baselines" / "m4.csv"
    hil("baseline", "--out", str(good), "--results-dir", str(run / "results"))
    base = read_records_csv(good)
    int8 = next(r for r in base if r.variant == "int8")
    # the baseline claims int8 used to need 5 % fewer instructions and was 2 points more accurate
    planted = _edit(good, run / "planted-m4.csv", "int8",
                    count_per_inference=str(int(int8.count_per_inference * 0.95)), accuracy=repr(int8.accuracy + 0.02))
    done = hil("compare", "--baseline", str(planted), "--results-dir", str(run / "results"))
    assert done.returncode == 1
    lines = [ln for ln in done.stdout.splitlines() if "REGRESSION" in ln]
    assert any("instructions_per_inference" in ln and "/int8/m4" in ln for ln in lines), done.stdout
    assert any("accuracy" in ln and "/int8/m4" in ln for ln in lines), done.stdout
    assert "2 regression(s)" in done.stdout
    # within looser limits the same move passes
    loose = hil("compare", "--baseline", str(planted), "--results-dir", str(run / "results"),
                "--count-pct", "10", "--acc-drop", "0.05")
    assert loose.returncode == 0, loose.stdout


def test_flash_growth_is_a_regression(run: Path) -> None:
    good = run / "baselines" / "m4.csv"
    hil("baseline", "--out", str(good), "--results-dir", str(run / "results"))
    pt = next(r for r in read_records_csv(good) if r.variant == "int8-pt")
    planted = _edit(good, run / "flash-m4.csv", "int8-pt", flash_bytes=str(pt.flash_bytes - 500))
    done = hil("compare", "--baseline", str(planted), "--results-dir", str(run / "results"))
    assert done.returncode == 1
    assert any("flash_bytes" in ln and "REGRESSION" in ln for ln in done.stdout.splitlines()), done.stdout


def test_compare_with_thresholds_for_the_plugin(run: Path) -> None:
    good = run / "baselines" / "m0plus.csv"
    assert hil("baseline", "--out", str(good), "--results-dir", str(run / "results")).returncode == 0
    _, records = select_run(run / "results")
    assert compare(records, good, Thresholds()).ok
    int8 = next(r for r in read_records_csv(good) if r.variant == "int8")
    planted = _edit(good, run / "ram-m0plus.csv", "int8", ram_bytes=str(int8.ram_bytes - 1000))
    result = compare(records, planted, Thresholds(size_pct=2.0))
    assert not result.ok and "ram_bytes" in result.table() and "REGRESSION" in result.table()


def test_compare_missing_baseline_says_how_to_make_one(run: Path) -> None:
    done = hil("compare", "--baseline", str(run / "nope.csv"), "--results-dir", str(run / "results"))
    assert done.returncode == 2
    assert "hil baseline --out" in done.stderr


def test_points_of_the_baseline_missing_from_the_run_are_regressions(run: Path) -> None:
    good = run / "baselines" / "m4.csv"
    hil("baseline", "--out", str(good), "--results-dir", str(run / "results"))
    other = _edit(good, run / "renamed-m4.csv", "int8", suite="kws")
    done = hil("compare", "--baseline", str(other), "--results-dir", str(run / "results"))
    assert done.returncode == 1
    assert "missing from this run (in baseline): kws/har/int8/m4" in done.stdout
    assert "1 regression(s)" in done.stdout


def test_cli_and_plugin_share_one_set_of_default_tolerances() -> None:
    from harness.cli import build_parser

    args = build_parser().parse_args(["compare", "--baseline", "b.csv"])
    limits = Thresholds(count_pct=args.count_pct, size_pct=args.size_pct, stack_pct=args.stack_pct,
                        accuracy_points=args.acc_drop * 100.0)
    assert limits == Thresholds()


def _copy_results(run: Path, dst: Path) -> Path:
    shutil.copytree(run / "results", dst)
    return dst


def test_newest_run_that_is_partial_or_wrote_nothing_is_refused(run: Path, tmp_path: Path) -> None:
    good = run / "baselines" / "m4.csv"
    hil("baseline", "--out", str(good), "--results-dir", str(run / "results"))
    results = _copy_results(run, tmp_path / "results")
    (measured,) = [d.name for d in (results / "runs").iterdir()]
    # a run that failed before its first record: it must not hand over to the previous run
    ResultsWriter(results, run_id="zz-empty", argv=["pytest"]).close("partial")
    done = hil("compare", "--baseline", str(good), "--results-dir", str(results))
    assert done.returncode == 1 and "zz-empty wrote no records" in done.stderr, done.stderr
    assert "OK" not in done.stdout
    # the measured run, named explicitly, is still comparable
    assert hil("compare", "--baseline", str(good), "--results-dir", str(results), "--run", measured).returncode == 0
    # a newest run that recorded something but did not finish
    shutil.rmtree(results / "runs" / "zz-empty")
    partial = ResultsWriter(results, run_id="zz-partial", argv=["pytest"])
    partial.append(read_records_csv(good)[0])
    partial.close("partial")
    done = hil("compare", "--baseline", str(good), "--results-dir", str(results))
    assert done.returncode == 1 and "zz-partial is partial" in done.stderr and "--run" in done.stderr
    named = hil("compare", "--baseline", str(good), "--results-dir", str(results), "--run", "zz-partial")
    assert named.returncode == 1 and "missing from this run" in named.stdout  # compared: the rest is missing


def test_run_older_than_the_baseline_is_refused_unless_named(run: Path, tmp_path: Path) -> None:
    good = run / "baselines" / "m4.csv"
    hil("baseline", "--out", str(good), "--results-dir", str(run / "results"))
    newer = _edit(good, tmp_path / "newer-m4.csv", "int8", time="2999-01-01T00:00:00Z")
    done = hil("compare", "--baseline", str(newer), "--results-dir", str(run / "results"))
    assert done.returncode == 1 and "older than the baseline" in done.stderr
    _, records = select_run(run / "results")
    named = hil("compare", "--baseline", str(newer), "--results-dir", str(run / "results"), "--run", records[0].run_id)
    assert named.returncode == 0, named.stdout + named.stderr
