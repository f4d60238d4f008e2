"""Adding a backend is one class plus its board files: a toy backend (QEMU run under another
program name, which its own `[toy]` table names) goes through load_board, open_device and the
pytest plugin's availability/skip path, on a real emulator process. Also: the registry refuses
a duplicate name, and a backend refuses options it does not take instead of dropping them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _device_util import build, echo_reference

from harness.backends import make_backend, register_backend, unregister_backend
from harness.backends.qemu import QemuBackend, QemuSettings
from harness.board_file import Section
from harness.boards import BOARDS_DIR, Board, load_board
from harness.device import open_device
from harness.errors import ConfigError
from harness.results import read_run_records

pytest_plugins = ["pytester"]
TESTS = Path(__file__).resolve().parent
VECTOR = bytes(i % 251 for i in range(490))


# --- the toy backend: this class and a board file are all it takes ---------------------------


@dataclasses.dataclass(frozen=True)
class ToySettings(QemuSettings):
    program: str = ""


def program_of(board: Board) -> str:
    assert isinstance(board.settings, ToySettings)
    return board.settings.program


class ToyBackend(QemuBackend):
    """QEMU started under the program name the board file's `[toy]` table gives."""

    name = "toy"
    settings_type = ToySettings

    def __init__(self, board: Board, elf: str | Path, **options: Any) -> None:
        super().__init__(board, elf, **options)
        self.program = program_of(board)

    @classmethod
    def parse_section(cls, section: Section, board: Board) -> ToySettings:
        section.check_keys(("program", "machine"))
        return ToySettings(machine=section.get("machine", str), icount_shift=8, program=section.get("program", str))

    @classmethod
    def version(cls) -> str:
        return f"toy ({QemuBackend.version()})"

    @classmethod
    def missing_reason(cls, board: Board) -> str | None:
        program = program_of(board)
        return None if shutil.which(program) else f"toy emulator {program!r} is not on PATH"


def toy_board_file(directory: Path, name: str, program: str, extra: str = "") -> Path:
    """boards/m4.toml with `backend = "toy"` and a [toy] table instead of [qemu]."""
    common = (BOARDS_DIR / "m4.toml").read_text().split("[qemu]")[0]
    text = common.replace('name = "m4"', f'name = "{name}"').replace('backend = "qemu"', 'backend = "toy"')
    path = directory / f"{name}.toml"
    path.write_text(text + f'[toy]\nprogram = "{program}"\nmachine = "mps2-an386"\n{extra}')
    return path


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The toy backend registered, its emulator on PATH as `toy-emulator`; yields its bin dir."""
    qemu = shutil.which("qemu-system-arm")
    if qemu is None:
        pytest.skip("qemu-system-arm not installed")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "toy-emulator").symlink_to(qemu)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    register_backend(ToyBackend)
    yield bindir
    unregister_backend("toy")


def _comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def test_toy_backend_loads_runs_and_reports_unknown_options(toy: Path, tmp_path: Path) -> None:
    board = load_board(toy_board_file(tmp_path, "toy-m4", "toy-emulator"))
    assert board.backend_class is ToyBackend and board.settings == ToySettings(machine="mps2-an386", icount_shift=8, program="toy-emulator")
    assert board.emulated and board.capabilities.count_kind == "instructions"
    assert ToyBackend.missing_reason(board) is None
    fw = build(board, "echo")
    with open_device(board, fw.elf, timeout=10) as dev:
        assert isinstance(dev.backend, ToyBackend) and _comm(dev.backend.process.pid) == "toy-emulator"
        out, count = dev.invoke(VECTOR)
        assert out == echo_reference(VECTOR, 0) and count.kind == "instructions" and count.value > 0

    bad = toy_board_file(tmp_path / "bin", "toy-m4", "toy-emulator", extra="icount_shift = 8\n")
    with pytest.raises(ConfigError, match=rf"{bad}:\d+: field 'toy.icount_shift': unknown field .*allowed: program, machine"):
        load_board(bad)
    gone = load_board(toy_board_file(tmp_path, "toy-gone", "no-such-emulator"))
    assert ToyBackend.missing_reason(gone) == "toy emulator 'no-such-emulator' is not on PATH"


def test_board_naming_an_unregistered_backend_lists_the_known_ones(tmp_path: Path) -> None:
    path = toy_board_file(tmp_path, "toy-m4", "toy-emulator")
    with pytest.raises(ConfigError, match=r"field 'backend': bad value 'toy'; allowed: pyocd, qemu, renode"):
        load_board(path)


def test_duplicate_backend_name_raises() -> None:
    class AnotherQemu(QemuBackend):
        name = "qemu"

    with pytest.raises(ValueError, match=r"backend 'qemu' is already registered by harness\.backends\.qemu\.QemuBackend"):
        register_backend(AnotherQemu)
    assert load_board("m4").backend_class is QemuBackend


def test_options_a_backend_does_not_take_are_errors() -> None:
    board = load_board("nucleo-l432kc")
    with pytest.raises(ConfigError, match=r"backend 'pyocd' .* does not take connect_via .*its options: boot_timeout, "
                                          r"probe, serial_port"):
        make_backend(board, "x.elf", connect_via=lambda url: url)
    with pytest.raises(ConfigError, match="pass connect_via to the backend you construct"):
        with open_device(load_board("m4"), "x.elf", backend=QemuBackend(load_board("m4"), "x.elf"),
                         connect_via=lambda url: url):
            pass


PLUGIN_CONFTEST = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from harness.backends import register_backend
from test_backend_registry import ToyBackend

register_backend(ToyBackend)
"""

PLUGIN_TEST = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from _device_util import build, echo_reference
from harness.device import open_device

SUITE = "toy"  # each board test leaves a record


def test_echo(board):
    with open_device(board, build(board, "echo").elf, timeout=10) as dev:
        out, count = dev.invoke(bytes(490))
    assert out == echo_reference(bytes(490), 0) and count.kind == "instructions"
"""


@pytest.mark.slow
def test_plugin_runs_an_available_toy_board_and_skips_a_missing_one(toy: Path, tmp_path: Path,
                                                                    pytester: pytest.Pytester,
                                                                    child_pytest: Callable[..., pytest.RunResult]) -> None:
    ok = toy_board_file(tmp_path, "toy-m4", "toy-emulator")
    gone = toy_board_file(tmp_path, "toy-gone", "no-such-emulator")
    pytester.makeconftest(PLUGIN_CONFTEST)
    pytester.makepyfile(test_toy=PLUGIN_TEST)
    results = tmp_path / "results"
    res = child_pytest(f"--board={ok}", f"--board={gone}", f"--results-dir={results}", "-rs", "-v")
    res.assert_outcomes(passed=1, skipped=1)
    res.stdout.fnmatch_lines(["*test_echo?toy-m4? PASSED*",
                              "*SKIPPED*board toy-gone: toy emulator 'no-such-emulator' is not on PATH*"])
    # The run manifest names the toy backend's version (not the QEMU the results module knows).
    (run,) = (results / "runs").iterdir()
    assert json.loads((run / "manifest.json").read_text())["versions"]["emulator"] == ToyBackend.version()
    records = {r.board: r for r in read_run_records(run)}
    assert records["toy-m4"].status == "ok" and records["toy-gone"].status == "skipped"
    assert {r.emulator for r in records.values()} == {ToyBackend.version()}
