"""pyOCD backend without hardware: what can honestly run here.

Real pyOCD (its built-in target database, its probe enumeration with no probe attached), real
pyserial port listing, real arm-none-eabi-gcc builds. Nothing here claims a board was flashed:
no fake probe is used. Probe selection is tested on plain `ProbeInfo` records (the data pyOCD's
probes are reduced to), which is logic, not a hardware test.
"""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import pytest

from harness.boards import list_boards, load_board
from harness.errors import BootError, ConfigError

pytest.importorskip("pyocd", reason="pyOCD not installed (pip install pyocd)")

from _device_util import build

from harness.backends.pyocd import (
    CORE_PARTNO,
    ProbeInfo,
    PyocdBackend,
    PyocdSettings,
    check_core,
    check_probe_board,
    check_target_known,
    choose_probe,
    find_serial_port,
    list_probes,
)

NUCLEOS = ["nucleo-l432kc", "nucleo-g071rb", "nucleo-f767zi"]
PYOCD_BOARDS = [b.name for b in list_boards() if b.backend == "pyocd"]


def test_shipped_pyocd_boards() -> None:
    assert set(NUCLEOS) <= set(PYOCD_BOARDS)
    cores = {n: load_board(n).core for n in NUCLEOS}
    assert cores == {"nucleo-l432kc": "cortex-m4", "nucleo-g071rb": "cortex-m0plus", "nucleo-f767zi": "cortex-m7"}
    for n in NUCLEOS:
        b = load_board(n)
        # Cycle counters: DWT on M3/M4/M7, SysTick on M0+ (no CYCCNT); both tick on the core clock.
        assert b.counter.kind == ("systick" if b.core == "cortex-m0plus" else "dwt")
        assert b.counter.hz == b.clock_hz
        assert not b.emulated


@pytest.mark.parametrize("name", [n for n in PYOCD_BOARDS])
def test_board_memory_map_matches_pyocd_target(name: str) -> None:
    """The board's flash and RAM lie inside pyOCD's own memory map for its target."""
    from pyocd.target import TARGET

    board = load_board(name)
    assert isinstance(board.settings, PyocdSettings)
    if board.settings.target not in TARGET:
        pytest.skip(f"{board.settings.target} is a CMSIS-pack target (not built into pyOCD); "
                    "see test_pack_target_needs_its_pack")
    regions = list(TARGET[board.settings.target].MEMORY_MAP)
    flash = sorted((r.start, r.end) for r in regions if r.is_flash)
    ram = [(r.start, r.end) for r in regions if r.is_ram]
    # Flash: the board's range is covered by pyOCD's (possibly several, contiguous) flash regions.
    addr = board.flash.origin
    for start, end in flash:  # pyOCD's `end` is inclusive
        if start <= addr <= end:
            addr = end + 1
    assert addr >= board.flash.end, f"{name}: flash {board.flash.origin:#x}+{board.flash.size:#x} not in {flash}"
    assert any(s <= board.ram.origin and board.ram.end - 1 <= e for s, e in ram), \
        f"{name}: RAM {board.ram.origin:#x}+{board.ram.size:#x} not in {ram}"
    boot = [r for r in regions if r.is_flash and r.is_boot_memory]
    assert boot and boot[0].start == board.flash.origin, "the vector table must sit at the boot flash"


def test_builtin_targets_resolve_and_pack_target_needs_its_pack() -> None:
    for name in ("nucleo-l432kc", "nucleo-f767zi"):
        check_target_known(load_board(name))  # built into pyOCD: no error
    g0 = load_board("nucleo-g071rb")
    from pyocd.target import TARGET
    from pyocd.target.pack.pack_target import ManagedPacks

    assert isinstance(g0.settings, PyocdSettings)
    assert g0.settings.target not in TARGET and g0.settings.pack
    installed = {d.part_number.lower() for d in ManagedPacks.get_installed_targets()}
    if g0.settings.target in installed:
        check_target_known(g0)
    else:
        with pytest.raises(ConfigError, match="pyocd pack install stm32g071rbtx"):
            check_target_known(g0)
    l4 = load_board("nucleo-l432kc")
    bogus = dataclasses.replace(l4, settings=dataclasses.replace(l4.settings, target="stm32l999zz"))
    with pytest.raises(ConfigError, match="stm32l999zz"):
        check_target_known(bogus)


@pytest.mark.parametrize("name", NUCLEOS)
def test_firmware_builds_for_nucleo_boards(name: str) -> None:
    """Real toolchain: vector table at the flash origin, reset handler inside flash, right UART driver."""
    from elftools.elf.elffile import ELFFile

    board = load_board(name)
    fw = build(board, "echo")
    assert f"-mcpu={board.core}" in fw.log and f"uart/{board.uart.kind}.c" in fw.log
    with open(fw.elf, "rb") as fh:
        elf = ELFFile(fh)
        text = next(s for s in elf.iter_sections() if s.name == ".vectors" or s["sh_addr"] == board.flash.origin)
        sp, reset = struct.unpack_from("<II", text.data(), 0)
        syms = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}
    assert sp == board.ram.end, "initial SP = top of RAM"
    assert board.flash.origin <= reset < board.flash.end and reset & 1, "Thumb reset handler in flash"
    assert "hil_uart_init" in syms and "hil_counter_now" in syms


def test_no_probe_attached_is_a_boot_error(tmp_path: Path) -> None:
    """Real pyOCD enumeration with no probe on this machine."""
    probes = list_probes()
    if probes:
        pytest.skip(f"a debug probe is attached here ({probes[0].unique_id}); this test needs none")
    board = load_board("nucleo-l432kc")
    fw = build(board, "echo")
    with pytest.raises(BootError, match="no debug probe found"):
        with PyocdBackend(board, fw.elf) as be:
            be.start()
    with pytest.raises(BootError, match="0669FF000000000000000000 is not attached"):
        PyocdBackend(board, fw.elf, probe="0669FF000000000000000000").start()


def test_missing_serial_port_is_a_boot_error() -> None:
    """Real pyserial port listing: no port carries this serial number."""
    with pytest.raises(BootError, match="no serial port with USB serial number 0669FFDEADBEEF"):
        find_serial_port("0669FFDEADBEEF", load_board("nucleo-f767zi"))


def test_probe_selection_rules() -> None:
    board = load_board("nucleo-l432kc")
    a = ProbeInfo("066AFF1", "STM32 STLink NUCLEO-L432KC", "stm32l432kc")
    b = ProbeInfo("066BFF2", "STM32 STLink NUCLEO-F767ZI", "stm32f767zi")
    assert choose_probe([a], None, board) == a
    assert choose_probe([a, b], "066bff2", board) == b  # UIDs compare case-insensitively
    with pytest.raises(ConfigError, match="2 debug probes attached and no probe UID") as err:
        choose_probe([a, b], None, board)
    assert "066AFF1" in str(err.value) and "066BFF2" in str(err.value)
    with pytest.raises(BootError, match="no debug probe found"):
        choose_probe([], None, board)
    check_probe_board(a, board)
    with pytest.raises(BootError, match="is on a stm32f767zi board: wrong board connected"):
        check_probe_board(b, board)


@pytest.mark.parametrize("name", NUCLEOS)
def test_probe_board_id_of_each_nucleo_matches_its_board_file(name: str) -> None:
    """pyOCD's own board-id table (what an ST-LINK reports) names each NUCLEO's target with a
    package suffix (e.g. stm32l432kcux); the board file's target must be accepted for it and a
    different NUCLEO's rejected."""
    from pyocd.board.board_ids import BOARD_ID_TO_INFO

    infos = {i.name: i for i in BOARD_ID_TO_INFO.values()}
    mine = infos[name.upper()]
    board = load_board(name)
    check_probe_board(ProbeInfo("X", f"STLink {mine.name}", mine.target), board)
    other = infos[next(n for n in NUCLEOS if n != name).upper()]
    with pytest.raises(BootError, match="wrong board connected"):
        check_probe_board(ProbeInfo("X", f"STLink {other.name}", other.target), board)


def test_core_check_uses_cpuid_part_numbers() -> None:
    # Architectural CPUID values (Arm TRMs): M4 r0p1, M7 r1p0, M0+ r0p1.
    m4, m7, m0p = 0x410FC241, 0x411FC270, 0x410CC601
    assert [(v >> 4) & 0xFFF for v in (m4, m7, m0p)] == [CORE_PARTNO[c] for c in ("cortex-m4", "cortex-m7", "cortex-m0plus")]
    check_core(m4, load_board("nucleo-l432kc"))
    check_core(m0p, load_board("nucleo-g071rb"))
    with pytest.raises(BootError, match=r"cortex-m7.*CPUID is 0x410fc241 \(cortex-m4\)"):
        check_core(m4, load_board("nucleo-f767zi"))


def test_backend_needs_a_pyocd_section() -> None:
    with pytest.raises(ConfigError, match="no \\[pyocd\\] section"):
        PyocdBackend(load_board("m4"), "x.elf")
    be = PyocdBackend(load_board("nucleo-g071rb"), "x.elf")
    assert be.count_kind == "cycles" and be.ticks_to_count(12345) == 12345
