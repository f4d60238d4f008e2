"""QEMU backend: runs a firmware ELF on an emulated Cortex-M board, UART0 on a TCP socket.

The command line follows emulation.md §4 with the flags that matter: a TCP chardev with
`server=on,wait=on,nodelay=on` (the CPU waits for the harness; no Nagle delay), semihosting
(the firmware's exit code becomes QEMU's, so a fault is a distinct exit), and a fixed
`-icount shift=N` from the board file (exact, deterministic instruction counts; `auto` is
not deterministic). The listening socket is bound by the harness and handed to QEMU as an
inherited fd, so there is no free-port race with other emulators on the machine. For the
memory transport on boards with a shared mailbox, the machine's RAM comes from a file in the
backend's private directory that the host maps (`SharedRam`, harness/target_memory.py).

The process always dies with the backend: it runs in its own process group, which `stop()`
kills (also from `__exit__`, i.e. on exceptions and Ctrl-C, and at interpreter exit), and on
Linux it is also told to die with its parent (PR_SET_PDEATHSIG).

First-RX stall (emulation.md §5.4): the CMSDK driver's dummy read fixes it on mps2; on the
microbit this firmware measured no stall under -icount (first command answered 2–11 ms after
BOOT), so no QMP kick is needed. Between commands the firmware sleeps in WFI, so an idle
emulator costs no host CPU (measured 0 % vs ~30 % of a core when polling).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from harness.backends.base import DIE_WITH_PARENT, LIVE, Backend, BackendSettings, Capabilities
from harness.backends.registry import register_backend
from harness.board_file import Section
from harness.errors import ConfigError, DeviceFault, EmulatorDied, HilError, ToolchainError
from harness.gdb_remote import GdbRemote
from harness.link import Link, LinkClosed, open_link
from harness.protocol import FAULT_EXIT_CODE
from harness.target_memory import SemihostingFiles, SharedRam

if TYPE_CHECKING:
    from harness.boards import Board

QEMU = "qemu-system-arm"
INSTALL_HINT = "apt-get install -y --no-install-recommends qemu-system-arm"
ICOUNT_SHIFT_MAX = 10  # QEMU rejects larger shifts ("Invalid shift value")
# Ticks per instruction must exceed this so tick counts map back to exact instruction counts.
MIN_TICKS_PER_INSN = 2
# How the memory transport reaches guest RAM (QemuBackend's `memory`).
QEMU_MEMORY = ("shared", "gdbstub", "semihosting")


def icount_ticks_per_instruction(icount_shift: int, counter_hz: int) -> Fraction:
    """Counter ticks per instruction under `-icount shift=N`: one instruction takes 2**N ns."""
    return Fraction(2**icount_shift * counter_hz, 10**9)


@dataclass(frozen=True)
class QemuSettings(BackendSettings):
    """`[qemu]`: the QEMU machine (`qemu-system-arm -M help`), the icount shift, and whether the
    machine's RAM (`machine->ram`, on mps2 boards the 16 MiB PSRAM) is the board's
    `[memory.mailbox]`, which the memory transport then shares with the host through a file."""

    machine: str
    icount_shift: int
    shared_mailbox: bool = False

    def summary(self) -> str:
        return self.machine


def qemu_version(program: str = QEMU) -> str:
    """First line of `qemu-system-arm --version` (for result records)."""
    exe = shutil.which(program)
    if exe is None:
        raise ToolchainError(f"{program} not found on PATH; install it with: {INSTALL_HINT}", program=program)
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.splitlines()[0].strip() if out.stdout else "unknown"


@register_backend
class QemuBackend(Backend[QemuSettings]):
    name = "qemu"
    settings_type = QemuSettings
    # memory: shared RAM (a mapped file), the gdbstub's m/M packets on a private unix socket,
    # or semihosting files
    capabilities = Capabilities(count_kind="instructions", emulated=True, memory_access=True)

    def __init__(self, board: Board, elf: str | Path, *, boot_timeout: float = 10.0,
                 extra_args: tuple[str, ...] = (), program: str = QEMU,
                 connect_via: Callable[[str], str] | None = None, memory: bool | str = False) -> None:
        """`connect_via(url) -> url`: route the host's link through something in between (a
        fault-injecting proxy in the tests): it gets the emulator's socket URL and returns the
        one the host opens instead. `memory`: how `memory_access()` reaches guest RAM for the
        memory transport: "shared" (the board's mailbox region is QEMU's machine RAM, a file in
        the backend's private directory that the host maps: boards with `shared_mailbox`),
        "gdbstub" (m/M packets on a unix socket in that directory, never a network port), or
        "semihosting" (the firmware reads and writes two host files in that directory, only
        with firmware built with -DHIL_MAILBOX_FILES=1); True picks shared where the board has
        it, else the gdbstub (README, link table)."""
        super().__init__(board, elf)
        self.connect_via = connect_via
        self.boot_timeout = boot_timeout
        self.extra_args = tuple(extra_args)
        self.program = program
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self._tmp: str | None = None
        self._exit_error: HilError | None = None
        if memory not in (False, True, *QEMU_MEMORY):
            raise ConfigError(f"QEMU memory access {memory!r} is not one of {', '.join(QEMU_MEMORY)}",
                              field="memory")
        shared = self.settings.shared_mailbox and board.mailbox is not None
        if memory == "shared" and not shared:
            raise ConfigError(f"board '{board.name}' has no shared mailbox ([memory.mailbox] and [qemu] "
                              "shared_mailbox = true): use memory='gdbstub'", field="memory", board=board.name)
        self.memory = ("shared" if shared else "gdbstub") if memory is True else memory
        self._gdb: GdbRemote | None = None
        self._files: SemihostingFiles | None = None
        self._shared: SharedRam | None = None

    @classmethod
    def parse_section(cls, section: Section, board: Board) -> QemuSettings:
        section.check_keys(("machine", "icount_shift", "shared_mailbox"))
        shared = section.get("shared_mailbox", bool, required=False) or False
        if shared and board.mailbox is None:
            raise section.fail("shared_mailbox", "needs a [memory.mailbox] region: the address range where the "
                               "machine's RAM (`machine->ram`) appears in the guest")
        machine = section.get("machine", str)
        if not machine:
            raise section.fail("machine", "must not be empty; see `qemu-system-arm -M help`")
        shift = section.get("icount_shift", int, minimum=0, maximum=ICOUNT_SHIFT_MAX)
        hz = board.counter.hz
        tpi = icount_ticks_per_instruction(shift, hz)
        if tpi <= MIN_TICKS_PER_INSN:
            ok = [s for s in range(ICOUNT_SHIFT_MAX + 1) if icount_ticks_per_instruction(s, hz) > MIN_TICKS_PER_INSN]
            hint = f"use icount_shift >= {ok[0]}" if ok else "counter.hz is too low for exact counts at any shift"
            raise section.fail(
                "icount_shift",
                f"bad value {shift}: {float(tpi):.3f} counter ticks per instruction at counter.hz={hz}; "
                f"must be > {MIN_TICKS_PER_INSN} for exact instruction counts ({hint})",
            )
        return QemuSettings(machine=machine, icount_shift=shift, shared_mailbox=shared)

    # No missing_reason: QEMU is the harness's required emulator (`make setup` installs it), so a
    # missing one fails each test as `toolchain`; skipping would turn a broken machine green.

    @classmethod
    def version(cls) -> str:
        try:
            return qemu_version()
        except (HilError, OSError, subprocess.SubprocessError) as exc:
            return f"{QEMU} (version unknown: {exc})"

    @classmethod
    def ticks_per_count(cls, board: Board) -> Fraction:
        settings = board.settings
        assert isinstance(settings, QemuSettings), board.name
        return icount_ticks_per_instruction(settings.icount_shift, board.counter.hz)

    def command(self, fd: int) -> list[str]:
        """The QEMU command line, serial on the inherited listening socket `fd`."""
        return [
            self.program, "-M", self.settings.machine,
            "-display", "none", "-monitor", "none", "-nodefaults",
            "-chardev", f"socket,id=hil0,fd={fd},server=on,wait=on,nodelay=on", "-serial", "chardev:hil0",
            "-semihosting-config", "enable=on,target=native",
            "-icount", f"shift={self.settings.icount_shift}",
            *self.extra_args,
            *(["-chardev", f"socket,id=hilgdb,path={self.gdb_socket},server=on,wait=off", "-gdb", "chardev:hilgdb"]
              if self.memory == "gdbstub" else []),
            *self._shared_ram_args(),
            "-kernel", str(self.elf),
        ]

    def _shared_ram_args(self) -> list[str]:
        """The machine's RAM from the shared file (`share=on`: the guest's stores reach the file)."""
        if self.memory != "shared":
            return []
        assert self.board.mailbox is not None
        return ["-object", f"memory-backend-file,id=hilram,size={self.board.mailbox.size},"
                           f"mem-path={self.shared_ram_file},share=on",
                "-machine", "memory-backend=hilram"]

    @property
    def gdb_socket(self) -> str:
        assert self._tmp is not None
        return os.path.join(self._tmp, "gdb.sock")

    @property
    def shared_ram_file(self) -> str:
        assert self._tmp is not None
        return os.path.join(self._tmp, "mailbox.ram")

    def memory_access(self) -> GdbRemote | SemihostingFiles | SharedRam:
        """Guest memory the way `memory` chose, set up on first use."""
        if not self.memory:
            raise ConfigError(f"board '{self.board.name}': QEMU was started without memory access; "
                              "create the backend with memory=True for the memory transport", field="transport")
        assert self._tmp is not None
        if self.memory == "shared":
            if self._shared is None:
                assert self.board.mailbox is not None
                self._shared = SharedRam(self.shared_ram_file, self.board.mailbox,
                                         f"mailbox region of board '{self.board.name}'")
            return self._shared
        if self.memory == "gdbstub":
            if self._gdb is None:
                self._gdb = GdbRemote.connect_unix(self.gdb_socket)
            return self._gdb
        if self._files is None:
            self._files = SemihostingFiles(self._tmp)
        return self._files

    def start(self) -> Link:
        exe = shutil.which(self.program)
        if exe is None:
            raise ToolchainError(f"{self.program} not found on PATH; install it with: {INSTALL_HINT}",
                                 program=self.program, hint=INSTALL_HINT)
        if not self.elf.is_file():
            raise ConfigError(f"firmware ELF {self.elf} does not exist; build it first", field="elf")
        if self.process is not None:
            raise RuntimeError("QemuBackend.start() called twice; use a new backend per run")
        self._tmp = tempfile.mkdtemp(prefix="hil-qemu-")
        if self.memory == "shared":  # created here, private (0600), so QEMU maps a file we own
            assert self.board.mailbox is not None
            fd = os.open(self.shared_ram_file, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.ftruncate(fd, self.board.mailbox.size)
            finally:
                os.close(fd)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            self.port = listener.getsockname()[1]
            fd = listener.fileno()
            with open(os.path.join(self._tmp, "stdout.log"), "wb") as out, \
                 open(os.path.join(self._tmp, "stderr.log"), "wb") as err:
                self.process = subprocess.Popen(
                    [exe, *self.command(fd)[1:]], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                    pass_fds=(fd,), start_new_session=True,
                    preexec_fn=DIE_WITH_PARENT,
                )
            LIVE.add(self)
        finally:
            listener.close()  # QEMU holds its own copy of the listening socket
        try:
            proc = self.process
            url = f"socket://127.0.0.1:{self.port}"
            if self.connect_via is not None:
                url = self.connect_via(url)
            self.link = open_link(url, connect_timeout=self.boot_timeout, alive=lambda: proc.poll() is None)
        except LinkClosed:
            exited = self.poll_exit()
            self.stop()
            raise exited or EmulatorDied("qemu-system-arm closed the serial socket at start") from None
        except BaseException:
            self.stop()
            raise
        return self.link

    def stderr_tail(self, nbytes: int = 1500) -> str:
        if self._tmp is None:
            return ""
        try:
            data = Path(self._tmp, "stderr.log").read_bytes()
        except OSError:
            return ""
        return data[-nbytes:].decode("utf-8", "replace").strip()

    def poll_exit(self) -> HilError | None:
        if self._exit_error is not None:
            return self._exit_error
        if self.process is None or self.process.poll() is None:
            return None
        self._exit_error = self.classify_exit(self.process.returncode, self.stderr_tail())
        return self._exit_error

    def classify_exit(self, rc: int, stderr: str) -> HilError:
        """Why QEMU stopped: the firmware's fault exit code, a lockup, or something else."""
        tail = f"\nqemu stderr (tail):\n{stderr}" if stderr else " (stderr empty)"
        where = f"board '{self.board.name}', {self.elf}"
        if rc == FAULT_EXIT_CODE:
            return DeviceFault(f"firmware faulted ({where}): QEMU exited with the fault code {rc}{tail}",
                               exit_code=rc, stderr=stderr)
        if "Lockup" in stderr:
            return DeviceFault(
                f"firmware locked up ({where}): a fault inside the fault handler or a broken stack{tail}",
                exit_code=rc, stderr=stderr)
        if rc < 0:
            name = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else str(-rc)
            return EmulatorDied(f"qemu-system-arm was killed by {name} ({where}){tail}", exit_code=rc, stderr=stderr)
        return EmulatorDied(f"qemu-system-arm exited unexpectedly with code {rc} ({where}){tail}",
                            exit_code=rc, stderr=stderr)

    def __del__(self) -> None:  # a dropped backend must not leave its emulator behind
        try:
            self.stop()
        except Exception:
            pass

    def stop(self) -> None:
        if self._gdb is not None:
            self._gdb.close()
            self._gdb = None
        if self._files is not None:
            self._files.close()
            self._files = None
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        if self.link is not None:
            self.link.close()
        proc = self.process
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
        if proc is not None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
                pass
            if self._exit_error is None and proc.returncode is not None and proc.returncode >= 0:
                # Keep the classification of a natural exit before the logs go away.
                self._exit_error = self.classify_exit(proc.returncode, self.stderr_tail())
        LIVE.discard(self)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
