"""Renode backend: platform generation and error paths (always), and end to end on a real Renode
(skipped with the reason when `renode` is not on PATH and HIL_RENODE is not set).

End to end: the echo test model on the three Renode boards (bit-exact outputs, exact and
repeatable instruction counts, stack stats, no process left behind), a firmware fault, and the
cross-check against QEMU: the same ELF gives the same outputs and the same instruction counts.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from _device_util import build, echo_reference

from harness.backends.qemu import QemuBackend
from harness.backends.renode import (
    INSTALL_HINT,
    RENODE_ENV,
    RenodeBackend,
    RenodeSettings,
    counter_repl,
    find_renode,
    generate_repl,
)
from harness.boards import Board, list_boards, load_board
from harness.device import open_device
from harness.errors import ConfigError, DeviceFault, EmulatorDied, ToolchainError


def _renode_or_none() -> str | None:
    try:
        return find_renode()
    except ToolchainError:
        return None


RENODE = _renode_or_none()
needs_renode = pytest.mark.skipif(
    RENODE is None, reason=f"Renode not found (not on PATH, {RENODE_ENV} unset); {INSTALL_HINT}")
RENODE_BOARDS = [b.name for b in list_boards() if b.backend == "renode"]
VECTOR = bytes(range(256)) + bytes(random.Random(3).randrange(256) for _ in range(490 - 256))


def on_renode(board_name: str) -> Board:
    """A QEMU or hardware board re-targeted at Renode with a platform generated from its file."""
    board = load_board(board_name)
    return dataclasses.replace(board, backend="renode", settings=RenodeSettings())


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# -- no Renode needed ----------------------------------------------------------------------------


def test_shipped_renode_boards() -> None:
    assert {"m0plus-renode", "m4-renode", "m7-renode"} <= set(RENODE_BOARDS)
    for name in RENODE_BOARDS:
        b = load_board(name)
        assert b.emulated and b.counter.kind == "renode-icount" and b.uart.kind == "pl011"


def test_generated_platform_names_cores_and_maps_the_board() -> None:
    m0p = generate_repl(load_board("m0plus-renode"))
    assert 'cpuType: "cortex-m0+"' in m0p and "PerformanceInMips: 48" in m0p
    assert "flash: Memory.MappedMemory @ sysbus 0x0\n    size: 0x40000" in m0p
    assert "sram: Memory.MappedMemory @ sysbus 0x20000000\n    size: 0x8000" in m0p
    assert "uart: UART.PL011 @ sysbus 0x40004000" in m0p
    assert "nvic: IRQControllers.NVIC @ sysbus 0xE000E000\n    systickFrequency: 48000000" in m0p
    assert "hilcounter" not in m0p  # renode-icount: the backend adds its counter peripheral
    assert counter_repl(0x4F000000, Path("/p/counter.ipy")).startswith(
        "hilcounter: Python.PythonPeripheral @ sysbus 0x4f000000\n    size: 0x8\n")
    assert "hilcounter: Memory.MappedMemory @ sysbus 0x40000000" in generate_repl(on_renode("m4"))  # cmsdk-timer
    assert 'cpuType: "cortex-m4f"' in generate_repl(load_board("m4-renode"))
    assert 'cpuType: "cortex-m7"' in generate_repl(load_board("m7-renode"))
    # QEMU and NUCLEO boards re-targeted: their own UART models, DWT for dwt counters.
    assert "uart: UART.CMSDK_APB_UART @ sysbus 0x40004000" in generate_repl(on_renode("m4"))
    l4 = generate_repl(on_renode("nucleo-l432kc"))
    assert "uart: UART.STM32F7_USART @ sysbus 0x40004400" in l4 and "Miscellaneous.DWT @ sysbus 0xE0001000" in l4
    assert "flash: Memory.MappedMemory @ sysbus 0x8000000" in l4
    with pytest.raises(ConfigError, match="nrf51"):
        generate_repl(on_renode("m0plus"))


def test_missing_renode_is_a_toolchain_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fw = build("m4-renode", "echo")
    monkeypatch.setenv(RENODE_ENV, str(tmp_path / "no-such-renode"))
    with pytest.raises(ToolchainError, match=r"HIL_RENODE=.*no-such-renode.*not an executable"):
        find_renode()
    monkeypatch.delenv(RENODE_ENV)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match="renode not found on PATH"):
        find_renode()
    assert "renode not found on PATH" in (RenodeBackend.missing_reason(load_board("m4-renode")) or "")
    with pytest.raises(ToolchainError, match="portable"):
        with RenodeBackend(load_board("m4-renode"), fw.elf) as be:
            be.start()


def test_board_without_renode_section_is_rejected() -> None:
    with pytest.raises(ConfigError, match="no \\[renode\\] section"):
        RenodeBackend(load_board("m4"), "x.elf")


def test_memory_access_choices_are_checked() -> None:
    board = load_board("m4-renode")
    with pytest.raises(ConfigError, match="Renode memory access 'gdbstub' is not 'socket' or 'monitor'"):
        RenodeBackend(board, "x.elf", memory="gdbstub")
    assert RenodeBackend(board, "x.elf", memory=True).memory == "socket"
    assert RenodeBackend(board, "x.elf", memory="monitor").memory == "monitor"
    with pytest.raises(EmulatorDied, match="not running"):
        RenodeBackend(board, "x.elf").memory_access()


def test_renode_icount_counter_only_on_renode_boards(tmp_path: Path) -> None:
    text = (load_board("m4-renode").path).read_text().replace('backend = "renode"', 'backend = "qemu"')
    text += '\n[qemu]\nmachine = "mps2-an386"\nicount_shift = 8\n'
    path = tmp_path / "m4-renode.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"table \[renode\] is for backend \"renode\", but this board's backend is 'qemu'"):
        load_board(path)
    path.write_text(text[:text.index("[renode]")] + text[text.index("\n[qemu]"):])
    with pytest.raises(ConfigError, match="'renode-icount' only works with backend \"renode\""):
        load_board(path)


# -- on a real Renode ------------------------------------------------------------------------------


@needs_renode
@pytest.mark.slow
@pytest.mark.parametrize("board_name", RENODE_BOARDS)
def test_echo_bit_exact_with_exact_counts(board_name: str) -> None:
    board = load_board(board_name)
    fw = build(board, "echo")
    be = RenodeBackend(board, fw.elf, log_counts=True)
    with open_device(board, fw.elf, timeout=30, boot_timeout=60, backend=be) as dev:
        h = dev.hello
        assert (h.board, h.core, h.counter) == (board.name, board.core, "renode-icount")
        results = [dev.invoke(VECTOR) for _ in range(2)]
        dev.reset_state()
        results.append(dev.invoke(VECTOR))
        assert [out for out, _ in results] == [echo_reference(VECTOR, c) for c in (0, 1, 0)]
        counts = {c for _, c in results}
        assert len(counts) == 1, f"instruction counts differ between invokes: {counts}"
        (count,) = counts
        assert count.kind == "instructions" and 490 * 8 < count.value < 490 * 200
        # The firmware's counter reads are the hook's exact counts: same numbers in the hook log.
        hooks = be.hook_counts(at_least=8)
        assert hooks[-1] - hooks[-2] - (hooks[1] - hooks[0]) == count.value
        stats = dev.stats()
        assert 0 < stats.stack_high_water < stats.stack_size == board.stack_bytes
        assert be._tmp is not None and be.process is not None
        mono_pid = int((be._tmp / "renode.pid").read_text())
        group = be.process.pid
    assert not _pid_alive(mono_pid) and not _pid_alive(group), "Renode must be gone after the block"
    assert be.poll_exit() is None, "our own shutdown is not a crash"


@needs_renode
@pytest.mark.slow
def test_counts_repeat_in_a_new_process() -> None:
    """Also: the counter peripheral's counts do not depend on the logging hook at the counter
    function (it splits Renode's translation blocks there) being present."""
    board = load_board("m0plus-renode")
    fw = build(board, "echo")
    counts = []
    for log_counts in (True, False):
        be = RenodeBackend(board, fw.elf, log_counts=log_counts)
        with open_device(board, fw.elf, timeout=30, boot_timeout=60, backend=be) as dev:
            counts.append(dev.invoke(VECTOR)[1])
    assert counts[0] == counts[1]


BOOT_READS = 6  # firmware/runtime/main.c: the read cost is the least of three back-to-back pairs


@needs_renode
@pytest.mark.slow
@pytest.mark.parametrize("board_name", ["m4", "m7"])
def test_same_elf_same_outputs_and_counts_as_qemu(board_name: str) -> None:
    """Cross-check: the QEMU board's own ELF on Renode (CMSDK UART model)."""
    qboard = load_board(board_name)
    fw = build(qboard, "echo")
    with open_device(qboard, fw.elf, timeout=30, backend=QemuBackend(qboard, fw.elf)) as dev:
        q = [dev.invoke(VECTOR) for _ in range(2)]
    rboard = on_renode(board_name)
    be = RenodeBackend(rboard, fw.elf, log_counts=True)
    with open_device(rboard, fw.elf, timeout=30, boot_timeout=60, backend=be) as dev:
        r_out = [dev.invoke(VECTOR)[0] for _ in range(2)]
        hooks = be.hook_counts(at_least=BOOT_READS + 4)
    assert r_out == [out for out, _ in q]
    overhead = min(hooks[i + 1] - hooks[i] for i in range(0, BOOT_READS, 2))  # as the firmware takes it
    r_counts = [hooks[b + 1] - hooks[b] - overhead for b in (BOOT_READS, BOOT_READS + 2)]
    assert r_counts == [c.value for _, c in q]


# The NUCLEO ELFs (clock, USART, counter code) run on their twins: tests/test_twins.py.


@needs_renode
@pytest.mark.slow
def test_fault_is_classified() -> None:
    board = load_board("m4-renode")
    fw = build(board, "fault")
    be = RenodeBackend(board, fw.elf)
    with pytest.raises(DeviceFault) as info:
        with open_device(board, fw.elf, timeout=30, boot_timeout=60, backend=be) as dev:
            dev.invoke(b"\x00\x00\x00\x00")
    assert info.value.details["function"] == "testmodel_fault_udf"
    assert be.poll_exit() is not None and "hil_exit(0x7a)" in str(be.poll_exit())
