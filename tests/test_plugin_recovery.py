"""The pytest plugin survives broken devices: a temporary suite (run by pytester in a child
pytest, on real QEMU) whose first model faults, and whose next model then runs fine on the same
board; every failure class lands in records.parquet and in JUnit XML as its own `hil_status`. An
interrupted run keeps the records written before the interrupt and its manifest says "partial".
The leftover-emulator check of tests/conftest.py fails a session that leaks an emulator.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

PRELUDE = f"""
import os, signal, sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, {str(TESTS)!r})
from flipproxy import Fault, FlipProxy
from harness.device import open_device
from harness.firmware.build import build_firmware
from harness.protocol import SYNC
from harness import PointKey

SUITE = "recovery"
MODEL = "testmodels"
TESTMODELS = Path({str(ROOT / "firmware" / "testmodels")!r})
HAR = Path({str(ROOT / "suites" / "har" / "artifacts")!r})


def elf(board, model):
    return build_firmware(board, TESTMODELS / model).elf
"""

SUITE = PRELUDE + """

def test_01_fault(board):
    with open_device(board, elf(board, "fault"), timeout=10) as dev:
        dev.invoke(bytes(4))


def test_02_next_model_runs_fine(board, hil, hil_check):
    with np.load(HAR / "test.npz") as d:
        inputs = [d["x_int8"][i].tobytes() for i in range(3)]
    key = PointKey(SUITE, "har_cnn1d", "int8")
    run = hil.run_model(HAR / "int8.tflite", inputs, board)
    hil_check(key, run, bitexact=run.bitexact)


def test_03_hang(board):
    with open_device(board, elf(board, "hang"), timeout=1.0) as dev:
        dev.invoke(bytes(4))


def test_04_corrupt_wire(board):
    with FlipProxy() as proxy, open_device(board, elf(board, "echo"), connect_via=proxy.connect_via) as dev:
        proxy.add(Fault("up", "flip", after=SYNC, offset=8, times=None))
        dev.invoke(bytes(490))


def test_05_emulator_killed(board):
    with open_device(board, elf(board, "echo"), timeout=10) as dev:
        os.kill(dev.backend.process.pid, signal.SIGKILL)
        dev.invoke(bytes(490))


def test_06_wrong_board_firmware(board):
    other = "m3" if board.name != "m3" else "m4"
    with open_device(board, build_firmware(other, TESTMODELS / "echo").elf, boot_timeout=5):
        pass


def test_07_no_emulator(board, monkeypatch, tmp_path):
    fw = elf(board, "echo")
    monkeypatch.setenv("PATH", str(tmp_path))
    with open_device(board, fw):
        pass


def test_08_budget_miss(board, hil, hil_check):
    with np.load(HAR / "test.npz") as d:
        inputs = [d["x_int8"][i].tobytes() for i in range(3)]
    run = hil.run_model(HAR / "int8.tflite", inputs, board)
    hil_check(PointKey(SUITE, "har_cnn1d", "tight"), run, instructions_per_inference=run.count_per_inference)


def test_09_still_fine_at_the_end(board):
    with open_device(board, elf(board, "echo"), timeout=10) as dev:
        out, count = dev.invoke(bytes(490))
        assert len(out) == 490 and count.value > 0
"""

BUDGETS = """
[recovery.har_cnn1d.int8."*"]
min_bitexact = 1.0

[recovery.har_cnn1d.tight."*"]
instructions_per_inference = 1000
"""

EXPECTED = [  # (test, status, failure)
    ("test_01_fault[m4]", "failed", "fault"),
    ("test_02_next_model_runs_fine[m4]", "ok", ""),
    ("test_03_hang[m4]", "failed", "timeout"),
    ("test_04_corrupt_wire[m4]", "failed", "protocol"),
    ("test_05_emulator_killed[m4]", "failed", "emulator-died"),
    ("test_06_wrong_board_firmware[m4]", "failed", "boot"),
    ("test_07_no_emulator[m4]", "failed", "toolchain"),
    ("test_08_budget_miss[m4]", "failed", "budget"),
    ("test_09_still_fine_at_the_end[m4]", "ok", ""),
]


def _run_dir(results: Path) -> Path:
    (run,) = (results / "runs").iterdir()
    return run


def _records(results: Path) -> list[dict[str, str]]:
    from harness.results import load_records

    return [{k: ("" if v is None else str(v)) for k, v in vars(r).items()} for r in load_records(results)]


def test_crashed_device_does_not_fail_the_rest_and_every_class_is_its_own_status(pytester: pytest.Pytester, child_pytest) -> None:
    pytester.makepyfile(test_suite=SUITE)
    budgets = pytester.makefile(".toml", budgets=BUDGETS)
    results = pytester.path / "results"
    junit = pytester.path / "junit.xml"
    res = child_pytest("--board=m4", f"--results-dir={results}", f"--budgets={budgets}", f"--junitxml={junit}")
    res.assert_outcomes(passed=2, failed=7)

    got = [(r["test"], r["status"], r["failure"]) for r in _records(results)]
    assert got == EXPECTED
    by_test = {r["test"]: r for r in _records(results)}
    assert "testmodel_fault_udf" in by_test["test_01_fault[m4]"]["message"]
    assert "last command sent: INVOKE" in by_test["test_03_hang[m4]"]["message"]
    assert "MISS" in by_test["test_08_budget_miss[m4]"]["message"]
    assert json.loads((_run_dir(results) / "manifest.json").read_text())["status"] == "complete"

    statuses = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        statuses[case.get("name")] = props.get("hil_status")
    assert statuses == {test: failure or status for test, status, failure in EXPECTED}
    assert len(set(statuses.values())) == 8  # ok + seven distinct failure classes


INTERRUPTED = PRELUDE + """

def test_a_before(board):
    with open_device(board, elf(board, "echo"), timeout=10) as dev:
        dev.invoke(bytes(490))


def test_b_interrupted(board):
    with open_device(board, elf(board, "hang"), timeout=10) as dev:
        raise KeyboardInterrupt


def test_c_never_runs(board):
    pass
"""


def test_interrupted_run_keeps_earlier_records_and_is_partial(pytester: pytest.Pytester, child_pytest) -> None:
    pytester.makepyfile(test_suite=INTERRUPTED)
    results = pytester.path / "results"
    res = child_pytest("--board=m4", f"--results-dir={results}", timeout=120)
    assert res.ret == pytest.ExitCode.INTERRUPTED
    res.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    assert [(r["test"], r["status"]) for r in _records(results)] == [("test_a_before[m4]", "ok")]
    manifest = json.loads((_run_dir(results) / "manifest.json").read_text())
    assert manifest["status"] == "partial" and manifest["records"] == 1


def test_leaked_emulator_fails_the_session(pytester: pytest.Pytester, child_pytest) -> None:
    """tests/conftest.py itself, in a child session whose test starts QEMU and never stops it."""
    pytester.makeconftest((TESTS / "conftest.py").read_text())
    pytester.makepyfile(test_leak=PRELUDE + textwrap.dedent("""
        import subprocess

        def test_leaks():
            fw = elf("m4", "hang")
            subprocess.Popen(["qemu-system-arm", "-M", "mps2-an386", "-display", "none", "-nodefaults",
                              "-kernel", str(fw)], start_new_session=True)
    """))
    res = child_pytest(timeout=120)
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    res.stdout.fnmatch_lines(["*LEFTOVER EMULATORS: 1 emulator process(es)*", "*pid * qemu-system-arm -M mps2-an386*"])
    res.assert_outcomes(passed=1)
