"""Target RAM on Renode through a small server inside Renode, for the memory transport.

Why not the obvious paths (measured on Renode 1.15.1, m4-renode, README link table):
* monitor `sysbus LoadBinary` / `ReadBytes`: 5-150 ms per command even for 4 bytes (the
  monitor's terminal line editing, echo and prompt), and ReadBytes answers in text;
* Renode's GDB server: binds every interface (SocketServerProvider uses IPAddress.Any, which the
  project forbids: docs/renode.md) and took ~44 ms per 4-byte write+read, ~490 ms for 27 KB.
Instead the backend loads `renode_memory_server.ipy` into Renode's IronPython (monitor
`include`) and starts it on a unix socket in the backend's private directory (mode 0700): no
network port, ~0.2 ms for a 27 KB write plus read. The server calls sysbus with
onlyMemory=True, so a peripheral in the range is an error, not a register access; the client
also refuses ranges outside the board's RAM.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path

from harness.errors import ConfigError, EmulatorDied, HilError, ProtocolError
from harness.link import connect_unix

SERVER_SOURCE = Path(__file__).with_name("renode_memory_server.ipy")
GREETING = b"HILMEM1\n"  # HIL_MEMORY_GREETING in the server
SERVE_FUNCTION = "hil_memory_serve"
_HEADER = struct.Struct("<cII")  # op, address, length
_OK, _ERROR = 0, 1


class RenodeSocketMemory:
    """A connection to the in-Renode memory server: `write`/`read` target RAM while it runs."""

    # 0.14-0.24 ms per access while the emulation runs; polling back to back slowed the emulation
    # itself (ring to done 9 ms instead of 2.7-4 ms for the 490 B echo, m4-renode, with the old
    # counter hook); a 0.2 ms nap beat 0.5 ms (490 B echo, two runs each: m0plus-renode 458-688
    # against 337-361 vectors/s, m4-renode 689-764 against 446-553)
    polls: tuple[float, float] | None = (0.0, 0.0002)

    def __init__(self, sock: socket.socket, ram: tuple[int, int], *, died: Callable[[], HilError | None],
                 timeout: float = 10.0, where: str = "renode memory server") -> None:
        """`ram`: (origin, end) of the range holding the mailbox (the board's RAM, or its
        [memory.mailbox]), the only range served; `died()`: the backend's verdict when the
        connection breaks (crash, fault exit), else None."""
        self.sock = sock
        self.ram = ram
        self.died = died
        self.timeout = timeout
        self.where = where
        self._buf = bytearray()
        self._broken: HilError | None = None  # after a timeout or a lost connection: never reuse
        greeting = self._recv_exact(len(GREETING))
        if greeting != GREETING:
            raise ProtocolError(f"{where}: expected greeting {GREETING!r}, got {greeting!r}", kind="memory")

    @classmethod
    def connect(cls, path: str, ram: tuple[int, int], *, died: Callable[[], HilError | None],
                timeout: float = 10.0, connect_timeout: float = 10.0) -> RenodeSocketMemory:
        sock = connect_unix(path, "renode memory server", connect_timeout, died)
        return cls(sock, ram, died=died, timeout=timeout, where=f"renode memory server {path}")

    # -- wire -------------------------------------------------------------------------------

    def _lost(self, what: str) -> HilError:
        err = self.died()
        return err if err is not None else EmulatorDied(f"{self.where}: {what}")

    def _recv_exact(self, n: int) -> bytes:
        deadline = time.monotonic() + self.timeout
        while len(self._buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self.died() or ProtocolError(f"{self.where}: no reply within {self.timeout:.1f} s "
                                                   "(Renode hung?)", kind="memory")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(max(65536, n - len(self._buf)))
            except TimeoutError:
                continue  # the deadline check above decides
            except OSError as exc:
                raise self._lost(f"connection lost ({exc})") from exc
            if not chunk:
                raise self._lost("Renode closed the connection (it exited or crashed)")
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _request(self, op: bytes, address: int, length: int, data: bytes = b"") -> bytes:
        if self._broken is not None:
            raise EmulatorDied(f"{self.where}: unusable after an earlier failure ({self._broken})")
        if address < self.ram[0] or address + length > self.ram[1]:
            raise ConfigError(f"{self.where}: {address:#010x}+{length} is not inside the board's RAM "
                              f"{self.ram[0]:#010x}-{self.ram[1]:#010x}: firmware and board file disagree",
                              field="mailbox")
        try:
            return self._exchange(op, address, length, data)
        except HilError as exc:
            if exc.details.get("kind") != "memory-refused":
                # A late reply would be read as the answer to the next request: drop the connection.
                self._broken = exc
                self.close()
            raise

    def _exchange(self, op: bytes, address: int, length: int, data: bytes) -> bytes:
        try:
            self.sock.sendall(_HEADER.pack(op, address, length) + data)
        except OSError as exc:
            raise self._lost(f"connection lost ({exc})") from exc
        status = self._recv_exact(1)[0]
        if status == _ERROR:
            (size,) = struct.unpack("<I", self._recv_exact(4))
            message = self._recv_exact(size).decode("utf-8", "replace")
            action = "writing" if op == b"W" else "reading"
            raise ProtocolError(f"{self.where}: {action} {length} bytes at {address:#010x} failed: {message}",
                                kind="memory-refused")  # the server answered in full: still in step
        if status != _OK:
            raise ProtocolError(f"{self.where}: bad reply status {status}", kind="memory")
        return self._recv_exact(length) if op == b"R" else b""

    # -- MemoryAccess -----------------------------------------------------------------------

    def attach(self, session: object) -> bytes:
        """Nothing to set up on the device: MEM_INVOKE without flags."""
        return b""

    def write(self, address: int, data: bytes) -> None:
        self._request(b"W", address, len(data), data)

    def read(self, address: int, length: int) -> bytes:
        return self._request(b"R", address, length)

    def resume(self) -> None:
        """The server never stops the emulation."""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
