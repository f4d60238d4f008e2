"""Guest memory through QEMU's gdbstub: the GDB remote serial protocol's `m`/`M` packets.

Why a small client of our own and not gdb: one vector needs a few packets, and starting gdb
costs 1.4 s (emulation.md §8); a raw client sends a vector's packets in one batch.

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
from harness.link import connect_unix

_INTERRUPT = b"\x03"


def _checksum(body: bytes) -> bytes:
    return b"%02x" % (sum(body) & 0xFF)


class GdbRemote:
    """A connected gdbstub: `read`/`write` guest memory, `halt`/`resume` the VM.

    Memory access halts the VM if it runs and leaves it halted; `resume()` lets it run again
    (the memory transport resumes before it rings the doorbell on the UART).
    """

    polls: tuple[float, float] | None = None  # every access stops the VM

    def __init__(self, sock: socket.socket, *, timeout: float = 5.0, where: str = "gdbstub") -> None:
        self.sock = sock
        self.timeout = timeout
        self.where = where
        self._buf = bytearray()
        self.running = False  # QEMU stops the VM when a client connects
        self._expect: list[tuple[str, str]] = []  # replies owed by pipelined batches, in order
        self.packet_data = 2048  # data bytes per m/M packet; raised by qSupported's PacketSize
        supported = self.request(b"qSupported:swbreak+;hwbreak+").decode("ascii", "replace")
        for item in supported.split(";"):
            if item.startswith("PacketSize="):
                size = int(item.split("=", 1)[1], 16)
                self.packet_data = max(16, (size - 32) // 2)  # hex doubles the bytes; room for "Maddr,len:"

    @classmethod
    def connect_unix(cls, path: str, *, timeout: float = 5.0, connect_timeout: float = 5.0) -> GdbRemote:
        sock = connect_unix(path, "gdbstub", connect_timeout)
        return cls(sock, timeout=timeout, where=f"gdbstub {path}")

    # -- packets ----------------------------------------------------------------------------

    def _recv_more(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProtocolError(f"{self.where}: no reply within {self.timeout:.1f} s", kind="gdb")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
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
        self._collect()
        frame = self._frame(body)
        deadline = time.monotonic() + self.timeout
        for _ in range(3):
            self.sock.sendall(frame)
            if self._wait_ack(deadline):
                return
        raise ProtocolError(f"{self.where}: packet {body[:20]!r} refused three times", kind="gdb")

    def request(self, body: bytes) -> bytes:
        self.send(body)
        return self._read_packet(time.monotonic() + self.timeout)

    def attach(self, session: object) -> bytes:
        """Nothing to set up on the device: MEM_INVOKE without flags."""
        return b""

    # -- target control: pipelined ----------------------------------------------------------
    #
    # QEMU handles the bytes of its socket strictly in order, so a whole batch (^C, the M
    # packets, `c`) goes out in one write and its replies are collected later, in the order
    # they must come: `_expect` lists them. The doorbell cannot overtake the batch: the guest
    # only runs again once QEMU has processed `c`, i.e. after every M before it. A write that
    # failed is still caught, when its reply is collected (and by the mailbox CRC).

    def _collect(self) -> None:
        """Take every reply still owed to earlier batches; raise on a wrong one."""
        deadline = time.monotonic() + self.timeout
        while self._expect:
            kind, what = self._expect.pop(0)
            if kind == "ack":
                if not self._wait_ack(deadline):
                    raise ProtocolError(f"{self.where}: {what} was refused (checksum)", kind="gdb")
                continue
            reply = self._read_packet(deadline)
            if kind == "stop":
                if reply[:1] in (b"W", b"X"):
                    raise EmulatorDied(f"{self.where}: the target exited ({reply.decode('ascii', 'replace')})")
                if reply[:1] not in (b"T", b"S"):
                    raise ProtocolError(f"{self.where}: expected a stop reply, got {reply[:40]!r}", kind="gdb")
            elif reply != b"OK":
                raise ProtocolError(f"{self.where}: {what} failed: {reply[:40].decode('ascii', 'replace')}",
                                    kind="gdb")

    def _halt_bytes(self) -> bytes:
        """^C if the VM runs (its stop reply is then owed), else nothing."""
        if not self.running:
            return b""
        self.running = False
        self._expect.append(("stop", "^C"))
        return _INTERRUPT

    @staticmethod
    def _frame(body: bytes) -> bytes:
        return b"$" + body + b"#" + _checksum(body)

    def halt(self) -> None:
        """Stop the VM (if it runs) and wait until it has stopped."""
        self._send_raw(self._halt_bytes())
        self._collect()

    def resume(self) -> None:
        """Let the VM run again (`c` has no reply until the next stop; its ack is collected later)."""
        if self.running:
            return
        self._expect.append(("ack", "c"))
        self._send_raw(self._frame(b"c"))
        self.running = True

    def _send_raw(self, data: bytes) -> None:
        if data:
            try:
                self.sock.sendall(data)
            except OSError as exc:
                raise EmulatorDied(f"{self.where}: connection lost ({exc})") from exc

    def write(self, address: int, data: bytes) -> None:
        """Write guest memory, halting the VM first; replies are collected by the next call."""
        batch = [self._halt_bytes()]
        step = self.packet_data
        for off in range(0, len(data), step):
            part = data[off : off + step]
            what = f"writing {len(part)} bytes at {address + off:#010x}"
            self._expect += [("ack", what), ("OK", what)]
            batch.append(self._frame(b"M%x,%x:" % (address + off, len(part)) + part.hex().encode()))
        self._send_raw(b"".join(batch))

    def read(self, address: int, length: int) -> bytes:
        """Read guest memory (halts the VM first and leaves it halted)."""
        batch = [self._halt_bytes()]
        step = self.packet_data
        chunks = [(address + off, min(step, length - off)) for off in range(0, length, step)]
        batch += [self._frame(b"m%x,%x" % chunk) for chunk in chunks]
        self._send_raw(b"".join(batch))
        self._collect()
        out = bytearray()
        deadline = time.monotonic() + self.timeout
        for addr, n in chunks:
            if not self._wait_ack(deadline):
                raise ProtocolError(f"{self.where}: reading at {addr:#010x} was refused (checksum)", kind="gdb")
            reply = self._read_packet(deadline)
            if len(reply) != 2 * n:
                raise ProtocolError(f"{self.where}: reading {n} bytes at {addr:#010x} failed: "
                                    f"{reply[:40].decode('ascii', 'replace')}", kind="gdb")
            out += bytes.fromhex(reply.decode("ascii"))
        return bytes(out)

    def close(self) -> None:
        """Detach and let the VM run on (the emulator is stopped by its backend)."""
        try:
            if not self.running:
                self.sock.settimeout(0.5)
                self.sock.sendall(self._frame(b"D"))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
