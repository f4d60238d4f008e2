"""Every way a device run breaks gives its own class, within its timeout, with no emulator
left behind: faults (registers, CFSR bits, function name), hangs, a killed emulator, a
missing emulator, the wrong firmware, and bytes corrupted on a real socket."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest
from _device_util import QEMU_BOARDS, build, echo_reference, qemu_children

from harness.backends.qemu import QemuBackend
from harness.boards import load_board
from harness.device import open_device
from harness.errors import BootError, DeviceFault, DeviceTimeout, EmulatorDied, ToolchainError
from harness.faults import _functions
from harness.link import open_link
from harness.protocol import FAULT_EXIT_CODE, DeviceSession

pytestmark = pytest.mark.slow


def _symbol_range(elf, name: str) -> tuple[int, int]:
    (found,) = [(s, e) for s, e, n in _functions(str(elf), os.stat(elf).st_mtime_ns) if n == name]
    return found


@pytest.mark.parametrize("board_name", QEMU_BOARDS)
def test_undefined_instruction_is_a_classified_fault(board_name: str) -> None:
    board = load_board(board_name)
    fw = build(board_name, "fault")
    with pytest.raises(DeviceFault) as info:
        with open_device(board, fw.elf, timeout=10) as dev:
            backend = dev.backend
            dev.invoke(b"\x00\x00\x00\x00")
    d = info.value.details
    assert d["function"] == "testmodel_fault_udf" and d["lr_function"] == "hil_model_invoke"
    start, end = _symbol_range(fw.elf, "testmodel_fault_udf")
    assert start <= d["registers"]["pc"] < end
    assert d["last_command"].startswith("INVOKE")
    if board.core in ("cortex-m0", "cortex-m0plus"):
        assert d["exception"] == "HardFault" and d["cfsr_bits"] == []  # ARMv6-M has no CFSR
    else:
        assert d["exception"] == "UsageFault" and d["cfsr_bits"] == ["UNDEFINSTR"]
        assert "CFSR=0x00010000 [UNDEFINSTR]" in str(info.value)
    assert backend.process.returncode == FAULT_EXIT_CODE
    assert qemu_children() == []


def test_bus_fault_reports_the_faulting_address() -> None:
    fw = build("m4", "fault")
    with pytest.raises(DeviceFault) as info:
        with open_device("m4", fw.elf, timeout=10) as dev:
            dev.invoke(b"\x01\x00\x00\x00")
    d = info.value.details
    assert d["exception"] == "BusFault" and d["function"] == "testmodel_fault_load"
    assert d["cfsr_bits"] == ["PRECISERR", "BFARVALID"]
    assert d["registers"]["bfar"] == 0xF0000000


@pytest.mark.parametrize("board_name", ["m4", "m0plus"])
def test_hang_times_out_naming_the_command_and_is_reaped(board_name: str) -> None:
    fw = build(board_name, "hang")
    with pytest.raises(DeviceTimeout) as info:
        with open_device(board_name, fw.elf, timeout=1.5) as dev:
            backend = dev.backend
            dev.invoke(b"\x00" * 4)
    assert "last command sent: INVOKE" in str(info.value)
    assert info.value.details["last_command"].startswith("INVOKE")
    assert backend.process.returncode is not None  # killed and waited for
    assert qemu_children() == []


def test_emulator_killed_mid_run_is_emulator_died() -> None:
    fw = build("m4", "echo")
    with pytest.raises(EmulatorDied) as info:
        with open_device("m4", fw.elf, timeout=10) as dev:
            dev.invoke(bytes(490))
            os.kill(dev.backend.process.pid, signal.SIGKILL)
            dev.invoke(bytes(490))
    assert not isinstance(info.value, DeviceFault)
    assert "SIGKILL" in str(info.value)
    assert qemu_children() == []


def test_backend_reaped_on_keyboard_interrupt() -> None:
    fw = build("m4", "hang")
    with pytest.raises(KeyboardInterrupt):
        with open_device("m4", fw.elf) as dev:
            backend = dev.backend
            raise KeyboardInterrupt
    assert backend.process.returncode is not None
    assert qemu_children() == []


def test_missing_emulator_is_a_toolchain_error(tmp_path, monkeypatch) -> None:
    fw = build("m4", "echo")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match="apt-get install -y --no-install-recommends qemu-system-arm"):
        with open_device("m4", fw.elf):
            pass


def test_firmware_for_another_board_is_a_boot_error() -> None:
    fw = build("m3", "echo")  # runs on an386 (same memory map) but announces board m3
    with pytest.raises(BootError, match="built for board 'm3' but runs on 'm4'"):
        with open_device("m4", fw.elf):
            pass
    assert qemu_children() == []


class FlipProxy(threading.Thread):
    """A real TCP proxy between the host and the emulator that flips one byte each way: the
    first byte `offset` bytes after `pattern` is seen in that direction."""

    def __init__(self, upstream: socket.socket, to_device: tuple[bytes, int], to_host: tuple[bytes, int]) -> None:
        super().__init__(daemon=True)
        self.upstream = upstream
        upstream.setblocking(True)  # pyserial leaves its socket non-blocking
        self.rules = {"down": to_device, "up": to_host}
        self.flipped = {"down": False, "up": False}
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def _pump(self, src: socket.socket, dst: socket.socket, way: str) -> None:
        stream = bytearray()
        target = None
        pattern, offset = self.rules[way]
        try:
            while chunk := src.recv(4096):
                chunk = bytearray(chunk)
                base = len(stream)
                stream += chunk
                if target is None and not self.flipped[way] and (i := stream.find(pattern)) >= 0:
                    target = i + offset
                if target is not None and base <= target < len(stream):
                    chunk[target - base] ^= 0x10
                    self.flipped[way], target = True, None
                dst.sendall(chunk)
        except OSError:
            pass

    def run(self) -> None:
        client, _ = self.listener.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        up = threading.Thread(target=self._pump, args=(self.upstream, client, "up"), daemon=True)
        up.start()
        self._pump(client, self.upstream, "down")
        up.join(5)


def test_bytes_flipped_on_the_wire_are_detected_and_retried() -> None:
    board = load_board("m4")
    fw = build("m4", "echo")
    with QemuBackend(board, fw.elf) as backend:
        upstream = backend.start()
        # Corrupt the first LOAD frame's payload on its way to the device, and the INVOKE
        # reply's payload on its way back (so the retry must ask RESULT, not invoke twice).
        proxy = FlipProxy(upstream.port._socket, to_device=(b"\xa5\x5a\x02", 20), to_host=(b"\xa5\x5a\x83", 9))
        proxy.start()
        with open_link(f"socket://127.0.0.1:{proxy.port}") as link:
            session = DeviceSession(link, elf=fw.elf, timeout=5)
            session.wait_boot()
            x = bytes(range(245)) * 2
            inv = session.invoke(x)
            assert proxy.flipped == {"down": True, "up": True}
            assert inv.output == echo_reference(x, 0) and inv.index == 1
            assert session.retried == 2
            stats = session.stats()
            assert (stats.bad_frames, stats.invokes) == (1, 1)
    assert qemu_children() == []


@pytest.mark.skipif("m33" not in QEMU_BOARDS, reason="no m33 board file")
def test_stack_overflow_on_v8m_faults_at_the_limit() -> None:
    """ARMv8-M: the firmware sets MSPLIM to the stack bottom, so recursing past it is a
    UsageFault STKOF reported from the recursing function (not silent corruption). Where the
    recursion meets the limit decides whether the core can still stack the exception frame; when
    it cannot, the report says PC and LR are unknown instead of naming stale memory. Stepping the
    stack a word at a time over one recursion frame (<= 18 words) gives both cases."""
    fw = build("m33", "workload")
    named, lost = 0, 0
    for words in range(19):
        with pytest.raises(DeviceFault) as info:
            with open_device("m33", fw.elf, timeout=10) as dev:
                dev.invoke((0).to_bytes(4, "little") + (20 | words << 16).to_bytes(4, "little"))  # fits
                dev.invoke((0).to_bytes(4, "little") + (400 | words << 16).to_bytes(4, "little"))
        d = info.value.details
        assert d["cfsr_bits"] == ["STKOF"], d
        if d["frame_lost"]:
            lost += 1
            assert d["function"] is None and "PC and LR are unknown" in str(info.value)
        else:
            named += 1
            assert d["function"] == "testmodel_recurse", d
    assert named and lost, (named, lost)


def test_unknown_backend_is_a_config_error() -> None:
    import dataclasses

    from harness.backends import make_backend
    from harness.errors import ConfigError

    board = dataclasses.replace(load_board("m4"), backend="jtag-over-carrier-pigeon")
    with pytest.raises(ConfigError, match="jtag-over-carrier-pigeon"):
        make_backend(board, "firmware.elf")


def test_silent_firmware_is_a_boot_error() -> None:
    """A board file whose UART does not match the machine: the firmware runs but nothing
    reaches the host. BOOT never comes, HELLO is not answered: BootError, not a hang."""
    import dataclasses

    board = load_board("m0plus")  # nRF51 UART at 0x40002000 ...
    wrong = dataclasses.replace(board, settings=dataclasses.replace(board.settings, machine="mps2-an386"))  # ... not there
    fw = build(board, "echo")
    with pytest.raises(BootError, match="no BOOT frame") as info:
        with open_device(wrong, fw.elf, boot_timeout=1.5):
            pass
    assert "wrong UART" in str(info.value)
    assert qemu_children() == []


def test_lockup_is_a_device_fault_with_qemu_register_dump() -> None:
    """An M4 image (stack at the top of 4 MB) on the micro:bit (16 KB RAM): the first exception
    cannot even be stacked, the core locks up, QEMU aborts; classified as a fault, not a crash
    of the emulator, and QEMU's register dump is kept."""
    import dataclasses

    board = load_board("m4")
    wrong = dataclasses.replace(board, settings=dataclasses.replace(board.settings, machine="microbit"))
    fw = build(board, "echo")
    with pytest.raises(DeviceFault, match="locked up") as info:
        with open_device(wrong, fw.elf, boot_timeout=5):
            pass
    assert "R15=" in info.value.details["stderr"]
    assert qemu_children() == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_emulator_dies_with_the_harness_process(sig: signal.Signals) -> None:
    """Ctrl-C (SIGINT: the context manager kills QEMU) and even SIGKILL of the harness
    (PR_SET_PDEATHSIG) leave no emulator behind."""
    import subprocess
    import sys
    from pathlib import Path

    fw = build("m4", "hang")
    script = (
        "import sys, time\n"
        "from harness.device import open_device\n"
        f"with open_device('m4', {str(fw.elf)!r}) as dev:\n"
        "    print(dev.backend.process.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    repo = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, "-c", script], cwd=repo, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(repo)})
    try:
        qemu_pid = int(child.stdout.readline())
        assert Path(f"/proc/{qemu_pid}").exists()
        child.send_signal(sig)
        child.wait(timeout=20)
        for _ in range(200):  # SIGKILL of the parent reaches QEMU asynchronously
            if not Path(f"/proc/{qemu_pid}").exists() or "Z" in Path(f"/proc/{qemu_pid}/stat").read_text().split()[2]:
                break
            time.sleep(0.05)
        stat = Path(f"/proc/{qemu_pid}/stat")
        assert not stat.exists() or stat.read_text().split()[2] == "Z", "qemu-system-arm outlived the harness"
    finally:
        child.kill()
        child.wait()
