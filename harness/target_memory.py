"""Target memory for the memory transport, one class per way in; each satisfies
`harness.transport.MemoryAccess`.

QEMU: `SharedRam` (guest RAM that is also a host file, mapped here: the default on boards with
a shared mailbox), `SemihostingFiles` (opt-in firmware), or the gdbstub client
(harness/gdb_remote.py). Renode: its monitor connection. Real boards: pyOCD's target object.
"""

from __future__ import annotations

import mmap
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError, DeviceError, ProtocolError

if TYPE_CHECKING:  # harness.boards imports the backends, which import this module
    from harness.boards import MemoryRegion

_HEX_BYTE = re.compile(r"0x([0-9A-Fa-f]{1,2})\b")


class RenodeMonitorMemory:
    """`sysbus LoadBinary` (a file: one short command line for any size) to write,
    `sysbus ReadBytes` to read; Renode serves both while the emulation runs."""

    polls: tuple[float, float] | None = None  # a monitor command per access: 4-200 ms

    def __init__(self, command: Callable[[str], str], scratch_dir: str | None = None) -> None:
        self.command = command
        self._dir = tempfile.mkdtemp(prefix="hil-renode-mem-", dir=scratch_dir)
        self._file = os.path.join(self._dir, "mailbox.bin")

    def attach(self, session: object) -> bytes:
        """Nothing to set up on the device: MEM_INVOKE without flags."""
        return b""

    def write(self, address: int, data: bytes) -> None:
        with open(self._file, "wb") as fh:
            fh.write(data)
        self.command(f"sysbus LoadBinary @{self._file} {address:#x}")

    def read(self, address: int, length: int) -> bytes:
        reply = self.command(f"sysbus ReadBytes {address:#x} {length}")
        values = [int(m, 16) for m in _HEX_BYTE.findall(reply)]
        if len(values) != length:
            raise ProtocolError(f"renode `sysbus ReadBytes {address:#x} {length}` gave {len(values)} bytes, "
                                f"expected {length}: {reply[:200]!r}", kind="memory")
        return bytes(values)

    def resume(self) -> None:
        """Monitor access does not pause the emulation."""

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


class PyocdMemory:
    """pyOCD's memory API (`write_memory_block8` / `read_memory_block8`) on a connected target.

    SWD reads and writes RAM while the core runs, so nothing is halted. The range must lie in
    a RAM region of pyOCD's memory map for the target: a wrong mailbox address is a clear
    error, not a write into flash or a peripheral.
    """

    polls: tuple[float, float] | None = None  # the doorbell stays a MEM_INVOKE frame: polling over SWD is unmeasured here

    def __init__(self, target: Any) -> None:
        self.target = target

    def _check_ram(self, address: int, length: int) -> None:
        memory_map = getattr(self.target, "memory_map", None)
        if memory_map is None:
            return
        region = memory_map.get_region_for_address(address)
        if region is None or not region.is_ram or address + length - 1 > region.end:
            raise ConfigError(f"mailbox {address:#010x}+{length} is not inside one RAM region of the target's "
                              f"memory map ({region or 'no region'}): firmware and board file disagree",
                              field="mailbox")

    def attach(self, session: object) -> bytes:
        """Nothing to set up on the device: MEM_INVOKE without flags."""
        return b""

    def write(self, address: int, data: bytes) -> None:
        self._check_ram(address, len(data))
        self.target.write_memory_block8(address, data)

    def read(self, address: int, length: int) -> bytes:
        self._check_ram(address, length)
        return bytes(self.target.read_memory_block8(address, length))

    def resume(self) -> None:
        """SWD memory access does not halt the core."""


class SemihostingFiles:
    """QEMU: the firmware itself moves the mailbox between two host files and its RAM, with
    semihosting SYS_READ before and SYS_WRITE after the inference (MEM_INVOKE with the
    MEM_FILES flag). One trap each way, the VM never stops and no debugger round trip is
    needed: measured faster than the gdbstub's m/M packets (README, link table), but the
    firmware needs -DHIL_MAILBOX_FILES=1 (~400 B of flash), so it is opt-in.

    The files live in the backend's private directory; `write` and `read` are a pwrite and a
    pread (the address is the device's mailbox, which the firmware fills from the file).
    """

    polls: tuple[float, float] | None = None  # MEM_INVOKE carries the MEM_FILES flag

    MEM_FILES = 0x01  # HIL_MEM_FILES in firmware/include/hil_protocol.h

    def __init__(self, directory: str) -> None:
        self.input_path = os.path.join(directory, "mailbox.in")
        self.output_path = os.path.join(directory, "mailbox.out")
        self._in = os.open(self.input_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self._out = os.open(self.output_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)

    def attach(self, session: Any) -> bytes:
        """Have the firmware open both files (MAILBOX_FILES); MEM_INVOKE then carries MEM_FILES."""
        from harness.protocol import Cmd

        paths = self.input_path.encode() + b"\0" + self.output_path.encode() + b"\0"
        try:
            session.request(Cmd.MAILBOX_FILES, paths)
        except DeviceError as exc:
            if exc.details.get("code") == 4:  # UNKNOWN_CMD
                raise ConfigError("the firmware has no MAILBOX_FILES: build it with -DHIL_MAILBOX_FILES=1 "
                                  "(defines={'HIL_MAILBOX_FILES': 1}) for semihosting files, or use the "
                                  "gdbstub (QemuBackend memory='gdbstub')", field="memory") from exc
            raise
        return bytes((self.MEM_FILES,))

    def write(self, address: int, data: bytes) -> None:
        os.pwrite(self._in, data, 0)

    def read(self, address: int, length: int) -> bytes:
        return os.pread(self._out, length, 0)

    def resume(self) -> None:
        """The VM never stops."""

    def close(self) -> None:
        for fd in (self._in, self._out):
            try:
                os.close(fd)
            except OSError:
                pass


class SharedRam:
    """QEMU: the board's mailbox region is QEMU's machine RAM, backed by a file
    (`-object memory-backend-file,share=on`) that the host maps too. A write or read is a copy
    at memory speed: no packet, no trap, the VM never stops. The doorbell in the same memory
    orders the two sides (the host writes before it rings, reads after the device publishes
    `done`), and the result block's CRC-32s still check both copies.
    """

    polls: tuple[float, float] | None = (0.0003, 0.00005)  # a read is a memcpy: busy 0.3 ms (a short inference), then 50 us naps

    def __init__(self, path: str, region: MemoryRegion, where: str = "shared RAM") -> None:
        self.region = region
        self.where = where
        fd = os.open(path, os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, region.size)
        finally:
            os.close(fd)  # the mapping keeps the file open

    def _offset(self, address: int, length: int) -> int:
        r = self.region
        if address < r.origin or address + length > r.end:
            raise ConfigError(
                f"mailbox {address:#010x}+{length} is outside the {self.where} {r.origin:#010x}+{r.size:#x} "
                "(the board file's [memory.mailbox]): the firmware was not linked for this board file; rebuild it",
                field="mailbox", address=address, length=length)
        return address - r.origin

    def attach(self, session: object) -> bytes:
        """Nothing to set up on the device: MEM_INVOKE without flags."""
        return b""

    def write(self, address: int, data: bytes) -> None:
        offset = self._offset(address, len(data))
        self._map[offset:offset + len(data)] = data

    def read(self, address: int, length: int) -> bytes:
        offset = self._offset(address, length)
        return self._map[offset:offset + length]

    def resume(self) -> None:
        """Shared memory never stops the VM."""

    def close(self) -> None:
        self._map.close()
