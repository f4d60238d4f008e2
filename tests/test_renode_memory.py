"""The memory transport on a real Renode (skipped with the reason when `renode` is not installed).

What must hold for the in-Renode memory server (harness/backends/renode_memory.py): the same
outputs and the same instruction counts as the UART and as the monitor path; a range outside the
board's RAM or on a peripheral is refused with a clear error and the connection stays usable; a
hung Renode is a timeout and a crashed one EmulatorDied, after which no Renode process is left.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from _device_util import build, echo_reference
from _listeners import process_tree, reachable_from_outside

from harness.backends.renode import INSTALL_HINT, RENODE_ENV, RenodeBackend, find_renode
from harness.backends.renode_memory import RenodeSocketMemory
from harness.boards import load_board
from harness.device import open_device
from harness.errors import ConfigError, EmulatorDied, ProtocolError, ToolchainError
from harness.target_memory import RenodeMonitorMemory


def _renode_or_none() -> str | None:
    try:
        return find_renode()
    except ToolchainError:
        return None


pytestmark = [
    pytest.mark.skipif(_renode_or_none() is None,
                       reason=f"Renode not found (not on PATH, {RENODE_ENV} unset); {INSTALL_HINT}"),
    pytest.mark.slow,
]
BOARD = "m4-renode"
VECTORS = [bytes((i * 7 + k * 13) % 256 for i in range(490)) for k in range(2)]


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _pids(be: RenodeBackend) -> tuple[int, int]:
    """(mono, launcher group) of a running backend."""
    assert be._tmp is not None and be.process is not None
    return int((be._tmp / "renode.pid").read_text()), be.process.pid


def _open(memory: bool | str, fw: Any, **kw: Any) -> tuple[RenodeBackend, Any]:
    board = load_board(BOARD)
    be = RenodeBackend(board, fw.elf, memory=memory, start_timeout=120.0)
    return be, open_device(board, fw.elf, transport="uart" if memory is False else "memory", backend=be,
                           timeout=30, boot_timeout=60, **kw)


def test_socket_and_monitor_give_the_uart_outputs_and_counts() -> None:
    fw = build(BOARD, "echo")
    counts = {}
    for memory, kind in ((False, None), ("socket", RenodeSocketMemory), ("monitor", RenodeMonitorMemory)):
        _, opened = _open(memory, fw)
        with opened as dev:
            if kind is not None:
                assert isinstance(dev.transport.memory, kind)
            results = [dev.invoke(x) for x in VECTORS]
            dev.reset_state()  # a UART-only command between memory invokes
            results.append(dev.invoke(VECTORS[0]))
        assert [out for out, _ in results] == [echo_reference(VECTORS[0], 0), echo_reference(VECTORS[1], 1),
                                               echo_reference(VECTORS[0], 0)]
        counts[memory] = [c.value for _, c in results]
    assert counts["socket"] == counts["monitor"] == counts[False]
    assert len(set(counts[False])) == 1 and counts[False][0] > 1000


def test_socket_refuses_ranges_outside_ram_and_stays_in_step() -> None:
    board = load_board(BOARD)
    fw = build(board, "echo")
    be, opened = _open("socket", fw)
    with opened as dev:
        mem = dev.transport.memory
        assert isinstance(mem, RenodeSocketMemory)
        # The server is a unix socket: Renode still listens on no network address.
        assert reachable_from_outside(process_tree(_pids(be)[1])) == []
        with pytest.raises(ConfigError, match=r"0x203ffffe\+4 is not inside the board's RAM"):
            mem.write(board.ram.end - 2, b"\0" * 4)
        # The server's own check (sysbus onlyMemory): a peripheral is refused, not written.
        mem.ram = (0, 1 << 32)
        with pytest.raises(ProtocolError, match=r"writing 4 bytes at 0x40004000 failed: .*only memory"):
            mem.write(board.uart.base, b"\0" * 4)
        mailbox = dev.transport.mailbox
        mem.write(mailbox.input_address, VECTORS[1])
        assert mem.read(mailbox.input_address, len(VECTORS[1])) == VECTORS[1]
        out, _ = dev.invoke(VECTORS[0])
        assert out == echo_reference(VECTORS[0], 0)


def test_hung_renode_times_out_and_the_connection_is_dropped() -> None:
    fw = build(BOARD, "echo")
    be, opened = _open("socket", fw)
    with opened as dev:
        mem = dev.transport.memory
        assert isinstance(mem, RenodeSocketMemory)
        mono, group = _pids(be)
        mem.timeout = 1.0
        os.kill(mono, signal.SIGSTOP)
        try:
            with pytest.raises(ProtocolError, match=r"no reply within 1\.0 s"):
                mem.read(dev.transport.mailbox.output_address, 16)
        finally:
            os.kill(mono, signal.SIGCONT)
        # Its late reply must not be taken for the next request's.
        with pytest.raises(EmulatorDied, match="unusable after an earlier failure"):
            mem.read(dev.transport.mailbox.output_address, 16)
    assert not _pid_alive(mono) and not _pid_alive(group)


def test_crashed_renode_is_emulator_died_and_nothing_is_left() -> None:
    fw = build(BOARD, "echo")
    be, opened = _open("socket", fw)
    with pytest.raises(EmulatorDied, match=r"(?i)renode"), opened as dev:
        dev.invoke(VECTORS[0])
        mono, group = _pids(be)
        os.kill(mono, signal.SIGKILL)
        dev.invoke(VECTORS[1])
    assert not _pid_alive(mono) and not _pid_alive(group)
