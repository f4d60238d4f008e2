"""Results store: round trip, atomic writes under a real process crash, baseline compare."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.baseline import Thresholds, compare, write_baseline
from harness.budgets import check_budget
from harness.errors import ConfigError, DeviceTimeout
from harness.results import (
    Record,
    ResultsWriter,
    failure_class,
    load,
    load_records,
    load_runs,
    read_manifest,
    read_records_csv,
    read_run_records,
)

ROOT = Path(__file__).resolve().parent.parent
ENV = {"git_sha": "0" * 40, "toolchain": "arm-none-eabi-gcc 12.2", "emulator": "QEMU 7.2"}


def rec(**kw) -> Record:
    base = dict(
        suite="har", test="test_accuracy", model="cnn1d", variant="int8", board="m4", core="cortex-m4",
        backend="qemu", count_kind="instructions", count_per_inference=100_000, flash_bytes=40_000,
        ram_bytes=12_000, stack_bytes=1_000, arena_bytes=8_000, accuracy=0.90, bitexact=1.0,
        model_sha256="ab" * 32,
    )
    base.update(kw)
    return Record(**base)


def test_round_trip_and_manifest(tmp_path):
    awkward = rec(
        test="test_events", message='line one, "quoted"\nline two', extra={"auc": 0.93, "latency": {"p90": 1.5}},
        accuracy=None, status="failed", failure=failure_class(DeviceTimeout("no answer to invoke")),
    )
    with ResultsWriter(tmp_path, run_id="r1", argv=["pytest", "suites/"], environment=ENV) as w:
        written = [w.append(rec()), w.append(awkward)]
    assert written[0].run_id == "r1" and written[0].git_sha == ENV["git_sha"] and written[0].time.endswith("Z")
    assert load_records(tmp_path) == written
    assert written[1].failure == "timeout"
    man = read_manifest(tmp_path / "runs" / "r1")
    assert man["status"] == "complete" and man["records"] == 2 and man["argv"] == ["pytest", "suites/"]
    assert man["versions"]["emulator"] == "QEMU 7.2" and man["end"] is not None
    # The record feeds budgets directly, under the per-kind count name.
    m = written[1].measurements()
    assert m["instructions_per_inference"] == 100_000 and m["auc"] == 0.93 and "cycles_per_inference" not in m
    assert check_budget(m, {"min_auc": 0.9})[0].ok is True
    with pytest.raises(ConfigError, match="already exists"):
        ResultsWriter(tmp_path, run_id="r1", environment=ENV)


def test_exception_in_run_marks_it_partial(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with ResultsWriter(tmp_path, run_id="r1", environment=ENV) as w:
            w.append(rec())
            raise KeyboardInterrupt
    assert read_manifest(tmp_path / "runs" / "r1")["status"] == "partial"
    assert len(load_records(tmp_path)) == 1


CRASHING_RUN = """
import os, sys
sys.path.insert(0, {root!r})
from harness.results import Record, ResultsWriter
w = ResultsWriter({results!r}, run_id="crashed", environment={env!r})
r = Record(suite="har", test="t", model="cnn1d", variant="int8", board="m0plus")
w.append(r)
real_replace = os.replace
def die(src, dst):
    # The new records.parquet is fully written to its temp file; the process dies before the rename.
    os._exit(17)
os.replace = die
w.append(Record(suite="har", test="t2", model="cnn1d", variant="int8", board="m0plus"))
print("not reached")
"""


def test_crash_mid_write_keeps_earlier_runs_and_marks_partial(tmp_path):
    with ResultsWriter(tmp_path, run_id="good", environment=ENV) as w:
        good = [w.append(rec()), w.append(rec(board="m0plus"))]
    before = (tmp_path / "runs" / "good" / "records.parquet").read_bytes()
    script = CRASHING_RUN.format(root=str(ROOT), results=str(tmp_path), env=ENV)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 17, done.stderr
    run = tmp_path / "runs" / "crashed"
    # The temp file of the interrupted write is there, but records.parquet still holds the first row.
    assert any(p.name.endswith(".tmp") for p in run.iterdir())
    assert [r.test for r in read_run_records(run)] == ["t"]
    # Earlier run untouched; the crashed run reads as partial (its process is gone).
    assert (tmp_path / "runs" / "good" / "records.parquet").read_bytes() == before
    statuses = {m["run_id"]: m["status"] for m in load_runs(tmp_path)}
    assert statuses == {"good": "complete", "crashed": "partial"}
    assert json.loads((run / "manifest.json").read_text())["status"] == "running"  # not yet rewritten
    assert [r.test for r in load_records(tmp_path)] == ["test_accuracy", "test_accuracy", "t"]
    assert load_records(tmp_path, include_partial=False) == good
    # The next writer rewrites the stale manifest on disk.
    ResultsWriter(tmp_path, run_id="next", environment=ENV).close()
    assert json.loads((run / "manifest.json").read_text())["status"] == "partial"


def test_compare_catches_planted_regressions(tmp_path):
    baseline_records = [
        rec(),
        rec(test="test_footprint", accuracy=None),  # another test of the same point: one baseline row
        rec(model="dscnn", suite="kws"),
        rec(model="ae", suite="anomaly", accuracy=None),
        rec(board="m0plus", count_kind="cycles"),
        rec(model="gone"),
    ]
    path = write_baseline(baseline_records, tmp_path / "baselines" / "m4.csv")
    assert len(path.read_text().splitlines()) == 1 + 5  # header + one row per point, not per test
    current = [
        rec(count_per_inference=105_000),  # +5 % count: regression at 1 %
        rec(flash_bytes=40_200),  # same point later: flash +0.5 % moved, under 1 %
        rec(model="dscnn", suite="kws", accuracy=0.88),  # -2 points accuracy: regression at 0.5
        rec(model="ae", suite="anomaly", status="failed", failure="timeout", message="no answer"),
        rec(board="m0plus", count_kind="instructions", count_per_inference=1),  # different kind: not compared
        rec(model="brand_new"),
    ]
    # Later records of the same point replace earlier ones: give them increasing times.
    current = [dataclasses.replace(r, time=f"2026-01-01T00:00:{i:02d}Z") for i, r in enumerate(current)]
    cmp = compare(current, path, Thresholds(count_pct=1.0, size_pct=1.0, accuracy_points=0.5))
    assert not cmp.ok
    # The latest har/m4 record has the baseline count (the +5 % row was superseded) -> only
    # flash moved (+200 B, 0.5 %), not a regression.
    moved = {(c.key[0], c.key[3], c.metric): c for c in cmp.changes}
    assert moved[("har", "m4", "flash_bytes")].regressed is False
    assert ("har", "m4", "instructions_per_inference") not in moved
    assert moved[("kws", "m4", "accuracy")].regressed is True
    assert moved[("kws", "m4", "accuracy")].change == "-2.00 pt"
    assert moved[("anomaly", "m4", "status")].regressed is True
    assert moved[("har", "m0plus", "count_kind")].regressed is False
    assert cmp.missing == (("har", "gone", "int8", "m4"),)
    assert cmp.new == (("har", "brand_new", "int8", "m4"),)
    table = cmp.table()
    # kws accuracy, anomaly status, and the missing point
    assert table.splitlines()[0].endswith(f"{len(cmp.regressions) + 1} regression(s)")
    assert re.search(r"kws/dscnn/int8/m4\s+accuracy .*REGRESSION", table)
    assert re.search(r"har/gone/int8/m4\s+\(point\) .*REGRESSION", table)
    assert [c.metric for c in cmp.regressions if c.key[0] == "anomaly"] == ["status"]

    # The count regression alone is caught when it is the latest record; reported once per point.
    only_count = compare([rec(count_per_inference=105_000), rec(test="test_footprint", count_per_inference=105_000)],
                         tmp_path / "baselines" / "m4.csv")
    change = next(c for c in only_count.regressions if c.key[1] == "cnn1d" and c.key[3] == "m4")
    assert change.metric == "instructions_per_inference" and change.change == "+5,000 (+5.00%)"
    assert [c.metric for c in only_count.regressions if c.key == ("har", "cnn1d", "int8", "m4")] == [
        "instructions_per_inference"]
    # Identical records: nothing moved.
    same = compare(baseline_records, path)
    assert same.ok and same.changes == () and "(nothing moved)" in same.table()


def test_a_metric_of_the_baseline_missing_from_the_run_is_a_regression(tmp_path):
    path = write_baseline([rec(), rec(test="test_auc", accuracy=None, extra={"auc": 0.9})], tmp_path / "m4.csv")
    cmp = compare([rec()], path)  # the AUC test did not run
    (gone,) = cmp.regressions
    assert gone.metric == "auc" and gone.change == "not measured"
    assert compare([rec(), rec(test="test_auc", extra={"auc": 0.9})], path).ok


def test_load_gives_one_frame_over_runs_with_run_metadata(tmp_path):
    with ResultsWriter(tmp_path, run_id="a", environment=ENV) as w:
        w.append(rec())
        w.append(rec(board="m0plus", extra={"auc": 0.5}))
    with ResultsWriter(tmp_path, run_id="b", environment=ENV) as w:
        w.append(rec(variant="w4a8"))
    df = load(tmp_path)
    assert list(df["run_id"]) == ["a", "a", "b"] and set(df["run_status"]) == {"complete"}
    assert df["count_per_inference"].dtype == "Int64" and df.loc[1, "auc"] == 0.5
    assert list(load(tmp_path, board=["m0plus"])["board"]) == ["m0plus"]
    assert list(load(tmp_path, variant=["w4a8"])["run_id"]) == ["b"]
    assert load(tmp_path, since="2999-01-01").empty


def test_bad_records_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="status"):
        rec(status="passed")
    with pytest.raises(ValueError, match="failure class"):
        rec(status="failed")
    bad = tmp_path / "bad.csv"
    bad.write_text("suite,test,model,variant,board,flash_bytes\nhar,t,m,int8,m4,lots\n")
    with pytest.raises(ConfigError, match=r"bad.csv:2: column flash_bytes"):
        read_records_csv(bad)
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="not a results CSV"):
        read_records_csv(tmp_path / "x.csv")


def test_environment_is_collected_from_the_real_tools(tmp_path):
    w = ResultsWriter(tmp_path, run_id="env")
    w.close()
    man = read_manifest(tmp_path / "runs" / "env")
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", man["git_sha"])
    assert man["harness"]["git_sha"] == subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True,
                                                        capture_output=True).stdout.strip()
    assert "arm-none-eabi-gcc" in man["versions"]["toolchain"]
    assert "QEMU" in man["versions"]["emulator"]
    assert man["pid"] == os.getpid()


def test_manifest_records_the_users_project_not_the_harness(tmp_path):
    """The project is the user's repository (pytest rootdir / the CLI's cwd), with its dirty state."""
    project = tmp_path / "project"
    project.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(project)]
    subprocess.run([*git, "init", "-q"], check=True)
    (project / "model.txt").write_text("v1")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    ResultsWriter(tmp_path / "results", run_id="clean", project=project).close()
    (project / "model.txt").write_text("v2")
    ResultsWriter(tmp_path / "results", run_id="dirty", project=project).close()
    clean = read_manifest(tmp_path / "results" / "runs" / "clean")
    dirty = read_manifest(tmp_path / "results" / "runs" / "dirty")
    assert clean["project"] == {"root": str(project.resolve()), "git_sha": sha, "dirty": False}
    assert clean["git_sha"] == sha and dirty["git_sha"] == sha + "-dirty" and dirty["project"]["dirty"] is True
    assert clean["harness"]["git_sha"] != sha
    not_git = tmp_path / "plain"
    not_git.mkdir()
    ResultsWriter(tmp_path / "results", run_id="plain", project=not_git).close()
    assert read_manifest(tmp_path / "results" / "runs" / "plain")["project"]["git_sha"] == "unknown"


def test_hil_results_filters_exports_and_says_when_a_run_is_partial(tmp_path, capsys):
    import pandas as pd

    from harness.cli import main

    with ResultsWriter(tmp_path, run_id="20260101-a", environment=ENV) as w:
        w.append(rec())
        w.append(rec(board="m0plus", count_per_inference=300_000))
    w = ResultsWriter(tmp_path, run_id="20260102-b", environment=ENV)
    w.append(rec(variant="w4a8"))
    w.close("partial")
    assert main(["results", "--results-dir", str(tmp_path), "--board", "m0plus"]) == 0
    out, err = capsys.readouterr()
    assert "300,000 insn" in out and "w4a8" not in out and "20260102-b" not in err
    assert main(["results", "--results-dir", str(tmp_path), "--last"]) == 0
    out, err = capsys.readouterr()
    assert "w4a8" in out and "m0plus" not in out
    assert "20260102-b: partial" in err and "PARTIAL run" in err
    assert main(["results", "--results-dir", str(tmp_path), "--variant", "int8", "--markdown"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("| suite") and "PARTIAL" not in out
    assert main(["results", "--results-dir", str(tmp_path), "--csv", str(tmp_path / "all.csv")]) == 0
    exported = pd.read_csv(tmp_path / "all.csv")
    assert len(exported) == 3 and set(exported["run_status"]) == {"complete", "partial"}
