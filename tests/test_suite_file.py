"""Suite files (`hil.toml`): validation with file and line, budget resolution, and the checks'
own verdicts (agreement is asserted by its check, not left to a budget line)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from harness import suite_checks
from harness.errors import ConfigError
from harness.point import PointKey
from harness.reference import TensorDetails
from harness.suite_checks import SuitePoint
from harness.suite_file import load_suite

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wine"


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "s", ignore=shutil.ignore_patterns("results", "__pycache__"))
    return tmp_path / "s" / "hil.toml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _line(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def test_example_suite_loads_with_budgets_per_board(suite: Path) -> None:
    spec = load_suite(suite)
    assert (spec.name, spec.task, list(spec.variants)) == ("wine", "classification", ["wine_int8"])
    assert spec.strict and spec.data == suite.parent / "data" / "test.npz"
    m4 = spec.budgets.lookup("wine", "wine", "wine_int8", "m4")
    assert m4 is not None and m4.limits["instructions_per_inference"] == 5_000_000
    assert m4.limits["min_accuracy"] == 0.9  # from "*"
    m7 = spec.budgets.lookup("wine", "wine", "wine_int8", "m7")
    assert m7 is not None and "flash_bytes" not in m7.limits and m7.limits["min_bitexact"] == 1.0


def test_variant_table_overrides_board_table(suite: Path) -> None:
    _edit(suite, "[budgets.m4]\n", "[budgets.m4]\nmin_accuracy = 0.5\n[budgets.m4.wine_int8]\nmin_accuracy = 0.7\n"
          "[budgets.m4x]\n")
    with pytest.raises(ConfigError, match=r"hil.toml:\d+: \[budgets.m4x\]: no board named 'm4x'"):
        load_suite(suite)
    _edit(suite, "[budgets.m4x]\n", "")
    spec = load_suite(suite)
    assert spec.budgets.lookup("wine", "wine", "wine_int8", "m4").limits["min_accuracy"] == 0.7  # type: ignore[union-attr]


@pytest.mark.parametrize("old,new,problem", [
    ('task = "classification"', 'task = "clasification"', "unknown task 'clasification'"),
    ('data = "data/test.npz"', 'data = "data/tset.npz"', "file not found: data/tset.npz"),
    ('model = "model/wine_int8.tflite"', 'model = "model/wine_int8.tflite"\nvariants = {a = "x"}',
     "give either model"),
    ("strict = true", 'strict = "yes"', "must be true or false"),
    ("strict = true", "stirct = true", "unknown key 'stirct'"),
    ("min_accuracy = 0.9", "min_accuracy = 90", "must be a fraction in 0..1"),
    ("[budgets.m4]\n", "[budgets.m4.int8]\n", "suite 'wine' has no variant 'int8'"),
])
def test_mistakes_name_file_line_and_key(suite: Path, old: str, new: str, problem: str) -> None:
    _edit(suite, old, new)
    with pytest.raises(ConfigError) as err:
        load_suite(suite)
    assert problem in str(err.value)
    assert str(err.value).startswith(f"{suite}:"), str(err.value)
    assert err.value.details.get("line") is not None


def test_budgets_file_and_inline_tables_are_exclusive(suite: Path) -> None:
    _edit(suite, "strict = true", 'strict = true\nbudgets = "b.toml"')
    (suite.parent / "b.toml").write_text("[m4.wine_int8]\nflash_bytes = 10\n")
    with pytest.raises(ConfigError, match="keep one"):
        load_suite(suite)
    text = suite.read_text()
    suite.write_text(text[: text.index('[budgets."*"]')])
    spec = load_suite(suite)
    assert spec.budgets.lookup("wine", "wine", "wine_int8", "m4").limits == {"flash_bytes": 10}  # type: ignore[union-attr]


def _point(outputs: list[bytes], reference: list[bytes], dtype: str) -> SuitePoint:
    from harness.runner import ModelRun

    d = TensorDetails(0, (1, 3), np.dtype(dtype), 0.1 if dtype == "int8" else 0.0, 0)
    run = ModelRun(model_path=Path("m.tflite"), model_sha256="0", board=None, firmware=None,  # type: ignore[arg-type]
                   footprint=None, arena_bytes=0, arena_lower_bound=0, macs=0,  # type: ignore[arg-type]
                   outputs=outputs, reference=reference, counts=[], stack_high_water=0, stack_size=0,
                   output_details=[d])
    return SuitePoint(PointKey("s", "m", "v"), run)


def _record() -> tuple[list[dict[str, object]], object]:
    seen: list[dict[str, object]] = []

    def check(point: object, *, self_checked: bool = False, **measured: object) -> None:
        seen.append({"self_checked": self_checked, **measured})

    return seen, check


def test_agreement_is_asserted_by_the_check_without_any_budget() -> None:
    """A wrong output fails the check itself: no min_bitexact line is needed for it to fail."""
    seen, check = _record()
    same = [bytes([1, 2, 3]), bytes([4, 5, 6])]
    suite_checks.test_matches_reference(_point(same, list(same), "int8"), check)
    assert seen[-1]["bitexact"] == 1.0 and seen[-1]["self_checked"] is True
    with pytest.raises(AssertionError, match="1 of 2 vectors differ"):
        suite_checks.test_matches_reference(_point([bytes([1, 2, 3]), bytes([4, 5, 7])], same, "int8"), check)
    assert seen[-1]["bitexact"] == 0.5  # recorded before the verdict


def test_float_agreement_uses_the_tolerance() -> None:
    _, check = _record()
    ref = [np.array([1.0, 2.0, 3.0], np.float32).tobytes()]
    near = [np.array([1.0, 2.0, 3.0 + 2e-4], np.float32).tobytes()]  # within 1e-5 + 1e-4 * 3
    far = [np.array([1.0, 2.0, 3.01], np.float32).tobytes()]
    suite_checks.test_matches_reference(_point(near, ref, "float32"), check)
    with pytest.raises(AssertionError, match="differ from the TFLM reference"):
        suite_checks.test_matches_reference(_point(far, ref, "float32"), check)


def _measured(board: str, count: int, accuracy: float) -> list:
    from harness.results import Record

    base = dict(suite="wine", model="wine", variant="wine_int8", board=board, count_kind="instructions",
                count_per_inference=count, flash_bytes=7000, ram_bytes=9000, stack_bytes=256)
    return [Record(test="test_count_per_inference", **base), Record(test="test_accuracy", accuracy=accuracy, **base)]


def test_hil_budgets_keeps_what_the_run_did_not_measure_and_only_tightens(suite: Path, tmp_path: Path) -> None:
    from harness.budget_writer import write_suite_budgets

    _edit(suite, "strict = true", 'strict = true\nbudgets = "budgets.toml"')
    text = suite.read_text()
    suite.write_text(text[: text.index('[budgets."*"]')])
    out = suite.parent / "budgets.toml"
    out.write_text('[m4.wine_int8]\ninstructions_per_inference = 2_000\ncycles_per_inference = 99\n'
                   '[m0plus.wine_int8]\ninstructions_per_inference = 9_000\n')
    spec = load_suite(suite)
    write_suite_budgets(spec, _measured("m4", 2_200, 0.97), out, keep_tighter=True, accept=())
    after = load_suite(suite).budgets
    m4 = after.lookup("wine", "wine", "wine_int8", "m4").limits  # type: ignore[union-attr]
    assert m4["instructions_per_inference"] == 2_000  # 2,200 + 3 % would loosen it: kept
    assert m4["cycles_per_inference"] == 99 and m4["flash_bytes"] == 7350 and m4["min_accuracy"] == 0.95
    assert after.lookup("wine", "wine", "wine_int8", "m0plus").limits["instructions_per_inference"] == 9_000  # type: ignore[union-attr]
    write_suite_budgets(load_suite(suite), _measured("m4", 2_200, 0.97), out, keep_tighter=True,
                        accept=["m4/wine_int8:instructions_per_inference"])
    m4 = load_suite(suite).budgets.lookup("wine", "wine", "wine_int8", "m4").limits  # type: ignore[union-attr]
    assert m4["instructions_per_inference"] == 2_266  # accepted on purpose


def test_hil_budgets_rejects_an_accept_that_names_no_measured_limit(suite: Path) -> None:
    """`--accept m4/wine_int8:instructions` (not a metric name) must fail, not silently keep the old
    limit; a malformed entry too."""
    from harness.budget_writer import parse_accept, suite_budgets

    spec = load_suite(suite)
    used: set[str] = set()
    good, typo = "m4/wine_int8:instructions_per_inference", "m4/wine_int8:instructions"
    suite_budgets(_measured("m4", 2_200, 0.97), spec, keep_tighter=True, accept=[good, typo], used=used)
    assert used == {good}
    with pytest.raises(ConfigError, match="BOARD/VARIANT:METRIC"):
        parse_accept("m4:instructions_per_inference")
