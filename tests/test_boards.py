"""Board files: every shipped board loads and is sane; bad files give precise ConfigErrors."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.backends.qemu import QemuBackend, QemuSettings
from harness.boards import BOARDS_DIR, CORES, Board, MemoryRegion, format_board_table, list_boards, load_board
from harness.errors import ConfigError

SHIPPED = ("m0plus", "m3", "m4", "m7", "m33")
VALID = (BOARDS_DIR / "m4.toml").read_text()


def write(tmp_path: Path, text: str, name: str = "m4") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_board_loads_and_is_consistent(name: str) -> None:
    b = load_board(name)
    assert isinstance(b, Board) and b.name == name and b.path == BOARDS_DIR / f"{name}.toml"
    assert b.emulated and isinstance(b.settings, QemuSettings)
    assert b.flash.origin % 4 == 0 and b.ram.size > b.stack_bytes
    assert QemuBackend.ticks_per_count(b) > 2
    assert b.cpu_flags()[:2] == [f"-mcpu={b.core}", "-mthumb"]


def test_expected_facts_of_shipped_boards() -> None:
    boards = {b.name: b for b in list_boards()}
    assert set(SHIPPED) <= set(boards)
    assert boards["m0plus"].settings == QemuSettings("microbit", 8) and boards["m0plus"].ram.size == 16 * 1024
    assert boards["m0plus"].core == "cortex-m0plus" and boards["m0plus"].fpu is None
    assert "-mfloat-abi=soft" in boards["m3"].cpu_flags()
    assert boards["m4"].cpu_flags() == ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]
    assert boards["m7"].fpu == "fpv5-d16"
    assert boards["m33"].flash.origin == 0x10000000  # Secure alias: the M33 boots Secure
    assert QemuBackend.ticks_per_count(boards["m4"]) == Fraction(32, 5)


def test_board_by_path_and_table(tmp_path: Path) -> None:
    b = load_board(write(tmp_path, VALID))
    assert b.name == "m4" and b.path == (tmp_path / "m4.toml").resolve()
    table = format_board_table(list_boards())
    for name in SHIPPED:
        assert re.search(rf"^{name}\s", table, re.M)
    assert "qemu mps2-an505" in table


def test_unknown_board_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"board 'm99' not found.*known boards: .*m0plus"):
        load_board("m99")


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    text = VALID.replace('core = "cortex-m4"', 'core = "cortex-m4')
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_board(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path.resolve()}:{line_of(text, 'core =')}:") and "syntax" in msg
    assert exc.value.details["line"] == line_of(text, "core =")


def test_unknown_field_names_file_field_and_line(tmp_path: Path) -> None:
    text = VALID.replace("[uart]\n", "[uart]\nparity = \"even\"\n")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_board(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path.resolve()}:{line_of(text, 'parity')}:")
    assert "'uart.parity'" in msg and "allowed: kind, base, baud" in msg
    assert exc.value.details["field"] == "uart.parity" and exc.value.details["line"] == line_of(text, "parity")


def test_unknown_top_level_field(tmp_path: Path) -> None:
    text = VALID.replace("backend = ", "flavour = 1\nbackend = ")
    with pytest.raises(ConfigError, match=rf":{line_of(text, 'flavour')}: field 'flavour': unknown field"):
        load_board(write(tmp_path, text))


def test_wrong_type_names_field_line_and_value(tmp_path: Path) -> None:
    text = VALID.replace("clock_hz = 25_000_000", 'clock_hz = "25 MHz"')
    with pytest.raises(ConfigError) as exc:
        load_board(write(tmp_path, text))
    msg = str(exc.value)
    assert f":{line_of(text, 'clock_hz')}:" in msg and "'clock_hz'" in msg and "'25 MHz'" in msg and "integer" in msg


def test_bool_is_not_an_integer(tmp_path: Path) -> None:
    text = VALID.replace("baud = 115200", "baud = true")
    with pytest.raises(ConfigError, match=r"'uart.baud': must be an integer"):
        load_board(write(tmp_path, text))


def test_bad_core_lists_allowed_values(tmp_path: Path) -> None:
    text = VALID.replace('core = "cortex-m4"', 'core = "cortex-m5"')
    with pytest.raises(ConfigError) as exc:
        load_board(write(tmp_path, text))
    msg = str(exc.value)
    assert f":{line_of(text, 'core =')}:" in msg and "'cortex-m5'" in msg
    assert all(c in msg for c in CORES)


def test_fpu_must_suit_the_core(tmp_path: Path) -> None:
    text = VALID.replace('core = "cortex-m4"', 'core = "cortex-m3"')
    with pytest.raises(ConfigError, match=r"'fpu': bad value 'fpv4-sp-d16'; allowed: none$"):
        load_board(write(tmp_path, text))


def test_nested_table_field_line(tmp_path: Path) -> None:
    text = VALID.replace("size = 0x00400000\n\n[memory.ram]", "size = -4\n\n[memory.ram]")
    with pytest.raises(ConfigError, match=rf":{line_of(text, 'size = -4')}: field 'memory.flash.size'"):
        load_board(write(tmp_path, text))


def test_missing_required_field_and_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"field 'stack_bytes': missing"):
        load_board(write(tmp_path, re.sub(r"(?m)^stack_bytes.*\n", "", VALID)))
    no_qemu = VALID[: VALID.index("[qemu]")]
    with pytest.raises(ConfigError, match=r"missing table \[qemu\]"):
        load_board(write(tmp_path, no_qemu))


def test_semantic_checks(tmp_path: Path) -> None:
    cases = {
        'name = "m4"': ('name = "m5"', r"must match the file name"),
        "icount_shift = 8": ("icount_shift = 6", r"'qemu.icount_shift': bad value 6: 1.600 counter ticks.*use icount_shift >= 7"),
        "stack_bytes = 8192": ("stack_bytes = 8190", r"multiple of 8"),
        "origin = 0x20000000": ("origin = 0x00100000", r"overlaps flash"),
    }
    for old, (new, pattern) in cases.items():
        with pytest.raises(ConfigError, match=pattern):
            load_board(write(tmp_path, VALID.replace(old, new)))
    systick = VALID.replace('kind = "cmsdk-timer"', 'kind = "systick"')
    with pytest.raises(ConfigError, match=r"'counter.base': must be omitted for counter kind 'systick'"):
        load_board(write(tmp_path, systick))


def test_mailbox_region_and_shared_mailbox(tmp_path: Path) -> None:
    board = load_board(write(tmp_path, VALID))
    assert board.mailbox == MemoryRegion(0x21000000, 0x01000000) and board.settings.shared_mailbox
    with pytest.raises(ConfigError, match=r"'memory.mailbox.origin': mailbox 0x20100000\+0x1000000 overlaps RAM"):
        load_board(write(tmp_path, VALID.replace("origin = 0x21000000", "origin = 0x20100000")))
    no_mailbox = re.sub(r"(?ms)^\[memory.mailbox\].*?\n\n", "", VALID)
    with pytest.raises(ConfigError, match=r"'qemu.shared_mailbox': needs a \[memory.mailbox\] region"):
        load_board(write(tmp_path, no_mailbox))
    plain = load_board(write(tmp_path, no_mailbox.replace("shared_mailbox = true", "shared_mailbox = false")))
    assert plain.mailbox is None and not plain.settings.shared_mailbox


# --- fuzzing: whatever the file holds, the loader raises ConfigError or returns a Board ---------

_LINES = VALID.splitlines()
_junk = st.sampled_from(
    ["", "=", "[uart", "[[x]]", "x = 1", 'core = 4', "size = 0xZZ", "kind = [1, 2]", "icount_shift = 99",
     "stack_bytes = 0", '"\\u0000" = 1', "[memory]", "memory = 3", "fpu = 'none'", "origin = -1", "\x00", "é = 'é'",
     "clock_hz = 1e9", "name = \"m4\"", "[qemu.extra]", "size = 0x100000000", "hz = 1"]
)


@st.composite
def mutated_board(draw: st.DrawFn) -> str:
    lines = list(_LINES)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "replace", "insert", "value"]))
        i = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if op == "delete" and lines:
            del lines[i]
        elif op == "replace" and lines:
            lines[i] = draw(_junk)
        elif op == "insert":
            lines.insert(i, draw(_junk))
        elif lines and "=" in lines[i]:
            key = lines[i].split("=")[0]
            lines[i] = key + "= " + draw(st.sampled_from(["1", "-1", "true", '"x"', "[]", "{}", "0x0", "3.5", "'cortex-m0'"]))
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(mutated_board(), st.text(max_size=200)))
def test_fuzzed_board_files_only_raise_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "m4.toml"
    path.write_bytes(text.encode("utf-8", errors="replace"))
    try:
        board = load_board(path)
    except ConfigError as exc:
        assert str(path.name) in str(exc)
    else:
        assert board.name == "m4" and board.core in CORES
