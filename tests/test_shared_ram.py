"""QEMU's shared-RAM memory path on real QEMU and real firmware.

On the mps2 boards the firmware's mailbox lies in the board's `[memory.mailbox]` region, QEMU's
machine RAM, which the backend backs with a file in its private directory and the host maps
(harness/target_memory.py `SharedRam`). What must hold: the host sees exactly what the guest
wrote and the other way round; a mailbox corrupted after the device's CRC is caught; an address
outside the region is a clear ConfigError; the file and the mapping are gone after stop, also
after a crash. (Outputs and counts equal to the other paths: tests/test_memory_transport.py.)
"""

from __future__ import annotations

import dataclasses
import os
import stat

import pytest
from _device_util import build, echo_reference, qemu_children

from harness.backends.qemu import QemuBackend
from harness.boards import load_board
from harness.device import open_device
from harness.errors import ConfigError, DeviceFault, ProtocolError
from harness.protocol import Cmd
from harness.target_memory import SharedRam
from harness.transport import Mailbox, MemoryTransport

X = bytes((i * 7 + 3) % 256 for i in range(490))


def test_guest_memory_and_the_host_file_are_the_same_bytes() -> None:
    fw = build("m4", "echo")
    board = load_board("m4")
    assert board.mailbox is not None
    with open_device(board, fw.elf, transport="memory") as dev:
        memory = dev.transport.memory
        assert isinstance(memory, SharedRam)
        path = dev.backend.shared_ram_file
        cmd = " ".join(dev.backend.command(3))
        assert f"memory-backend-file,id=hilram,size={board.mailbox.size},mem-path={path},share=on" in cmd
        assert os.path.dirname(path) == dev.backend._tmp  # the backend's private directory
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == board.mailbox.size
        mb = dev.transport.mailbox
        for address, size in ((mb.input_address, mb.input_bytes), (mb.output_address, mb.output_bytes)):
            assert board.mailbox.origin <= address and address + size <= board.mailbox.end
        out, _ = dev.invoke(X)
        assert out == echo_reference(X, 0)
        with open(path, "rb") as fh:  # the file itself, not the harness's mapping: the guest's stores
            fh.seek(mb.output_address - board.mailbox.origin)
            assert fh.read(len(out)) == out
            fh.seek(mb.input_address - board.mailbox.origin)
            assert fh.read(len(X)) == X
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))
    with pytest.raises(ValueError, match="closed"):
        memory.read(mb.input_address, 4)  # the mapping is closed too


def test_a_mailbox_corrupted_after_the_devices_crc_is_caught() -> None:
    """The host really changes the shared memory (not a wrapper around reads): after MEM_INVOKE
    computed the output's CRC, and between load and MEM_INVOKE for the input."""
    fw = build("m4", "echo")
    with open_device("m4", fw.elf, transport="memory") as dev:
        wire, mb = dev.transport, dev.transport.mailbox
        wire.load(X)
        _, _, n = wire.run()
        good = wire.memory.read(mb.output_address, n)
        wire.memory.write(mb.output_address + 7, bytes([good[7] ^ 0x80]))
        with pytest.raises(ProtocolError, match="the memory read is corrupt") as err:
            wire.read_output(n)
        assert err.value.details["kind"] == "mailbox"
        wire.memory.write(mb.output_address + 7, good[7:8])
        assert wire.read_output(n) == good == echo_reference(X, 0)  # restored: the same check passes
        wire.load(X)
        wire.memory.write(mb.input_address + 100, bytes([X[100] ^ 1]))
        with pytest.raises(ProtocolError, match="device consumed a mailbox with CRC-32"):
            wire.run()


def test_addresses_outside_the_shared_region_are_a_config_error() -> None:
    board = load_board("m4")
    assert board.mailbox is not None
    end = board.mailbox.end
    # Firmware linked without the mailbox region keeps its buffers in RAM: the shared path must
    # refuse them by address instead of writing somewhere else in the file.
    in_ram = dataclasses.replace(board, mailbox=None,
                                 settings=dataclasses.replace(board.settings, shared_mailbox=False))
    fw = build(in_ram, "echo")
    with open_device(board, fw.elf, transport="uart", backend=QemuBackend(board, fw.elf, memory="shared")) as dev:
        memory = dev.backend.memory_access()
        assert isinstance(memory, SharedRam)
        mailbox = Mailbox.parse(dev.session.request(Cmd.MAILBOX).payload)
        assert board.ram.origin <= mailbox.input_address < board.ram.end
        # the transport reads the doorbell first: it refuses to start
        with pytest.raises(ConfigError, match=rf"mailbox {mailbox.doorbell_address + 4:#010x}\+44 is outside the mailbox "
                           rf"region of board 'm4' {board.mailbox.origin:#010x}\+0x1000000"):
            MemoryTransport(dev.session, memory)
        with pytest.raises(ConfigError, match=rf"mailbox {mailbox.input_address:#010x}\+490 is outside"):
            memory.write(mailbox.input_address, X)
        with pytest.raises(ConfigError, match="is outside"):
            memory.read(end - 4, 8)  # runs off the end
        assert memory.read(end - 4, 4) == b"\0\0\0\0"  # the last word is inside


def test_file_is_gone_after_a_crash() -> None:
    fault = build("m4", "fault")
    paths = []
    with pytest.raises(DeviceFault), open_device("m4", fault.elf, transport="memory", timeout=10) as dev:
        paths.append(dev.backend.shared_ram_file)
        assert os.path.exists(paths[0])
        dev.invoke(b"\x00\x00\x00\x00")
    assert not os.path.exists(paths[0])
    assert qemu_children() == []


def test_the_shared_file_is_made_only_for_the_memory_transport() -> None:
    fw = build("m4", "echo")
    board = load_board("m4")
    uart = QemuBackend(board, fw.elf)  # memory=False: the UART path starts QEMU as before
    assert uart.memory is False and "memory-backend" not in " ".join(uart.command(3))
    assert QemuBackend(board, fw.elf, memory=True).memory == "shared"
    assert QemuBackend(board, fw.elf, memory="gdbstub").memory == "gdbstub"
    with pytest.raises(ConfigError, match="not one of shared, gdbstub, semihosting"):
        QemuBackend(board, fw.elf, memory="mmap")
