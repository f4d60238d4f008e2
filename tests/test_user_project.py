"""A team's own repository: examples/wine copied to a folder outside this checkout, run with
pytest and the CLI as a user would (child processes, real toolchain, real QEMU).

Each mistake that used to end green now fails loudly, naming the file and the field.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.results import read_run_records

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wine"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hil-cache")  # shared by this module's runs: one build per board


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "team-repo"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("results", "__pycache__", "build_model.py"))
    assert not dest.is_relative_to(ROOT)
    return dest


def run(project: Path, cache: Path, *args: str, tool: str = "pytest") -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args] if tool == "pytest" else \
        [sys.executable, "-m", "harness.cli", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["HIL_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = str(ROOT)  # the harness as installed; the project itself is not on the path
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=600)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_suite_file_passes_on_m4_and_writes_results_in_the_project(project: Path, cache: Path) -> None:
    out = run(project, cache, "--board=m4", f"--junitxml={project / 'junit.xml'}")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "5 passed" in out.stdout
    (run_dir,) = (project / "results" / "runs").iterdir()
    wine = {r.test: r for r in read_run_records(run_dir) if r.suite == "wine"}
    assert set(wine) == {f"test_{t}[wine_int8-m4]" for t in
                         ("matches_reference", "accuracy", "count_per_inference", "footprint")}
    assert all(r.status == "ok" for r in wine.values())
    assert (wine["test_accuracy[wine_int8-m4]"].accuracy or 0) >= 0.9
    assert wine["test_matches_reference[wine_int8-m4]"].bitexact == 1.0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert not (ROOT / "results" / "runs" / run_dir.name).exists()
    cases = ET.parse(project / "junit.xml").getroot().iter("testcase")
    assert sum(1 for _ in cases) == 5


def test_too_tight_budget_fails_with_the_table(project: Path, cache: Path) -> None:
    _edit(project / "hil.toml", "instructions_per_inference = 5_000_000\nflash_bytes = 200_000\nram_bytes = 16_384",
          "instructions_per_inference = 1_000\nflash_bytes = 200_000\nram_bytes = 16_384")
    out = run(project, cache, "--board=m4", "-k", "count_per_inference")
    assert out.returncode == 1, out.stdout[-3000:]
    assert "instructions_per_inference | 2," in out.stdout and "<= 1,000" in out.stdout and "MISS" in out.stdout


def test_misspelled_budget_key_fails_with_its_name_and_line(project: Path, cache: Path) -> None:
    _edit(project / "hil.toml", "min_accuracy = 0.9", "min_acuracy = 0.9")
    line = (project / "hil.toml").read_text().splitlines().index("min_acuracy = 0.9") + 1
    out = run(project, cache, "--board=m4")
    assert out.returncode not in (0, 5), out.stdout[-2000:]
    assert f"hil.toml:{line}" in out.stdout and "unknown budget field 'min_acuracy'" in out.stdout


def test_budget_for_a_board_that_does_not_exist_fails(project: Path, cache: Path) -> None:
    _edit(project / "hil.toml", "[budgets.m0plus]", "[budgets.m0plsu]")
    out = run(project, cache, "--board=m4")
    assert out.returncode not in (0, 5)
    assert "no board named 'm0plsu'" in out.stdout and "hil.toml:" in out.stdout


def test_unknown_suite_key_fails(project: Path, cache: Path) -> None:
    _edit(project / "hil.toml", 'task = "classification"', 'task = "classification"\nmodle = "x.tflite"')
    out = run(project, cache, "--board=m4")
    assert out.returncode not in (0, 5) and "unknown key 'modle'" in out.stdout


def test_missing_budgets_file_is_a_usage_error(project: Path, cache: Path) -> None:
    out = run(project, cache, "--board=m4", "--budgets=nightly-budgets.toml")
    assert out.returncode == pytest.ExitCode.USAGE_ERROR
    assert "nightly-budgets.toml" in out.stderr and "cannot read budget file" in out.stderr


def test_budgets_file_naming_nothing_collected_is_an_error(project: Path, cache: Path) -> None:
    (project / "extra.toml").write_text('[wine.wine.wine_int8."*"]\nmin_accuracy = 0.5\n\n'
                                        '[wnie.wine.wine_int8."*"]\nmin_accuracy = 0.5\n')
    out = run(project, cache, "--board=m4", "--budgets=extra.toml")
    assert out.returncode == pytest.ExitCode.USAGE_ERROR
    assert "extra.toml:4" in out.stderr and "no collected suite is named 'wnie'" in out.stderr


def test_strict_fails_a_metric_without_budget(project: Path, cache: Path) -> None:
    _edit(project / "hil.toml", "stack_bytes = 1_024\n\n[budgets.m0plus]", "\n[budgets.m0plus]")
    out = run(project, cache, "--board=m4", "-k", "footprint")
    assert out.returncode == 1
    assert "no budget for stack_bytes" in out.stdout
    _edit(project / "hil.toml", "strict = true", "strict = false")
    out = run(project, cache, "--board=m4", "-k", "footprint")
    assert out.returncode == 0 and "1 passed" in out.stdout  # flash and RAM still checked


def test_model_that_does_not_fit_fails_under_strict(project: Path, cache: Path, tmp_path: Path) -> None:
    board = tmp_path / "tiny.toml"
    text = (ROOT / "boards" / "m4.toml").read_text()
    board.write_text(text.replace('name = "m4"', 'name = "tiny"')
                     .replace("size = 0x00400000\n\n[memory.ram]", "size = 0x00001000\n\n[memory.ram]"))
    assert 'name = "tiny"' in board.read_text() and "0x00001000" in board.read_text()
    out = run(project, cache, f"--board={board}", "-k", "footprint")
    assert out.returncode == 1, out.stdout[-2000:]
    assert "does-not-fit" in out.stdout or "does not fit" in out.stdout


def test_truncated_model_is_one_line_without_traceback(project: Path, cache: Path) -> None:
    model = project / "model" / "wine_int8.tflite"
    model.write_bytes(model.read_bytes()[:1500])
    out = run(project, cache, "run", "model/wine_int8.tflite", "--board", "m4", tool="cli")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr
    assert "[invalid-model]" in out.stderr and "wine_int8.tflite" in out.stderr
    out = run(project, cache, "--board=m4", "-k", "matches_reference")
    assert out.returncode == 1 and "Traceback" not in out.stdout
    assert "[invalid-model]" in out.stdout or "invalid-model" in out.stdout


def test_hil_run_with_data_prints_accuracy(project: Path, cache: Path) -> None:
    out = run(project, cache, "run", "model/wine_int8.tflite", "--board", "m4", "--data", "data/test.npz",
              tool="cli")
    assert out.returncode == 0, out.stderr
    assert "agreement  100.0% of 72 vectors bit-exact" in out.stdout
    assert "accuracy   0.9722 (70/72" in out.stdout


def test_missing_qemu_fails_instead_of_skipping(project: Path, cache: Path, tmp_path: Path) -> None:
    """QEMU is required: on a machine without it the run fails as `toolchain`, never all-skipped green."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-objcopy", "git"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    env_path = os.environ["PATH"]
    os.environ["PATH"] = str(bin_dir)
    try:
        out = run(project, cache, "--board=m4", "-k", "footprint")
    finally:
        os.environ["PATH"] = env_path
    assert out.returncode == 1, out.stdout[-2000:]
    assert "qemu-system-arm not found" in out.stdout and "skipped" not in out.stdout.splitlines()[-1]
