"""How inputs reach the device and outputs come back: over the UART, or through target memory.

Why a memory transport: the UART moves ~20 KB/s into an emulated mps2 board (one byte per QEMU
main-loop turn), so loading a 490-byte vector takes ~22 ms and a 27 KB image over a second,
while the inference itself takes under a millisecond. Every backend can reach target RAM much
faster: QEMU through its gdbstub, Renode through its monitor, a real board through SWD (pyOCD).

The memory transport writes the input into the firmware's input buffer (the "mailbox", whose
address the MAILBOX command reports), rings the doorbell and reads the output buffer back. The
doorbell is a word in the mailbox where the memory access can poll while the core runs (QEMU
shared RAM, Renode's memory server): no byte crosses the serial link while the device polls,
and one wake byte when it sleeps on the UART. Elsewhere (QEMU's gdbstub, semihosting files,
pyOCD) it is a MEM_INVOKE frame on the serial link. The integrity checks stay: the reply (the
doorbell's result block or MEM_INVOKE's frame) carries the CRC-32 of the mailbox as the device
consumed it and of the output it wrote, and the host checks both. Both run the same counted
region as INVOKE (firmware/runtime/main.c), so every transport gives identical counts for the
same firmware and inputs.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass
from typing import Protocol

from harness.errors import ConfigError, DeviceError, DeviceTimeout, ProtocolError
from harness.protocol import Cmd, DeviceSession, Invocation

TRANSPORTS = ("auto", "uart", "memory")


class MemoryAccess(Protocol):
    """Target RAM as the backend reaches it (QEMU gdbstub, Renode monitor, pyOCD).

    `polls` is set where reading and writing never stop the core and a read costs well under
    a millisecond: the doorbell is then rung and answered in memory, the host polling it busily
    for `polls[0]` s and then every `polls[1]` s. None: MEM_INVOKE on the serial link."""

    polls: tuple[float, float] | None

    def attach(self, session: DeviceSession) -> bytes:
        """Set-up over the serial link, once; returns the MEM_INVOKE payload (flags)."""
    def write(self, address: int, data: bytes) -> None: ...
    def read(self, address: int, length: int) -> bytes: ...
    def resume(self) -> None:
        """Let the target run (memory access may have stopped it); a no-op where it does not."""


@dataclass(frozen=True)
class Mailbox:
    """The MAILBOX reply: where the input and output buffers are, the last MEM_INVOKE's CRCs
    and the doorbell (0 from firmware older than the memory doorbell)."""

    input_address: int
    input_bytes: int
    output_address: int
    output_bytes: int
    input_crc: int
    output_crc: int
    doorbell_address: int = 0

    @classmethod
    def parse(cls, payload: bytes) -> Mailbox:
        if len(payload) not in (24, 28):
            raise ProtocolError(f"MAILBOX reply has {len(payload)} bytes, expected 24 or 28", kind="mailbox")
        return cls(*struct.unpack(f"<{len(payload) // 4}I", payload))


# struct hil_doorbell in firmware/runtime/main.c after `ring`: done, polling, then the result block
# (status, ticks lo/hi, out bytes, invokes, flags, input CRC, output CRC, CRC of the block)
_DOORBELL = struct.Struct("<11I")
WAKE_BYTE = b"\x00"  # outside any frame: the device's receiver skips it and looks at the doorbell


class Doorbell:
    """The memory doorbell: ring by writing a sequence number, wait for the device to publish
    it in `done` after its result block. While the device polls (after a doorbell, until its
    spin runs out) nothing crosses the serial link; when it sleeps on the UART (`polling` 0)
    one wake byte rouses it. The device's FAULT or BOOT frames on the link still end the wait."""

    def __init__(self, session: DeviceSession, memory: MemoryAccess, address: int) -> None:
        self.session, self.memory, self.address = session, memory, address
        assert memory.polls is not None
        self.spin, self.nap = memory.polls
        self.seq = self._state()[0]
        self.woken = 0  # wake bytes sent (how often the device had stopped polling)

    def _state(self) -> tuple[int, ...]:
        """done, polling and the result block, in one read (one round trip on Renode)."""
        return _DOORBELL.unpack(self.memory.read(self.address + 4, _DOORBELL.size))

    def ring(self, timeout: float) -> tuple[int, int, int, int, int, int, int]:
        """One inference: (status, ticks, output bytes, invokes, count flags, input CRC, output CRC)."""
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        self.session.last_command = f"doorbell (ring {self.seq})"
        self.memory.write(self.address, struct.pack("<I", self.seq))
        deadline = time.monotonic() + timeout
        woke, polls, spin_until = False, 0, time.monotonic() + self.spin
        while True:
            done, polling, *words = self._state()
            if done == self.seq:
                break
            if not woke and not polling:
                self.session.link.write(WAKE_BYTE)
                woke, self.woken = True, self.woken + 1
            polls += 1
            if polls % 32 == 0:
                self.session.check_unsolicited()
            now = time.monotonic()
            if now > spin_until:
                time.sleep(self.nap)  # leave the cores to the emulator
            if now > deadline:
                words = self._timed_out(timeout)
                break
        crc = zlib.crc32(struct.pack("<8I", *words[:8]), zlib.crc32(struct.pack("<I", self.seq)))
        if crc != words[8]:
            raise ProtocolError(f"doorbell result block (ring {self.seq}) has CRC-32 {words[8]:08x}, computed "
                                f"{crc:08x}: the memory read is corrupt", kind="mailbox")
        status, lo, hi, out_len, invokes, flags, in_crc, out_crc = words[:8]
        return status, lo | hi << 32, out_len, invokes, flags, in_crc, out_crc

    def _timed_out(self, timeout: float) -> list[int]:
        """No answer in time: the zero bytes of the liveness probe also wake a sleeping device,
        so a device that answers the probe has usually served the ring by then (its result
        block is returned)."""
        self.session.check_unsolicited()
        alive = self.session._alive_after_timeout()
        done, _polling, *words = self._state()
        if done == self.seq:
            return words
        if alive:
            raise ProtocolError(f"the device answers on the serial link but did not serve doorbell ring {self.seq} "
                                f"at {self.address:#010x} within {timeout:.1f} s", kind="doorbell")
        raise DeviceTimeout(f"no answer to doorbell ring {self.seq} within {timeout:.1f} s and no answer on the "
                            "serial link: the firmware hung or crashed silently.\nLink transcript (tail):\n"
                            f"{self.session.link.transcript_tail()}", last_command=self.session.last_command)


def check_transport(name: str) -> str:
    if name not in TRANSPORTS:
        raise ConfigError(f"transport {name!r} is not one of {', '.join(TRANSPORTS)}", field="transport", value=name)
    return name


def resolve_transport(requested: str, has_memory_access: bool, where: str) -> str:
    """'uart' or 'memory' for a backend: auto picks memory where the backend has it."""
    check_transport(requested)
    if requested == "memory" and not has_memory_access:
        raise ConfigError(f"{where} has no memory access (its backend cannot read or write target RAM); "
                          "use --transport uart or auto", field="transport", value=requested)
    if requested == "auto":
        return "memory" if has_memory_access else "uart"
    return requested


class UartTransport:
    """Inputs in LOAD frames, outputs in READ frames: what a board without a debugger gets."""

    name = "uart"

    def __init__(self, session: DeviceSession) -> None:
        self.session = session

    def load(self, data: bytes) -> None:
        self.session.load(data)

    def run(self, *, timeout: float | None = None) -> tuple[int, int, int]:
        return self.session.run(timeout=timeout)

    def read_output(self, length: int) -> bytes:
        return self.session.read_output(length)

    def before_command(self) -> None:
        """Nothing to do: the UART path never stops the target."""

    def invoke(self, data: bytes, *, timeout: float | None = None) -> Invocation:
        return self.session.invoke(data, timeout=timeout)


class MemoryTransport:
    """Inputs written into the mailbox, outputs read back, both through `memory`; the doorbell
    in memory where `memory.polls`, else MEM_INVOKE (11-12 bytes, reply 24) on the serial link."""

    name = "memory"

    def __init__(self, session: DeviceSession, memory: MemoryAccess) -> None:
        self.session = session
        self.memory = memory
        memory.resume()  # a debugger that stopped the target on connect must not stall the UART
        self.mailbox = Mailbox.parse(session.request(Cmd.MAILBOX).payload)
        self.doorbell = memory.attach(session)
        self.memory_doorbell = (Doorbell(session, memory, self.mailbox.doorbell_address)
                                if memory.polls is not None and self.mailbox.doorbell_address and not self.doorbell else None)
        self._loaded_crc: int | None = None
        self._output_crc: int | None = None

    def load(self, data: bytes) -> None:
        mb = self.mailbox
        if len(data) != mb.input_bytes:
            raise DeviceError(f"input is {len(data)} bytes, the device's mailbox holds {mb.input_bytes}")
        self.memory.write(mb.input_address, data)
        self._loaded_crc = zlib.crc32(data)

    def _crcs(self) -> tuple[int, int]:
        """(input CRC, output CRC) of the last MEM_INVOKE, from its reply or, if that was lost
        and recovered through RESULT, from MAILBOX."""
        reply = self.session.last_run_reply
        if reply is not None and len(reply) >= 8:
            in_crc, out_crc = struct.unpack_from("<II", reply, len(reply) - 8)
            return in_crc, out_crc
        mb = Mailbox.parse(self.session.request(Cmd.MAILBOX).payload)
        return mb.input_crc, mb.output_crc

    def run(self, *, timeout: float | None = None) -> tuple[int, int, int]:
        if self._loaded_crc is None:
            raise DeviceError("MEM_INVOKE without an input in the mailbox: call load() first")
        self.memory.resume()
        if self.memory_doorbell is not None:
            status, ticks, out_len, in_crc, self._output_crc = self._ring(timeout)
        else:
            status, ticks, out_len = self.session.run(timeout=timeout, cmd=Cmd.MEM_INVOKE, payload=self.doorbell)
            in_crc, self._output_crc = self._crcs()
        if in_crc != self._loaded_crc:
            raise ProtocolError(
                f"the device consumed a mailbox with CRC-32 {in_crc:08x}, but the host wrote {self._loaded_crc:08x} "
                f"at {self.mailbox.input_address:#010x}: the memory write did not land (wrong address, or the "
                "target overwrote it)", kind="mailbox", expected=self._loaded_crc, got=in_crc)
        return status, ticks, out_len

    def _ring(self, timeout: float | None) -> tuple[int, int, int, int, int]:
        """The doorbell in memory, booked like DeviceSession.run (invoke index, flags, status)."""
        assert self.memory_doorbell is not None
        status, ticks, out_len, invokes, flags, in_crc, out_crc = self.memory_doorbell.ring(
            self.session.timeout if timeout is None else timeout)
        self.session.record_run(status, invokes, flags)
        return status, ticks, out_len, in_crc, out_crc

    def read_output(self, length: int) -> bytes:
        mb = self.mailbox
        if length > mb.output_bytes:
            raise ProtocolError(f"output length {length} exceeds the mailbox's {mb.output_bytes} bytes", kind="mailbox")
        for _ in range(2):  # reading is idempotent: one re-read before calling it corrupt
            out = self.memory.read(mb.output_address, length)
            if zlib.crc32(out) == self._output_crc:
                return out
        raise ProtocolError(
            f"output read from {mb.output_address:#010x} has CRC-32 {zlib.crc32(out):08x}, the device wrote "
            f"{self._output_crc or 0:08x}: the memory read is corrupt", kind="mailbox")

    def before_command(self) -> None:
        """Let the target run before a UART-only command (STATS, RESET_STATE, PROFILE)."""
        self.memory.resume()

    def invoke(self, data: bytes, *, timeout: float | None = None) -> Invocation:
        self.load(data)
        status, ticks, out_len = self.run(timeout=timeout)
        return Invocation(output=self.read_output(out_len), ticks=ticks, status=status,
                          index=self.session._invokes or 0, count_flags=self.session.count_flags)


Transport = UartTransport | MemoryTransport
