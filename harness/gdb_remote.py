"""Guest memory through QEMU's gdbstub: the GDB remote serial protocol's `m`/`M` packets.

Why a small client of our own and not gdb: one vector needs a few packets, and starting gdb
costs 1.4 s (emulation.md §8); a raw client needs ~30 µs per packet on a unix socket.

QEMU's stub (7.2) behaves as follows, and the client follows it:
* connecting stops the VM; while the VM runs, any byte received stops it and is dropped, so
  a running target is stopped with a bare ^C (0x03) and answers with a stop reply (`T02…`);
* memory packets are served only while stopped; `c` resumes and has no reply until the next stop;
* no `QStartNoAckMode`: every packet is acknowledged with `+`.
"""

from __future__ import annotations

import socket
import time

from harness.errors import EmulatorDied, ProtocolError

_INTERRUPT = b"\x03"


def _checksum(body: bytes) -> bytes:
    return b"%02x" % (sum(body) & 0xFF)


class GdbRemote:
    """A connected gdbstub: `read`/`write` guest memory, `halt`/`resume` the VM.

    Memory access halts the VM if it runs and leaves it halted; `resume()` lets it run again
    (the memory transport resumes before it rings the doorbell on the UART).
    """

    def __init__(self, sock: socket.socket, *, timeout: float = 5.0, where: str = "gdbstub") -> None:
        self.sock = sock
        self.timeout = timeout
        self.where = where
        self._buf = bytearray()
        self.running = False  # QEMU stops the VM when a client connects
        self.packet_data = 2048  # data bytes per m/M packet; raised by qSupported's PacketSize
        supported = self.request(b"qSupported:swbreak+;hwbreak+").decode("ascii", "replace")
        for item in supported.split(";"):
            if item.startswith("PacketSize="):
                size = int(item.split("=", 1)[1], 16)
                self.packet_data = max(16, (size - 32) // 2)  # hex doubles the bytes; room for "Maddr,len:"

    @classmethod
    def connect_unix(cls, path: str, *, timeout: float = 5.0, connect_timeout: float = 5.0) -> "GdbRemote":
        deadline = time.monotonic() + connect_timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except OSError as exc:
                sock.close()
                if time.monotonic() >= deadline:
                    raise EmulatorDied(f"gdbstub at {path} did not accept a connection: {exc}") from exc
                time.sleep(0.01)
        return cls(sock, timeout=timeout, where=f"gdbstub {path}")

    # -- packets ----------------------------------------------------------------------------

    def _recv_more(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProtocolError(f"{self.where}: no reply within {self.timeout:.1f} s", kind="gdb")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise ProtocolError(f"{self.where}: no reply within {self.timeout:.1f} s", kind="gdb") from None
        except OSError as exc:
            raise EmulatorDied(f"{self.where}: connection lost ({exc})") from exc
        if not chunk:
            raise EmulatorDied(f"{self.where}: QEMU closed the gdbstub connection")
        self._buf += chunk

    def _read_packet(self, deadline: float) -> bytes:
        """The next `$body#cs` packet (acked), skipping acks and noise before it."""
        while True:
            start = self._buf.find(b"$")
            end = self._buf.find(b"#", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self._buf) >= end + 3:
                body = bytes(self._buf[start + 1 : end])
                cs = bytes(self._buf[end + 1 : end + 3])
                del self._buf[: end + 3]
                if _checksum(body) != cs.lower():
                    self.sock.sendall(b"-")
                    continue
                self.sock.sendall(b"+")
                return body
            self._recv_more(deadline)

    def _wait_ack(self, deadline: float) -> bool:
        """True on `+`, False on `-` (resend). A stop reply that arrives first (QEMU sends
        one when a client connects) is taken in passing: it only says the VM is stopped."""
        while True:
            for i, b in enumerate(self._buf):
                if b == 0x2B:  # '+'
                    del self._buf[: i + 1]
                    return True
                if b == 0x2D:  # '-'
                    del self._buf[: i + 1]
                    return False
                if b == 0x24:  # '$'
                    del self._buf[:i]
                    if self._buf.find(b"#") < 0 or len(self._buf) < self._buf.find(b"#") + 3:
                        break  # incomplete packet: read more
                    body = self._read_packet(deadline)
                    if body[:1] not in (b"T", b"S"):
                        raise ProtocolError(f"{self.where}: unexpected packet {body[:40]!r} before an ack",
                                            kind="gdb")
                    self.running = False
                    break
            else:
                self._buf.clear()
                self._recv_more(deadline)
                continue
            if not self._buf or self._buf[:1] == b"$":
                self._recv_more(deadline)

    def send(self, body: bytes) -> None:
        """Send one packet and wait for its ack (resending on `-`)."""
        frame = b"$" + body + b"#" + _checksum(body)
        deadline = time.monotonic() + self.timeout
        for _ in range(3):
            self.sock.sendall(frame)
            if self._wait_ack(deadline):
                return
        raise ProtocolError(f"{self.where}: packet {body[:20]!r} refused three times", kind="gdb")

    def request(self, body: bytes) -> bytes:
        self.send(body)
        return self._read_packet(time.monotonic() + self.timeout)

    # -- target control ---------------------------------------------------------------------

    def halt(self) -> None:
        """Stop the VM (if it runs) and wait for the stop reply."""
        if not self.running:
            return
        self.sock.sendall(_INTERRUPT)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_packet(deadline)
            if reply[:1] in (b"T", b"S"):
                break
            if reply[:1] in (b"W", b"X"):
                raise EmulatorDied(f"{self.where}: the target exited ({reply.decode('ascii', 'replace')})")
        self.running = False

    def resume(self) -> None:
        """Let the VM run again (no reply until it next stops)."""
        if self.running:
            return
        self.send(b"c")
        self.running = True

    def write(self, address: int, data: bytes) -> None:
        """Write guest memory (halts the VM first)."""
        self.halt()
        step = self.packet_data
        for off in range(0, len(data), step):
            part = data[off : off + step]
            reply = self.request(b"M%x,%x:" % (address + off, len(part)) + part.hex().encode())
            if reply != b"OK":
                raise ProtocolError(f"{self.where}: writing {len(part)} bytes at {address + off:#010x} failed: "
                                    f"{reply.decode('ascii', 'replace')}", kind="gdb")

    def read(self, address: int, length: int) -> bytes:
        """Read guest memory (halts the VM first)."""
        self.halt()
        out = bytearray()
        step = self.packet_data
        while len(out) < length:
            n = min(step, length - len(out))
            reply = self.request(b"m%x,%x" % (address + len(out), n))
            if reply.startswith(b"E") and len(reply) == 3 or len(reply) != 2 * n:
                raise ProtocolError(f"{self.where}: reading {n} bytes at {address + len(out):#010x} failed: "
                                    f"{reply[:40].decode('ascii', 'replace')}", kind="gdb")
            out += bytes.fromhex(reply.decode("ascii"))
        return bytes(out)

    def close(self) -> None:
        """Detach and let the VM run on (the emulator is stopped by its backend)."""
        try:
            if not self.running:
                self.sock.settimeout(0.5)
                self.sock.sendall(b"$D#44")
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
