"""Budget files: resolution order, per-kind checks, readable failures, and a fuzzed loader."""

from __future__ import annotations

import math
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.budgets import FIELDS, check_budget, enforce_budget, format_budget_table, load_budgets, parse_budgets
from harness.errors import BudgetExceeded, ConfigError

TEXT = """\
[defaults]
min_bitexact = 1.0

[har.cnn1d.int8."*"]
min_accuracy = 0.85
flash_bytes = 100000

[har.cnn1d.int8.m4]
flash_bytes = 65536
instructions_per_inference = 900000
max_mean_latency_frames = 2.5
"""


def test_lookup_layers_defaults_wildcard_and_board(tmp_path):
    path = tmp_path / "budgets.toml"
    path.write_text(TEXT)
    budgets = load_budgets(path)
    m4 = budgets.lookup("har", "cnn1d", "int8", "m4")
    assert m4 is not None and m4.label == "har/cnn1d/int8/m4"
    assert dict(m4.limits) == {
        "min_bitexact": 1.0,
        "min_accuracy": 0.85,
        "flash_bytes": 65536,  # board entry overrides the wildcard's 100000
        "instructions_per_inference": 900000,
        "max_mean_latency_frames": 2.5,
    }
    m0 = budgets.lookup("har", "cnn1d", "int8", "m0plus")  # wildcard only
    assert m0 is not None and m0.limits["flash_bytes"] == 100000
    assert budgets.lookup("har", "cnn1d", "int16x8", "m4") is None


def test_count_budgets_are_per_kind():
    budget = {"instructions_per_inference": 1000, "cycles_per_inference": 10}
    # An emulator measured instructions only: the cycle budget is not applied to it.
    lines = check_budget({"instructions_per_inference": 900}, budget)
    by_metric = {ln.metric: ln for ln in lines}
    assert by_metric["instructions_per_inference"].ok is True
    assert by_metric["cycles_per_inference"].ok is None and by_metric["cycles_per_inference"].measured is None
    enforce_budget({"instructions_per_inference": 900}, budget)  # no raise: 10-cycle budget never sees 900


def test_miss_raises_a_readable_table():
    budget = {"flash_bytes": 1000, "min_accuracy": 0.9, "stack_bytes": 512}
    measured = {"flash_bytes": 1200, "accuracy": 0.95, "stack_bytes": None}
    with pytest.raises(BudgetExceeded) as info:
        enforce_budget(measured, budget, label="har/cnn1d/int8/m4")
    msg = str(info.value)
    assert "har/cnn1d/int8/m4 missed 1 budget(s)" in msg
    header, _rule, flash, acc, stack = msg.splitlines()[1:6]
    assert [c.strip() for c in header.split(" | ")] == ["metric", "measured", "budget", "ok/MISS", "margin"]
    # flash: 1,200 vs <= 1,000 -> MISS, margin -200 (-20 % of the budget).
    assert "MISS" in flash and "-200 (-20.0%)" in flash
    # accuracy 0.95 >= 0.9 -> ok with +0.05 (+5.6 % of 0.9).
    assert "| ok" in acc and "+0.05" in acc
    assert "n/a" in stack
    assert info.value.status == "budget"


def test_format_handles_zero_budget():
    lines = check_budget({"stack_bytes": 0}, {"stack_bytes": 0})
    assert lines[0].ok is True and lines[0].margin_pct is None
    assert "+0" in format_budget_table(lines)


@pytest.mark.parametrize(
    ("text", "line", "field", "fragment"),
    [
        ("[har.m.int8.m4]\nflash_bytes = -1\n", 2, "flash_bytes", "whole number"),
        ("[har.m.int8.m4]\nflash_bytes = 1.5\n", 2, "flash_bytes", "whole number"),
        ("[har.m.int8.m4]\n\nmin_accuracy = 90\n", 3, "min_accuracy", "fraction"),
        ("[har.m.int8.m4]\nmin_auc = nan\n", 2, "min_auc", "finite"),
        ("[har.m.int8.m4]\nflash = 10\n", 2, "flash", "unknown budget field"),
        ("[har.m.int8.m4]\nmin_bitexact = true\n", 2, "min_bitexact", "number"),
        ("[har.m.int8]\nflash_bytes = 10\n", 2, "flash_bytes", "variant level"),
        ("flash_bytes = 10\n", 1, "flash_bytes", "[defaults]"),
        ("[har.m.int8.m4.extra]\nflash_bytes = 10\n", 1, "extra", "4 deep"),
        ("[har.\"*\".int8.m4]\nflash_bytes = 10\n", 1, None, "wildcard"),
        ("[har.m.int8.m4]\nflash_bytes = \n", 2, None, "not valid TOML"),
    ],
)
def test_invalid_files_name_file_line_and_field(tmp_path, text, line, field, fragment):
    path = tmp_path / "budgets.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_budgets(path)
    err = info.value
    assert fragment in str(err)
    assert err.details["line"] == line and err.details["field"] == field
    assert f"{path}:{line}" in str(err)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_budgets(tmp_path / "absent.toml")
    bad = tmp_path / "b.toml"
    bad.write_bytes(b"\xff\xfe[x]")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_budgets(bad)


# ---- fuzzing: whatever the text, the loader returns a BudgetFile or raises ConfigError.

_names = st.sampled_from(["har", "kws", "m", "int8", "m4", "*", "defaults", "a b", "x.y", "flash_bytes"])
_fields = st.sampled_from(sorted(FIELDS) + ["flash", "", "min accuracy"])
_values = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: "nan" if math.isnan(f) else ("inf" if f == math.inf else ("-inf" if f == -math.inf else repr(f)))),
    st.sampled_from(["true", '"text"', "[1, 2]", "{ a = 1 }", "1979-05-27", "0x1F", "'*'", ""]),
)


@st.composite
def budget_texts(draw):
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        path = draw(st.lists(_names, min_size=0, max_size=6))
        quoted = ".".join(f'"{p}"' if draw(st.booleans()) else p for p in path)
        lines.append(f"[{quoted}]" if draw(st.booleans()) else f"[[{quoted}]]")
        for _ in range(draw(st.integers(0, 3))):
            lines.append(f"{draw(_fields)} = {draw(_values)}")
    return "\n".join(lines) + "\n"


def _parse_or_config_error(text: str) -> None:
    try:
        result = parse_budgets(text, "fuzz.toml")
    except ConfigError as err:
        assert str(err).startswith("fuzz.toml")
        return
    # Whatever parsed is fully validated.
    for limits in list(result.entries.values()) + [result.defaults]:
        for name, value in limits.items():
            assert name in FIELDS and math.isfinite(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(budget_texts())
def test_fuzz_structured_budget_files(text):
    _parse_or_config_error(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "é\"'[]=*.\u00a0", max_size=200))
def test_fuzz_arbitrary_text(text):
    _parse_or_config_error(text)
