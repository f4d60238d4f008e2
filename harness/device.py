"""A running device: backend + protocol session, with counts in instructions or cycles.

Why a wrapper: a session alone only sees bytes. When the device goes silent or the link
drops, only the backend knows whether the emulator exited with the firmware's fault code,
died, or is still running a hung inference; `Device` asks it and raises the right class.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from harness.backends import Backend, make_backend
from harness.boards import Board, load_board
from harness.counts import Count, CountKind
from harness.errors import BootError, ConfigError, DeviceError, DeviceFault, DeviceTimeout, EmulatorDied, ProtocolError
from harness.link import LinkClosed
from harness.protocol import DeviceSession, Hello, Stats
from harness.transport import MemoryTransport, Transport, UartTransport, check_transport, resolve_transport

T = TypeVar("T")


class Device:
    """Use through `open_device`. Methods raise the taxonomy's errors, classified."""

    def __init__(self, backend: Backend[Any], session: DeviceSession, hello: Hello,
                 transport: Transport | None = None) -> None:
        self.backend = backend
        self.session = session
        self.hello = hello
        self.transport: Transport = transport or UartTransport(session)

    @property
    def count_kind(self) -> CountKind:
        return self.backend.count_kind

    def _count(self, ticks: int) -> Count:
        """Ticks between the counter reads, minus the reads' own cost, as a Count."""
        value = self.backend.ticks_to_count(ticks) - self.backend.ticks_to_count(self.hello.overhead_ticks)
        return Count(max(0, value), self.backend.count_kind)

    @property
    def hook_overhead(self) -> Count:
        """What the layer hooks of a profile build may add per layer boundary: one empty layer's
        hook cycle (measured by the firmware at boot) plus one counter read, since every layer's
        count has a read's cost taken off (as every count does) while the whole inference's has
        it taken off once."""
        ticks = self.hello.hook_ticks + self.hello.overhead_ticks
        return Count(self.backend.ticks_to_count(ticks), self.backend.count_kind)

    def _vouch(self, unsure: bool, what: str) -> None:
        """A count the device cannot vouch for is an error, never a number."""
        if unsure:
            raise DeviceError(
                f"the device cannot vouch for the {what} count: its {self.hello.counter} counter wrapped while "
                f"interrupts were masked for more than half a counter period (the wrap was seen late, so a whole "
                f"wrap may have been missed); the count is withheld. Does the model disable interrupts "
                f"(model '{self.hello.model}' on board '{self.hello.board}')?",
                kind="count-unsure", counter=self.hello.counter)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except (DeviceTimeout, EmulatorDied, ProtocolError) as exc:
            # A silent or vanished device: let the backend say whether it faulted or died.
            # A closed link means the process is exiting: give it a moment to be reaped.
            exited = self.backend.wait_exit(2.0 if isinstance(exc, LinkClosed) else 0.0)
            if exited is not None:
                exited.details.setdefault("last_command", self.session.last_command)
                raise exited from exc
            raise

    def invoke(self, x: bytes, *, timeout: float | None = None) -> tuple[bytes, Count]:
        """Run one inference: (output bytes, count between the counter reads)."""
        inv = self._call(self.transport.invoke, bytes(x), timeout=timeout)
        self._vouch(inv.count_unsure, "inference")
        return inv.output, self._count(inv.ticks)

    def reset_state(self) -> None:
        self.transport.before_command()
        self._call(self.session.reset_state)

    def stats(self) -> Stats:
        self.transport.before_command()
        return self._call(self.session.stats)

    def profile(self) -> list[Count]:
        """Per-layer counts of the last invoke (firmware built with -DHIL_MODEL_PROFILE)."""
        self.transport.before_command()
        layers = self._call(self.session.profile)
        self._vouch(layers.count_unsure, "per-layer")
        return [self._count(t) for t in layers.ticks]


def _boot(session: DeviceSession, boot_timeout: float) -> Hello:
    """The BOOT frame; if it never comes, ask HELLO once: on hardware the port may have been
    opened after the firmware announced itself."""
    try:
        return session.wait_boot(boot_timeout)
    except DeviceTimeout:
        return session.hello(timeout=min(boot_timeout, 2.0))


@contextlib.contextmanager
def open_device(
    board: Board | str,
    elf: str | Path,
    *,
    timeout: float = 10.0,
    boot_timeout: float = 10.0,
    expected_hash: str | None = None,
    backend: Backend[Any] | None = None,
    connect_via: Callable[[str], str] | None = None,
    transport: str = "uart",
) -> Iterator[Device]:
    """Start the firmware, wait for its BOOT frame, check its identity, yield a Device.

    `timeout` bounds every command; the backend is stopped (process reaped) on exit,
    whatever happened inside the block. `connect_via(url) -> url` routes the link through
    something in between (the fault-injecting proxy of the tests); emulator backends only.
    `transport`: uart, memory or auto (memory where the backend can reach target RAM;
    harness/transport.py); `Device.transport.name` says which one runs.
    """
    check_transport(transport)
    if not isinstance(board, Board):
        board = load_board(board)
    options: dict[str, Any] = {"boot_timeout": boot_timeout}
    if connect_via is not None:
        options["connect_via"] = connect_via
    if backend is not None and connect_via is not None:
        raise ConfigError("open_device: pass connect_via to the backend you construct, not beside it",
                          field="connect_via")
    if transport != "uart":
        options["memory"] = True  # e.g. QEMU starts its gdbstub
    be = backend or make_backend(board, elf, **options)  # ConfigError if it cannot take an option
    with be:
        link = be.start()
        session = DeviceSession(link, elf=elf, timeout=timeout)
        try:
            hello = _boot(session, boot_timeout)
        except DeviceTimeout as exc:
            exited = be.poll_exit()
            if exited is not None:
                raise exited from exc
            raise BootError(
                f"no BOOT frame from {Path(elf).name} on board '{board.name}' within {boot_timeout:.1f} s: "
                f"wrong UART for this board, or the firmware crashed before its UART init.\n"
                f"Link transcript (tail):\n{link.transcript_tail()}", board=board.name,
            ) from exc
        except (EmulatorDied, ProtocolError) as exc:
            exited = be.wait_exit(2.0 if isinstance(exc, LinkClosed) else 0.0)
            if exited is not None:
                raise exited from exc
            raise
        be.on_boot()
        if hello.board != board.build_board.name:  # a twin runs its real board's firmware
            raise BootError(f"firmware was built for board '{hello.board}' but runs on '{board.name}': rebuild it")
        if expected_hash is not None and hello.hash != expected_hash:
            raise DeviceError(
                f"firmware runs model '{hello.model}' with hash {hello.hash}, expected {expected_hash}: "
                "stale build or wrong ELF", expected=expected_hash, got=hello.hash)
        chosen = resolve_transport(transport, be.capabilities.memory_access, f"board '{board.name}' ({be.name})")
        try:
            wire: Transport = (MemoryTransport(session, be.memory_access()) if chosen == "memory"
                                         else UartTransport(session))
        except (EmulatorDied, ProtocolError) as exc:
            exited = be.wait_exit(2.0)
            if exited is not None:
                raise exited from exc
            raise
        yield Device(be, session, hello, wire)


__all__ = ["Count", "Device", "open_device", "DeviceFault"]
