"""Helpers shared by the device tests (real toolchain, real QEMU)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.boards import BOARDS_DIR, Board
from harness.firmware.build import Firmware, build_firmware

REPO = Path(__file__).resolve().parents[1]
TESTMODELS = REPO / "firmware" / "testmodels"
# Every emulated board the project ships (the m0plus board is QEMU's micro:bit).
QEMU_BOARDS = [b for b in ("m0plus", "m3", "m4", "m7", "m33") if (BOARDS_DIR / f"{b}.toml").is_file()]


def build(board: Board | str, model: str, **kwargs: Any) -> Firmware:
    return build_firmware(board, TESTMODELS / model, **kwargs)


def echo_reference(x: bytes, calls: int) -> bytes:
    """What firmware/testmodels/echo computes on its `calls`-th invoke since reset."""
    s = (0x811C9DC5 ^ calls) & 0xFFFFFFFF
    y = bytearray(len(x))
    for i, b in enumerate(x):
        s = ((s ^ b) * 16777619) & 0xFFFFFFFF
        y[i] = s >> 24
    for r in range(1, 5):
        for i in range(len(y)):
            y[i] ^= (i * r) & 0xFF
    return bytes(y)


def processes() -> list[tuple[int, str, int]]:
    """(pid, command name, parent pid) of every process now (zombies included), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        found.append((int(entry), comm, ppid))
    return found


def qemu_children() -> list[int]:
    """PIDs of qemu-system-arm processes (zombies included) whose parent is this process."""
    me = os.getpid()
    return [pid for pid, comm, ppid in processes() if ppid == me and comm.startswith("qemu-system")]
