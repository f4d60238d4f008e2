"""How inputs reach the device and outputs come back: over the UART, or through target memory.

Why a memory transport: the UART moves ~20 KB/s into an emulated mps2 board (one byte per QEMU
main-loop turn), so loading a 490-byte vector takes ~22 ms and a 27 KB image over a second,
while the inference itself takes under a millisecond. Every backend can reach target RAM much
faster: QEMU through its gdbstub, Renode through its monitor, a real board through SWD (pyOCD).

The memory transport writes the input into the firmware's input buffer (the "mailbox", whose
address the MAILBOX command reports), rings the doorbell with a MEM_INVOKE frame on the serial
link and reads the output buffer back. The frames' integrity checks stay: MEM_INVOKE's reply
carries the CRC-32 of the mailbox as the device consumed it and of the output it wrote, and the
host checks both. MEM_INVOKE runs the same counted region as INVOKE (firmware/runtime/main.c),
so both transports give identical counts for the same firmware and inputs.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Protocol

from harness.errors import ConfigError, DeviceError, ProtocolError
from harness.protocol import Cmd, DeviceSession, Invocation

TRANSPORTS = ("auto", "uart", "memory")


class MemoryAccess(Protocol):
    """Target RAM as the backend reaches it (QEMU gdbstub, Renode monitor, pyOCD)."""

    def attach(self, session: DeviceSession) -> bytes:
        """Set-up over the serial link, once; returns the MEM_INVOKE payload (flags)."""
    def write(self, address: int, data: bytes) -> None: ...
    def read(self, address: int, length: int) -> bytes: ...
    def resume(self) -> None:
        """Let the target run (memory access may have stopped it); a no-op where it does not."""


@dataclass(frozen=True)
class Mailbox:
    """The MAILBOX reply: where the input and output buffers are, and the last MEM_INVOKE's CRCs."""

    input_address: int
    input_bytes: int
    output_address: int
    output_bytes: int
    input_crc: int
    output_crc: int

    @classmethod
    def parse(cls, payload: bytes) -> Mailbox:
        if len(payload) != 24:
            raise ProtocolError(f"MAILBOX reply has {len(payload)} bytes, expected 24", kind="mailbox")
        return cls(*struct.unpack("<6I", payload))


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
    """Inputs written into the mailbox, outputs read back, both through `memory`; only the
    MEM_INVOKE doorbell (11-12 bytes) and its reply (24 bytes) cross the serial link."""

    name = "memory"

    def __init__(self, session: DeviceSession, memory: MemoryAccess) -> None:
        self.session = session
        self.memory = memory
        memory.resume()  # a debugger that stopped the target on connect must not stall the UART
        self.mailbox = Mailbox.parse(session.request(Cmd.MAILBOX).payload)
        self.doorbell = memory.attach(session)
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
        status, ticks, out_len = self.session.run(timeout=timeout, cmd=Cmd.MEM_INVOKE, payload=self.doorbell)
        in_crc, self._output_crc = self._crcs()
        if in_crc != self._loaded_crc:
            raise ProtocolError(
                f"the device consumed a mailbox with CRC-32 {in_crc:08x}, but the host wrote {self._loaded_crc:08x} "
                f"at {self.mailbox.input_address:#010x}: the memory write did not land (wrong address, or the "
                "target overwrote it)", kind="mailbox", expected=self._loaded_crc, got=in_crc)
        return status, ticks, out_len

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
