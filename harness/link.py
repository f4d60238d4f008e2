"""The byte pipe to a device: a pyserial URL (`socket://host:port` from an emulator, or a
COM/tty port on real hardware), with timeouts and a transcript.

Why a transcript: when a run breaks, the last bytes each way are the most useful evidence,
so every error message from the session can quote them. Why retry on connect: an emulator
starts listening some tens of milliseconds after it is spawned.
"""

from __future__ import annotations

import select
import socket
import time
from collections import deque
from collections.abc import Callable

import serial

from harness.errors import BootError, EmulatorDied


class LinkClosed(EmulatorDied):
    """The other end went away (the emulator exited, or a USB serial port vanished)."""


class Transcript:
    """The last `limit` bytes exchanged, in order, tagged with their direction."""

    def __init__(self, limit: int = 8192) -> None:
        self.limit = limit
        self._chunks: deque[tuple[str, bytes]] = deque()
        self._size = 0
        self.total = {">": 0, "<": 0}

    def add(self, direction: str, data: bytes) -> None:
        if not data:
            return
        self.total[direction] += len(data)
        if self._chunks and self._chunks[-1][0] == direction:
            _, prev = self._chunks.pop()
            self._size -= len(prev)
            data = prev + data
        self._chunks.append((direction, data))
        self._size += len(data)
        while self._size > self.limit:
            d, c = self._chunks.popleft()
            excess = self._size - self.limit
            if len(c) > excess:
                self._chunks.appendleft((d, c[excess:]))
                self._size -= excess
            else:
                self._size -= len(c)

    def tail(self, nbytes: int = 128) -> str:
        """Last `nbytes` each way as hex lines: `> ` host to device, `< ` device to host."""
        lines: list[str] = []
        budget = nbytes * 2
        for d, c in reversed(self._chunks):
            if budget <= 0:
                break
            part = c[-budget:]
            budget -= len(part)
            rows = [part[i : i + 32].hex(" ") for i in range(0, len(part), 32)]
            if len(part) < len(c):
                rows[0] = "… " + rows[0]
            lines.append("\n".join(f"  {d} {row}" for row in rows))
        return "\n".join(reversed(lines)) or "  (nothing exchanged)"


class Link:
    """A pyserial port plus transcript; reads return what is there (at least one byte) or b''."""

    def __init__(self, port: serial.SerialBase, url: str, *, transcript_limit: int = 8192) -> None:
        self.port = port
        self.url = url
        self.transcript = Transcript(transcript_limit)

    def write(self, data: bytes) -> None:
        self.transcript.add(">", data)
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkClosed(f"writing to {self.url} failed: {exc}", url=self.url) from exc

    def read(self, max_bytes: int = 4096, timeout: float | None = None) -> bytes:
        """Up to `max_bytes`; waits at most `timeout` s for the first byte."""
        # Plain sockets are read directly; an RFC 2217 port's socket belongs to its reader thread.
        sock = None if self.url.startswith("rfc2217://") else getattr(self.port, "_socket", None)
        try:
            if isinstance(sock, socket.socket):
                data = self._read_socket(sock, max_bytes, timeout)
            elif self.url.startswith("rfc2217://"):
                data = self._read_buffered(max_bytes, timeout)
            else:
                self._set_timeout(0 if timeout is not None and timeout <= 0 else timeout)
                first = self.port.read(1)
                if not first:
                    return b""
                self._set_timeout(0)
                data = first + (self.port.read(max_bytes - 1) if max_bytes > 1 else b"")
        except (serial.SerialException, OSError) as exc:
            raise LinkClosed(f"reading from {self.url} failed: {exc}", url=self.url) from exc
        if data:
            self.transcript.add("<", data)
        return data

    def _read_socket(self, sock: socket.socket, max_bytes: int, timeout: float | None) -> bytes:
        """One recv: pyserial's read loop would drop bytes it got just before a disconnect,
        such as a FAULT frame sent right before the emulator exits."""
        ready, _, _ = select.select([sock], [], [], None if timeout is None else max(0.0, timeout))
        if not ready:
            return b""
        data = sock.recv(max_bytes)
        if not data:
            raise serial.SerialException("socket disconnected")
        return data

    def _read_buffered(self, max_bytes: int, timeout: float | None) -> bytes:
        """Poll the port's receive buffer: assigning an RFC 2217 port's timeout renegotiates the
        line settings with the server (a round trip per read)."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while not self.port.in_waiting:
            if deadline is not None and time.monotonic() >= deadline:
                return b""
            time.sleep(0.001)
        return bytes(self.port.read(min(max_bytes, self.port.in_waiting)))

    def _set_timeout(self, value: float | None) -> None:
        if self.port.timeout != value:  # a real tty reconfigures on every assignment
            self.port.timeout = value

    def drain(self, quiet: float = 0.05, limit: float = 1.0) -> bytes:
        """Read and return whatever arrives until the line is quiet for `quiet` s."""
        out = bytearray()
        end = time.monotonic() + limit
        while time.monotonic() < end:
            data = self.read(4096, timeout=quiet)
            if not data:
                break
            out += data
        return bytes(out)

    def transcript_tail(self, nbytes: int = 128) -> str:
        return self.transcript.tail(nbytes)

    def close(self) -> None:
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_link(
    url: str,
    *,
    timeout: float = 5.0,
    connect_timeout: float = 10.0,
    baudrate: int = 115200,
    alive: Callable[[], bool] | None = None,
) -> Link:
    """Open `url`, retrying until it accepts or `connect_timeout` passes.

    `alive` (e.g. "is the emulator still running?") stops the retries early; the caller then
    classifies why the other side went away.
    """
    deadline = time.monotonic() + connect_timeout
    delay = 0.005
    last: Exception | None = None
    while True:
        try:
            # pyserial's RFC 2217 client has no write timeout (it raises NotImplementedError)
            wt = None if url.startswith("rfc2217://") else timeout
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, write_timeout=wt)
            break
        except (serial.SerialException, OSError, ValueError) as exc:
            last = exc
        if alive is not None and not alive():
            raise LinkClosed(f"{url}: the other side exited before accepting a connection ({last})", url=url)
        if time.monotonic() >= deadline:
            raise BootError(f"could not open {url} within {connect_timeout:.1f} s: {last}", url=url)
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    sock = getattr(port, "_socket", None)
    if sock is not None:
        # Without TCP_NODELAY every small frame waits ~40 ms for Nagle (emulation.md 5.2).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Link(port, url)


def connect_unix(path: str, what: str, connect_timeout: float,
                 died: Callable[[], EmulatorDied | Exception | None] | None = None) -> socket.socket:
    """A connected unix stream socket to `path`, retried until the emulator behind it listens;
    EmulatorDied naming `what` at the deadline, or `died()`'s verdict as soon as it has one."""
    deadline = time.monotonic() + connect_timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError as exc:
            sock.close()
            err = died() if died is not None else None
            if err is not None:
                raise err from exc
            if time.monotonic() >= deadline:
                raise EmulatorDied(f"{what} at {path} did not accept a connection within {connect_timeout:.0f} s: "
                                   f"{exc}") from exc
            time.sleep(0.01)
