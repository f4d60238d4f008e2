"""The memory transport on real QEMU, real firmware and the real TFLM reference.

What must hold: the same firmware and inputs give the same outputs and the same counts over
both transports (and every QEMU memory path: shared RAM, semihosting files, gdbstub packets);
the CRC-32 checks of the mailbox and of the output catch a write or read that went wrong; a lost
MEM_INVOKE reply is recovered without running the inference twice; the gdbstub never listens
on a network address. pyOCD's memory API code runs against QEMU's guest
RAM through a pyOCD MemoryInterface (no probe here); Renode runs only where it is installed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from _device_util import build, echo_reference
from flipproxy import Fault, FlipProxy

from harness.backends.qemu import QemuBackend
from harness.boards import load_board
from harness.device import open_device
from harness.errors import ConfigError, ProtocolError
from harness.gdb_remote import GdbRemote
from harness.transport import MemoryTransport, resolve_transport

VECTORS = [bytes((i * 7 + k * 13) % 256 for i in range(490)) for k in range(6)]


def _run(dev: Any, vectors: list[bytes]) -> tuple[list[bytes], list[int]]:
    outs, counts = [], []
    for x in vectors:
        out, count = dev.invoke(x)
        outs.append(out)
        counts.append(count.value)
    return outs, counts


def _qemu(board_name: str, elf: Path, memory: bool | str) -> QemuBackend:
    return QemuBackend(load_board(board_name), elf, memory=memory)


FILES = {"HIL_MAILBOX_FILES": 1}  # firmware with semihosting mailbox files (opt-in)
# path -> (QEMU memory access, firmware defines)
PATHS = {"uart": (False, None), "gdbstub": ("gdbstub", None), "uart-files-fw": (False, FILES),
         "semihosting": ("semihosting", FILES), "shared": ("shared", None)}
# The paths each board runs: m0plus (micro:bit) has no shared mailbox; m33 (its mailbox in the
# AN505's PSRAM, written from the Secure state) runs the three paths of the default firmware; m3
# and m7 (PSRAM at 0x21000000 and 0x60000000) the UART and shared RAM.
BOARD_PATHS = {"m4": tuple(PATHS), "m0plus": ("uart", "gdbstub", "uart-files-fw", "semihosting"),
               "m33": ("uart", "gdbstub", "shared"), "m3": ("uart", "shared"), "m7": ("uart", "shared")}


@pytest.mark.parametrize("board_name", list(BOARD_PATHS))
def test_both_transports_give_identical_outputs_and_counts(board_name: str) -> None:
    results = {}
    for path in BOARD_PATHS[board_name]:
        memory, defines = PATHS[path]
        fw = build(board_name, "echo", defines=defines)
        transport = "memory" if memory else "uart"
        with open_device(board_name, fw.elf, transport=transport, backend=_qemu(board_name, fw.elf, memory)) as dev:
            assert dev.transport.name == transport
            outs, counts = _run(dev, VECTORS[:3])
            dev.reset_state()  # a UART-only command between memory invokes: the target must be running
            outs2, counts2 = _run(dev, VECTORS[:3])
            stats = dev.stats()
        assert outs == [echo_reference(x, i) for i, x in enumerate(VECTORS[:3])]
        assert outs2 == outs  # reset_state took effect: the echo model is stateful
        assert stats.invokes == 6 and stats.bad_frames == 0
        results[path] = counts + counts2
    # The files firmware differs only outside the counted region: every path counts the same.
    assert all(counts == results["uart"] for counts in results.values()), results
    assert len(set(results["uart"])) == 1 and results["uart"][0] > 1000


def test_auto_picks_memory_on_qemu_and_memory_needs_a_backend_that_has_it() -> None:
    from harness.errors import DeviceError
    from harness.protocol import Cmd
    from harness.target_memory import SemihostingFiles, SharedRam

    fw = build("m4", "echo")
    with open_device("m4", fw.elf, transport="auto") as dev:
        assert dev.transport.name == "memory"
        assert isinstance(dev.transport.memory, SharedRam)  # QEMU's default where the board shares its mailbox
    m0 = build("m0plus", "echo")
    with open_device("m0plus", m0.elf, transport="auto") as dev:
        assert isinstance(dev.transport.memory, GdbRemote)  # no shared mailbox on the micro:bit: the gdbstub
    with pytest.raises(ConfigError, match="board 'm0plus' has no shared mailbox"):
        _qemu("m0plus", m0.elf, "shared")
    with pytest.raises(ConfigError, match="HIL_MAILBOX_FILES=1"), \
            open_device("m4", fw.elf, transport="memory", backend=_qemu("m4", fw.elf, "semihosting")):
        pass
    files_fw = build("m4", "echo", defines=FILES)
    with open_device("m4", files_fw.elf, transport="memory", backend=_qemu("m4", files_fw.elf, "semihosting")) as dev:
        assert isinstance(dev.transport.memory, SemihostingFiles)
        with pytest.raises(DeviceError, match="mailbox open"):
            dev.session.request(Cmd.MAILBOX_FILES, b"/nonexistent/in\0/nonexistent/out\0")
        with pytest.raises(DeviceError, match="payload too short"):  # not two NUL-terminated paths
            dev.session.request(Cmd.MAILBOX_FILES, b"/tmp/in")
    assert resolve_transport("auto", False, "board 'x'") == "uart"
    with pytest.raises(ConfigError, match=r"board 'x'.*no memory access"):
        resolve_transport("memory", False, "board 'x'")
    with pytest.raises(ConfigError, match="transport 'serial' is not one of auto, uart, memory"):
        resolve_transport("serial", True, "board 'x'")


class _Corrupting:
    """Real gdbstub access with one byte flipped on the way (a write that did not land right)."""

    def __init__(self, inner: Any, at: int, *, on_write: bool = False, on_read: bool = False, byte: int = 0) -> None:
        self.inner, self.at, self.on_write, self.on_read, self.byte = inner, at, on_write, on_read, byte
        self.polls = inner.polls

    def _flip(self, data: bytes) -> bytes:
        return data[:self.byte] + bytes([data[self.byte] ^ 1]) + data[self.byte + 1:]

    def write(self, address: int, data: bytes) -> None:
        self.inner.write(address, self._flip(data) if self.on_write and address == self.at else data)

    def read(self, address: int, length: int) -> bytes:
        data = self.inner.read(address, length)
        return self._flip(data) if self.on_read and address == self.at else data

    def resume(self) -> None:
        self.inner.resume()

    def attach(self, session: Any) -> bytes:
        return self.inner.attach(session)


@pytest.mark.parametrize("memory", ["semihosting", "gdbstub", "shared"])
@pytest.mark.parametrize("where", ["write", "read"])
def test_mailbox_crcs_catch_a_corrupt_write_or_read(where: str, memory: str) -> None:
    fw = build("m4", "echo", defines=FILES if memory == "semihosting" else None)
    with open_device("m4", fw.elf, transport="memory", backend=_qemu("m4", fw.elf, memory)) as dev:
        assert dev.invoke(VECTORS[0])[0] == echo_reference(VECTORS[0], 0)  # the uncorrupted path works
        mb = dev.transport.mailbox
        memory = _Corrupting(dev.backend.memory_access(), mb.input_address if where == "write" else mb.output_address,
                             on_write=where == "write", on_read=where == "read")
        dev.transport = MemoryTransport(dev.session, memory)
        with pytest.raises(ProtocolError, match="device consumed a mailbox with CRC-32" if where == "write"
                           else "the memory read is corrupt") as err:
            dev.invoke(VECTORS[1])
        assert err.value.details["kind"] == "mailbox"


def test_lost_mem_invoke_reply_is_recovered_without_a_second_inference() -> None:
    """m0plus: its gdbstub cannot poll, so MEM_INVOKE on the UART starts each inference."""
    fw = build("m0plus", "echo")
    with FlipProxy() as proxy, open_device("m0plus", fw.elf, transport="memory",
                                           connect_via=proxy.connect_via) as dev:
        proxy.add(Fault("up", "flip", after=b"\xa5\x5a\x89", offset=12))  # inside the first MEM_INVOKE reply
        outs, _ = _run(dev, VECTORS[:3])
        assert proxy.hits(), "the fault was never injected"
        assert dev.session.retried >= 1
        assert outs == [echo_reference(x, i) for i, x in enumerate(VECTORS[:3])]
        assert dev.stats().invokes == 3  # RESULT showed it ran; it was not invoked again


# --------------------------------------------------------------------------- the memory doorbell


def test_doorbell_in_shared_ram_sends_nothing_on_the_link_while_the_device_polls() -> None:
    """After the first ring (one wake byte: the device slept on the UART after BOOT), the
    device polls the doorbell: the next inferences put no byte on the serial link either way.
    (A spin of 10^8 polls, seconds, so a loaded machine cannot make the device stop polling.)"""
    fw = build("m4", "echo", defines={"HIL_DOORBELL_SPIN": 100_000_000})
    with open_device("m4", fw.elf, transport="memory") as dev:
        bell = dev.transport.memory_doorbell
        assert bell is not None and bell.address == dev.transport.mailbox.doorbell_address
        _run(dev, VECTORS[:1])
        sent = dev.session.link.transcript_tail(4096)
        outs, _ = _run(dev, VECTORS[1:4])
        assert dev.session.link.transcript_tail(4096) == sent  # nothing more went either way
        assert outs == [echo_reference(x, i + 1) for i, x in enumerate(VECTORS[1:4])]
        assert bell.woken == 1
        assert dev.stats().invokes == 4


def test_doorbell_wakes_a_device_that_stopped_polling() -> None:
    """Firmware that does not poll (HIL_DOORBELL_SPIN=0) sleeps on the UART after every
    inference: a ring then needs the wake byte (unless it lands just before the device's last
    look), and nothing is lost or run twice."""
    fw = build("m4", "echo", defines={"HIL_DOORBELL_SPIN": 0})
    with open_device("m4", fw.elf, transport="memory") as dev:
        outs, counts = _run(dev, VECTORS[:4])
        assert outs == [echo_reference(x, i) for i, x in enumerate(VECTORS[:4])]
        assert dev.transport.memory_doorbell.woken >= 2  # the first ring always, later ones nearly always
        assert dev.stats().invokes == 4
    with open_device("m4", fw.elf, transport="uart") as dev:
        assert _run(dev, VECTORS[:4])[1] == counts  # the same counted region


def test_doorbell_result_block_crc_catches_a_corrupt_read() -> None:
    fw = build("m4", "echo")
    with open_device("m4", fw.elf, transport="memory") as dev:
        dev.invoke(VECTORS[0])
        mb = dev.transport.mailbox
        # the host reads done, polling and the result block in one go: flip the block's first byte
        dev.transport = MemoryTransport(dev.session, _Corrupting(dev.backend.memory_access(),
                                                                 mb.doorbell_address + 4, on_read=True, byte=8))
        with pytest.raises(ProtocolError, match=r"doorbell result block \(ring \d+\) has CRC-32") as err:
            dev.invoke(VECTORS[1])
        assert err.value.details["kind"] == "mailbox"


def _listening_tcp(pid: int) -> list[str]:
    """Local addresses of the TCP sockets process `pid` listens on (IPv4 and IPv6)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            m = re.match(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                found.append(f"{table}:{cols[1]}")
    return found


def test_gdbstub_is_a_unix_socket_and_nothing_listens_beyond_loopback() -> None:
    fw = build("m4", "echo")
    with open_device("m4", fw.elf, transport="memory", backend=_qemu("m4", fw.elf, "gdbstub")) as dev:
        dev.invoke(VECTORS[0])  # the gdbstub is connected
        cmd = " ".join(dev.backend.command(3))
        assert "-gdb chardev:hilgdb" in cmd and "path=" in cmd and "tcp" not in cmd.split("-gdb")[0].split("hilgdb")[-1]
        listening = _listening_tcp(dev.backend.process.pid)
        assert listening and all(a.startswith("tcp:0100007F:") for a in listening), listening  # 127.0.0.1 only


# --------------------------------------------------------------------------- pyOCD


def _gdb_as_pyocd_target(gdb: Any, board: Any) -> Any:
    """A pyOCD MemoryInterface whose word and byte transfers go to QEMU's guest RAM, so pyOCD's
    own block8 code (unaligned head and tail as 8/16-bit transfers, aligned words as a block)
    runs against a real target. Its memory map is pyOCD's, built from the board file's RAM.
    Like SWD it leaves the core running: the gdbstub halts the VM per transfer, so resume it."""
    from pyocd.core.memory_interface import MemoryInterface
    from pyocd.core.memory_map import MemoryMap, RamRegion
    from pyocd.utility import conversion

    class Target(MemoryInterface):
        memory_map = MemoryMap(RamRegion(start=board.ram.origin, length=board.ram.size),
                               RamRegion(start=board.mailbox.origin, length=board.mailbox.size))

        def __init__(self) -> None:
            self.sizes: list[int] = []  # transfer sizes pyOCD chose

        def write_memory(self, addr: int, data: int, transfer_size: int = 32) -> None:
            self.sizes.append(transfer_size)
            gdb.write(addr, data.to_bytes(transfer_size // 8, "little"))
            gdb.resume()

        def read_memory(self, addr: int, transfer_size: int = 32, now: bool = True) -> Any:
            self.sizes.append(transfer_size)
            value = int.from_bytes(gdb.read(addr, transfer_size // 8), "little")
            gdb.resume()
            return value if now else (lambda: value)

        def write_memory_block32(self, addr: int, data: Any) -> None:
            self.sizes.append(32)
            gdb.write(addr, bytes(conversion.u32le_list_to_byte_list(list(data))))
            gdb.resume()

        def read_memory_block32(self, addr: int, size: int) -> Any:
            self.sizes.append(32)
            words = conversion.byte_list_to_u32le_list(list(gdb.read(addr, size * 4)))
            gdb.resume()
            return words

    return Target()


def test_pyocd_memory_api_drives_the_memory_transport() -> None:
    pytest.importorskip("pyocd", reason="pyOCD not installed")
    from harness.target_memory import PyocdMemory

    fw = build("m4", "echo")
    board = load_board("m4")
    with open_device(board, fw.elf, transport="memory", backend=_qemu("m4", fw.elf, "gdbstub")) as dev:
        target = _gdb_as_pyocd_target(dev.backend.memory_access(), board)
        dev.transport = MemoryTransport(dev.session, PyocdMemory(target))
        outs, _ = _run(dev, VECTORS[:2])
        assert outs == [echo_reference(x, i) for i, x in enumerate(VECTORS[:2])]
        assert 16 in target.sizes  # 490 bytes: pyOCD wrote the 2-byte tail as a halfword
        mem = PyocdMemory(target)
        base = dev.transport.mailbox.input_address
        mem.write(base + 1, b"\x11\x22\x33\x44\x55")  # unaligned head: 8-bit, then 16-bit transfers
        assert mem.read(base, 7)[1:6] == b"\x11\x22\x33\x44\x55"
        with pytest.raises(ConfigError, match="not inside one RAM region"):
            mem.write(board.flash.origin, b"\x00")  # flash: refused before any transfer


def test_pyocd_memory_refuses_addresses_outside_the_real_targets_ram() -> None:
    pytest.importorskip("pyocd", reason="pyOCD not installed")
    from pyocd.target import TARGET

    from harness.target_memory import PyocdMemory

    class Target:  # only the memory map is consulted before a transfer
        memory_map = TARGET["stm32l432kc"].MEMORY_MAP

    ram = load_board("nucleo-l432kc").ram
    mem = PyocdMemory(Target())
    with pytest.raises(ConfigError, match="mailbox 0x08000000"):
        mem.write(0x0800_0000, b"\x00")
    with pytest.raises(ConfigError, match="not inside one RAM region"):
        mem.read(ram.origin + ram.size - 4, 8)  # runs off the end of SRAM1


# --------------------------------------------------------------------------- Renode


def test_renode_memory_transport_matches_uart() -> None:
    from harness.backends.renode import RenodeBackend

    reason = RenodeBackend.missing_reason(load_board("m4-renode"))
    if reason:
        pytest.skip(f"renode: {reason}")
    fw = build("m4-renode", "echo")
    counts = {}
    for transport in ("uart", "memory"):
        with open_device("m4-renode", fw.elf, transport=transport, boot_timeout=60.0) as dev:
            assert dev.transport.name == transport
            outs, counts[transport] = _run(dev, VECTORS[:2])
        assert outs == [echo_reference(x, i) for i, x in enumerate(VECTORS[:2])]
    assert counts["memory"] == counts["uart"]


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(("board_name", "started_by"), [("m4", "doorbell"), ("m0plus", "MEM_INVOKE")])
def test_fault_and_hang_during_a_memory_invoke_are_classified(board_name: str, started_by: str) -> None:
    """Started by the doorbell in shared RAM (m4) or by MEM_INVOKE on the UART (m0plus, gdbstub):
    a fault's FAULT frame on the link ends the wait with its registers, a hang the timeout."""
    from _device_util import qemu_children

    from harness.errors import DeviceFault, DeviceTimeout

    fault = build(board_name, "fault")
    private_dirs = []  # the shared-RAM file lives there: gone after stop, whatever happened
    with pytest.raises(DeviceFault) as info, open_device(board_name, fault.elf, transport="memory",
                                                        timeout=10) as dev:
        private_dirs.append(dev.backend._tmp)
        dev.invoke(b"\x00\x00\x00\x00")
    assert info.value.details["function"] == "testmodel_fault_udf"
    assert info.value.details["last_command"].startswith(started_by)
    hang = build(board_name, "hang")
    with pytest.raises(DeviceTimeout, match=started_by), \
            open_device(board_name, hang.elf, transport="memory", timeout=1.0) as dev:
        private_dirs.append(dev.backend._tmp)
        dev.invoke(b"\x00\x00\x00\x00")
    assert qemu_children() == []
    assert private_dirs and not any(os.path.exists(d) for d in private_dirs)


def test_transport_option_on_the_cli() -> None:
    from harness.cli import build_parser

    parser = build_parser()
    for command in (["run", "m.tflite", "--board", "m4"], ["profile", "m.tflite", "--board", "m4"],
                    ["sweep", "--suite", "har", "--boards", "m4"]):
        assert parser.parse_args(command).transport == "auto"
        assert parser.parse_args([*command, "--transport", "uart"]).transport == "uart"
        with pytest.raises(SystemExit):
            parser.parse_args([*command, "--transport", "serial"])
