"""A byte-corrupting TCP proxy on real loopback sockets, between an emulator and the host.

Plug it in with `open_device(..., connect_via=proxy.connect_via)` (or
`QemuBackend(..., connect_via=...)`): the backend hands it the emulator's `socket://` URL, the
proxy connects there and returns its own URL for the host to open. Every byte then crosses
two real sockets, and chosen bytes are flipped, dropped or inserted on the way:

    with FlipProxy() as proxy, open_device("m4", elf, connect_via=proxy.connect_via) as dev:
        proxy.add(Fault("down", "flip", after=b"\\xa5\\x5a\\x02", offset=20))  # first LOAD's payload
        proxy.add(Fault("up", "flip", after=SYNC, offset=8, times=None))        # every reply, forever
        proxy.add(Fault("up", "drop", at=proxy.position("up") + 5))             # 5 bytes from now

Directions: "down" is host -> device, "up" is device -> host. Offsets count the bytes the proxy
has *received* in that direction since it started (before any corruption it applied).
Why a proxy and not a doctored link object: the corruption must happen below everything the
harness owns (pyserial, the socket, the decoder's buffering), where a noisy wire would do it.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlparse

DIRECTIONS = ("down", "up")
ACTIONS = ("flip", "drop", "insert")


@dataclass
class Fault:
    """One corruption rule.

    Where: either `at` (absolute offset in the direction's stream), or `offset` bytes after
    the start of each occurrence of the byte pattern `after` (offset >= len(after), i.e. a
    byte that has not passed yet). `times`: how many occurrences to corrupt (None: all of
    them, a persistently bad wire). `flip` XORs the byte with `xor`, `drop` removes it,
    `insert` puts `data` in front of it.
    """

    direction: str
    action: str = "flip"
    at: int | None = None
    after: bytes | None = None
    offset: int = 0
    times: int | None = 1
    xor: int = 0x10
    data: bytes = b"\x00"
    hits: list[int] = field(default_factory=list)  # stream offsets where it fired
    _targets: set[int] = field(default_factory=set, repr=False)
    _armed: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction {self.direction!r}: use one of {DIRECTIONS}")
        if self.action not in ACTIONS:
            raise ValueError(f"action {self.action!r}: use one of {ACTIONS}")
        if (self.at is None) == (self.after is None):
            raise ValueError("give exactly one of `at` and `after`")
        if self.after is not None and self.offset < len(self.after):
            raise ValueError(f"offset {self.offset} points into the pattern itself (length {len(self.after)})")
        if not 1 <= self.xor <= 255:
            raise ValueError("xor must flip at least one bit of the byte")
        if self.at is not None:
            self._targets.add(self.at)
            self._armed = 1

    @property
    def done(self) -> bool:
        return self.times is not None and self._armed >= self.times and not self._targets


class FlipProxy:
    """A one-connection TCP proxy that applies `Fault`s; a context manager that closes all."""

    def __init__(self, faults: tuple[Fault, ...] | list[Fault] = ()) -> None:
        self.faults: list[Fault] = list(faults)
        self.received = {d: 0 for d in DIRECTIONS}  # bytes received per direction
        self.sent = {d: 0 for d in DIRECTIONS}  # bytes passed on (after corruption)
        self.capture = {d: bytearray() for d in DIRECTIONS}  # everything received, uncorrupted
        self._lock = threading.Lock()
        self._history = {d: bytearray() for d in DIRECTIONS}
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        self._threads: list[threading.Thread] = []
        self._closed = False

    # -- set-up ---------------------------------------------------------------------------------

    def connect_via(self, url: str) -> str:
        """Backend hook: connect to the emulator at `url`, return the URL the host should open."""
        parsed = urlparse(url)
        if parsed.scheme != "socket" or parsed.hostname is None or parsed.port is None:
            raise ValueError(f"FlipProxy only proxies socket://host:port URLs, got {url!r}")
        upstream = socket.create_connection((parsed.hostname, parsed.port), timeout=10)
        upstream.settimeout(None)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sockets.append(upstream)
        t = threading.Thread(target=self._serve, args=(upstream,), name="flipproxy-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return f"socket://127.0.0.1:{self.port}"

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def position(self, direction: str) -> int:
        """Bytes received so far in `direction`: `at=position(d) + k` hits the k-th next byte."""
        with self._lock:
            return self.received[direction]

    def hits(self) -> list[tuple[str, str, int]]:
        """(direction, action, offset) of every corruption applied, in rule order."""
        with self._lock:
            return [(f.direction, f.action, h) for f in self.faults for h in f.hits]

    # -- pumping --------------------------------------------------------------------------------

    def _serve(self, upstream: socket.socket) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sockets.append(client)
        up = threading.Thread(target=self._pump, args=(upstream, client, "up"), name="flipproxy-up", daemon=True)
        up.start()
        self._threads.append(up)
        self._pump(client, upstream, "down")

    def _corrupt(self, chunk: bytes, direction: str) -> bytes:
        out = bytearray()
        with self._lock:
            self.capture[direction] += chunk
            faults = [f for f in self.faults if f.direction == direction and not f.done]
            hist = self._history[direction]
            longest = max((len(f.after) for f in faults if f.after), default=0)
            for b in chunk:
                pos = self.received[direction]
                self.received[direction] += 1
                emit = bytes((b,))
                for f in faults:
                    if pos in f._targets:
                        f._targets.discard(pos)
                        f.hits.append(pos)
                        if f.action == "flip":
                            emit = bytes((emit[-1] ^ f.xor,)) if emit else emit
                        elif f.action == "drop":
                            emit = b""
                        else:
                            emit = f.data + emit
                out += emit
                if longest:
                    hist.append(b)
                    del hist[:-longest]
                    for f in faults:
                        if f.after and hist.endswith(f.after) and (f.times is None or f._armed < f.times):
                            f._targets.add(pos - len(f.after) + 1 + f.offset)
                            f._armed += 1
            self.sent[direction] += len(out)
        return bytes(out)

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        try:
            while chunk := src.recv(4096):
                data = self._corrupt(chunk, direction)
                if data:
                    dst.sendall(data)
        except OSError:
            pass
        finally:  # one side went away: let the other side see it too
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for s in self._sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in self._threads:
            t.join(5)

    def __enter__(self) -> FlipProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
