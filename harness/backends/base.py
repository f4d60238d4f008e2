"""The backend interface: one class per way of running a firmware ELF (QEMU, Renode, a probe).

A backend class owns everything about its way of running firmware, so adding one is one file
(see docs/design.md, "Add a backend"): its board-file table `[<name>]` (`parse_section`, with
the same file:line errors as the rest of the board file), whether it can run on this machine
(`missing_reason`) and its version (`version`, for records), what it can do (`capabilities`),
and start/stop. A backend instance is a context manager that always cleans up its process,
even on timeouts, failing tests and Ctrl-C.
"""

from __future__ import annotations

import abc
import atexit
import ctypes
import inspect
import signal
import sys
import time
import weakref
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from harness.board_file import Section
from harness.counts import CountKind
from harness.errors import ConfigError, HilError
from harness.link import Link

if TYPE_CHECKING:
    from harness.boards import Board
    from harness.transport import MemoryAccess

LIVE: weakref.WeakSet[Backend[Any]] = weakref.WeakSet()  # started emulators, stopped at interpreter exit


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


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, for callers that must choose (plugin features, transports, twins)."""

    count_kind: CountKind  # what its counts are: "instructions" (emulators, exact) or "cycles" (hardware)
    emulated: bool  # an emulator: semihosting exit, no probe; firmware is built with HIL_SEMIHOSTING
    memory_access: bool = False  # the host can read/write target RAM while the firmware runs
    twin: bool = False  # can run a real board's unmodified ELF as that board's twin


@dataclass(frozen=True)
class BackendSettings:
    """Base of a backend's parsed board-file table (each backend subclasses it)."""

    def summary(self) -> str:
        """A few words for `hil boards` (e.g. the emulated machine)."""
        return ""


S = TypeVar("S", bound=BackendSettings)


class Backend(abc.ABC, Generic[S]):
    """Runs one firmware image on one board. Subclasses set `name`, `settings_type`,
    `capabilities` and implement the class-level hooks below plus start/stop/poll_exit."""

    name: ClassVar[str]
    settings_type: ClassVar[type[BackendSettings]]
    capabilities: ClassVar[Capabilities]
    # Counter kinds (board `counter.kind`) that only this backend implements.
    own_counter_kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, board: Board, elf: str | Path) -> None:
        if not isinstance(board.settings, self.settings_type):
            raise ConfigError(f"board '{board.name}' ({board.path}) has no [{self.name}] section "
                              f"(its backend is '{board.backend}'); add one to run it on {self.name}",
                              field=self.name)
        self.board = board
        self.settings = cast(S, board.settings)  # checked just above
        self.elf = Path(elf)
        self.link: Link | None = None

    # -- class-level: asked before any instance exists -------------------------------------

    @classmethod
    @abc.abstractmethod
    def parse_section(cls, section: Section, board: Board) -> S:
        """Validate this backend's board-file table `[<name>]` into its settings. `board` holds the
        common fields, already validated, for cross-checks; raise `section.fail(...)` (or
        `section.file.fail(table, key, ...)` for a common field) on bad values."""

    @classmethod
    def missing_reason(cls, board: Board) -> str | None:
        """Why `board` cannot run on this machine with an *optional* backend (Renode, which no
        package registry has), or None. The plugin skips the board's tests with this reason, so a
        required backend (QEMU, pyOCD: installed by the set-up) returns None and fails at start."""
        return None

    @classmethod
    @abc.abstractmethod
    def version(cls) -> str:
        """The backend's software version (for result records), e.g. 'QEMU emulator version 7.2.0'.
        Never raises: an unknown version is a string saying why."""

    @classmethod
    @abc.abstractmethod
    def ticks_per_count(cls, board: Board) -> Fraction:
        """Counter ticks per counted unit (instruction or cycle) on `board`, exact."""

    @classmethod
    def create(cls, board: Board, elf: str | Path, **options: Any) -> Backend[Any]:
        """An instance for `board`; an option the constructor does not take is a ConfigError
        (never silently dropped)."""
        try:
            inspect.signature(cls).bind(board, elf, **options)
        except TypeError as exc:
            params = [p for p in inspect.signature(cls).parameters.values() if p.kind is p.KEYWORD_ONLY]
            raise ConfigError(f"backend '{cls.name}' (board '{board.name}') does not take "
                              f"{', '.join(sorted(set(options) - {p.name for p in params}))} ({exc}); "
                              f"its options: {', '.join(p.name for p in params) or 'none'}",
                              field="backend", value=cls.name) from None
        return cls(board, elf, **options)

    # -- per run ------------------------------------------------------------------------------

    @property
    def count_kind(self) -> CountKind:
        return self.capabilities.count_kind

    @abc.abstractmethod
    def start(self) -> Link:
        """Start the firmware and return a connected link (BOOT frame not yet read)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop everything this backend started. Idempotent, never raises."""

    @abc.abstractmethod
    def poll_exit(self) -> HilError | None:
        """None while the target runs; otherwise the error that explains why it stopped."""

    def ticks_to_count(self, ticks: int) -> int:
        """Raw counter ticks to instructions/cycles, with exact rational arithmetic.

        Rounds to nearest: a tick interval is off by at most one tick from the exact product,
        and a unit is more than 2 ticks (board validation), so rounding recovers it exactly.
        """
        per = self.ticks_per_count(self.board)
        return int((Fraction(ticks) / per + Fraction(1, 2)).__floor__())

    def wait_exit(self, timeout: float) -> HilError | None:
        """Like poll_exit, but give a target that is going away up to `timeout` s to finish."""
        deadline = time.monotonic() + timeout
        while True:
            err = self.poll_exit()
            if err is not None or time.monotonic() >= deadline:
                return err
            time.sleep(0.01)

    def memory_access(self) -> MemoryAccess:
        """Target RAM through the debugger/emulator (see harness.transport.MemoryAccess)."""
        raise ConfigError(f"backend '{self.name}' has no memory access; use the uart transport", field="transport")

    def on_boot(self) -> None:
        """Hook run once the firmware's BOOT frame arrived (e.g. to wake an emulator)."""

    def __enter__(self) -> Backend[S]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
