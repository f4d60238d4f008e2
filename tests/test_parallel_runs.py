"""One run across pytest-xdist workers, and baseline regressions as JUnit failures (real QEMU,
a temporary suite run by pytester in a child pytest)."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.baseline import write_baseline
from harness.boards import load_board
from harness.parallel import device_id, physical_board_lock
from harness.results import load_records, read_manifest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

SUITE = f"""
from pathlib import Path

import numpy as np
import pytest

from harness.pytest_plugin import PointKey

HAR = Path({str(ROOT / "suites" / "har" / "artifacts")!r})


def _run(hil, board, variant):
    with np.load(HAR / "test.npz") as d:
        inputs = [d["x_int8"][i].tobytes() for i in range(3)]
    key = PointKey("tiny", "cnn1d", variant)
    return key, hil.run_model(HAR / f"{{variant}}.tflite", inputs, board)


@pytest.mark.parametrize("variant", ["int8", "int8-pt"])
def test_matches_reference(board, hil, hil_check, variant):
    key, run = _run(hil, board, variant)
    hil_check(key, run, bitexact=run.bitexact)


@pytest.mark.parametrize("variant", ["int8", "int8-pt"])
def test_count(board, hil, hil_check, variant):
    key, run = _run(hil, board, variant)
    hil_check(key, run, instructions_per_inference=run.count_per_inference)
"""

BUDGETS = """
[tiny.cnn1d.int8."*"]
min_bitexact = 1.0
instructions_per_inference = 100_000_000

[tiny.cnn1d.int8-pt."*"]
min_bitexact = 1.0
instructions_per_inference = 100_000_000
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> tuple[Path, Path]:
    pytester.makepyfile(test_tiny=SUITE)
    budgets = pytester.makefile(".toml", budgets=BUDGETS)
    return pytester.path / "results", budgets


def test_xdist_workers_make_one_run_written_by_the_controller(suite, child_pytest) -> None:
    results, budgets = suite
    res = child_pytest("--board=m4,m0plus", "-n", "2", "-v", f"--results-dir={results}", f"--budgets={budgets}")
    res.assert_outcomes(passed=8)
    (run,) = (results / "runs").iterdir()  # one run folder, not one per worker
    manifest = read_manifest(run)
    assert manifest["status"] == "complete" and manifest["records"] == 8
    assert "-n" in manifest["argv"] and "-c" not in manifest["argv"]  # the user's argv, not a worker's
    records = load_records(results)
    assert sorted((r.test.split("[")[0], r.variant, r.board) for r in records) == sorted(
        (t, v, b) for t in ("test_matches_reference", "test_count") for v in ("int8", "int8-pt")
        for b in ("m4", "m0plus"))
    out = res.stdout.str()
    assert {"[gw0]", "[gw1]"} <= set(re.findall(r"\[gw\d\]", out))  # both workers measured
    assert out.count("HIL measurements") == 1 and out.count("tiny   int8-pt  m0plus") == 1


def test_baseline_regressions_are_junit_failures_once_per_point(suite, child_pytest, tmp_path: Path) -> None:
    results, budgets = suite
    first = child_pytest("--board=m4", f"--results-dir={results}", f"--budgets={budgets}")
    first.assert_outcomes(passed=4)
    measured = load_records(results)
    # The baseline says int8 used to take 10 % fewer instructions, and a point that this run lacks.
    planted = [dataclasses.replace(r, count_per_inference=int(r.count_per_inference * 0.9))
               if r.variant == "int8" else r for r in measured]
    gone = dataclasses.replace(measured[0], variant="w4a8")
    baseline = write_baseline(planted + [gone], tmp_path / "m4.csv")
    junit = tmp_path / "junit.xml"
    # The tests are renamed since the baseline was made: a baseline keyed by point does not care.
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    (renamed / "test_tiny.py").write_text(SUITE.replace("def test_count", "def test_instruction_count"))
    # -rN: no short summary (under CI=true pytest prints it untruncated, repeating each message)
    res = child_pytest(str(renamed), "--board=m4", f"--results-dir={results}", f"--budgets={budgets}",
                       f"--baseline={baseline}", f"--junitxml={junit}", "-rN")
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    res.assert_outcomes(passed=4 + 1, failed=2)  # the four tests, then one item per baseline point
    cases = {(c.get("classname"), c.get("name")): c for c in ET.parse(junit).getroot().iter("testcase")}
    failed = {k[1]: c.find("failure") for k, c in cases.items() if c.find("failure") is not None}
    assert set(failed) == {"tiny/cnn1d/int8/m4", "tiny/cnn1d/w4a8/m4"}  # int8-pt: same point, renamed test, ok
    assert ("hil-baseline", "tiny/cnn1d/int8-pt/m4") in cases
    assert "instructions_per_inference" in failed["tiny/cnn1d/int8/m4"].get("message", "") + (
        failed["tiny/cnn1d/int8/m4"].text or "")
    assert "missing from this run" in (failed["tiny/cnn1d/w4a8/m4"].text or "") + failed["tiny/cnn1d/w4a8/m4"].get(
        "message", "")
    assert res.stdout.str().count("instructions_per_inference: ") == 1  # once, not once per test item


def test_a_physical_board_is_held_by_one_process_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    monkeypatch.setenv("HIL_LOCK_DIR", str(tmp_path))
    board = load_board("nucleo-g071rb")
    lock = tmp_path / f"{device_id(board)}.lock"
    with physical_board_lock(board):
        with open(lock) as other:  # another process's attempt would block: a non-blocking one fails
            with pytest.raises(BlockingIOError):
                fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(lock) as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # released after the block
    with physical_board_lock(load_board("m4")):
        assert [p.name for p in tmp_path.iterdir()] == [lock.name]  # an emulator takes no lock


def test_a_run_that_records_nothing_still_leaves_its_run_for_compare(pytester: pytest.Pytester, child_pytest,
                                                                      tmp_path: Path) -> None:
    """The run folder exists from the session's start, so the newest run is this one, not the last good one."""
    from harness.cli import main
    from harness.results import Record, ResultsWriter

    results = pytester.path / "results"
    with ResultsWriter(results, run_id="00-good", argv=["pytest"]) as w:
        good = w.append(Record(suite="tiny", test="t", model="cnn1d", variant="int8", board="m4", flash_bytes=1))
    baseline = write_baseline([good], tmp_path / "m4.csv")
    pytester.makepyfile(test_broken="def test_fails_before_measuring(board):\n    raise RuntimeError('no model')\n")
    child_pytest("--board=m4", f"--results-dir={results}").assert_outcomes(failed=1)
    assert len(list((results / "runs").iterdir())) == 2
    assert main(["compare", "--baseline", str(baseline), "--results-dir", str(results)]) == 1


def test_a_missing_baseline_stops_the_run_before_any_test(pytester: pytest.Pytester, child_pytest,
                                                           tmp_path: Path) -> None:
    pytester.makepyfile(test_x="def test_x(board):\n    pass\n")
    res = child_pytest("--board=m4", f"--baseline={tmp_path / 'nope.csv'}")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*nope.csv: baseline not found*hil baseline --out*"])
