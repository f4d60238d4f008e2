"""The backend interface: something that runs a firmware ELF and hands back a link to it.

One small interface for every backend (QEMU, Renode, a real board through pyOCD) so the
session, the plugin and the tests never care which one runs the firmware. A backend is a
context manager that always cleans up its process, even on timeouts, failing tests and
Ctrl-C.
"""

from __future__ import annotations

import abc
import atexit
import ctypes
import signal
import sys
import time
import weakref
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from harness.boards import Board
from harness.errors import ConfigError, HilError
from harness.link import Link

if TYPE_CHECKING:
    from harness.transport import MemoryAccess

LIVE: "weakref.WeakSet[Backend]" = weakref.WeakSet()  # started emulators, stopped at interpreter exit


@atexit.register
def _stop_all() -> None:
    for backend in list(LIVE):
        backend.stop()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


# preexec_fn for emulator processes: they die with the harness, even on SIGKILL (Linux only).
DIE_WITH_PARENT = _die_with_parent if sys.platform.startswith("linux") else None


class Backend(abc.ABC):
    """Runs one firmware image on one board.

    `count_kind` says what `ticks_to_count` returns: "instructions" on emulators (exact,
    from the icount virtual clock), "cycles" on hardware. Emulators never report cycles.
    """

    name: str = "backend"
    count_kind: str = "instructions"
    has_memory_access: bool = False  # True: memory_access() reads/writes target RAM (memory transport)

    def __init__(self, board: Board, elf: str | Path) -> None:
        self.board = board
        self.elf = Path(elf)
        self.link: Link | None = None

    @abc.abstractmethod
    def start(self) -> Link:
        """Start the firmware and return a connected link (BOOT frame not yet read)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop everything this backend started. Idempotent, never raises."""

    @abc.abstractmethod
    def poll_exit(self) -> HilError | None:
        """None while the target runs; otherwise the error that explains why it stopped."""

    @abc.abstractmethod
    def ticks_per_count(self) -> Fraction:
        """Counter ticks per counted unit (instruction or cycle), exact."""

    def ticks_to_count(self, ticks: int) -> int:
        """Raw counter ticks to instructions/cycles, with exact rational arithmetic.

        Rounds to nearest: a tick interval is off by at most one tick from the exact product,
        and a unit is more than 2 ticks (board validation), so rounding recovers it exactly.
        """
        per = self.ticks_per_count()
        return int((Fraction(ticks) / per + Fraction(1, 2)).__floor__())

    def wait_exit(self, timeout: float) -> HilError | None:
        """Like poll_exit, but give a target that is going away up to `timeout` s to finish."""
        deadline = time.monotonic() + timeout
        while True:
            err = self.poll_exit()
            if err is not None or time.monotonic() >= deadline:
                return err
            time.sleep(0.01)

    def memory_access(self) -> "MemoryAccess":
        """Target RAM through the debugger/emulator (see harness.transport.MemoryAccess)."""
        raise ConfigError(f"backend '{self.name}' has no memory access; use the uart transport", field="transport")

    def on_boot(self) -> None:
        """Hook run once the firmware's BOOT frame arrived (e.g. to wake an emulator)."""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
