"""Renode backend: runs a firmware ELF on a Renode-emulated Cortex-M, UART on a pty.

Why Renode next to QEMU: it has real Cortex-M0+ (and M4F, M7) CPU models, and it is what the
user's nightly CI runs. Facts this module relies on (reference/emulation.md §11-12, measured on
Renode 1.15.1):

* The platform (.repl) is generated from the board file (core, memory map, UART, counter), so the
  board file stays the single source of truth; a board may instead name its own .repl.
* Nothing listens on the network: Renode's monitor server (`--port`) and its UART server sockets
  bind every interface, and the monitor runs Python and reads host files. So Renode is started
  headless with its monitor on its own console (`--disable-xwt --plain --console --hide-log`),
  which is a pty this process holds (pty_console.PtyConsole), and the UART goes to a pty too
  (`emulation CreateUartPtyTerminal`), opened with pyserial. tests/test_no_listeners.py checks
  the emulators' sockets.
* Counts: Renode's timers (SysTick, DWT) follow its virtual clock only coarsely, but the CPU's
  `ExecutedInstructions` is exact. With counter kind `renode-icount` the backend maps a Python
  peripheral at the counter's base whose reads return it (renode_counter.ipy), so the firmware's
  own counter reads are exact executed-instruction counts (kind "instructions", 1 tick = 1
  instruction). A twin runs a hardware ELF, so a CPU hook at the entry of `hil_counter_now()`
  returns the count instead (a hook costs ~0.65 ms a hit, the peripheral read far less). With
  `log_counts=True` a hook there logs every call's count, which the QEMU cross-check and the
  peripheral's own test read (`hook_counts()`); off by default: the log line halved the
  throughput (m4-renode, 490 B echo through memory: 64-75 against 126-165 vectors/s).
* Renode ignores the semihosting exit, so the firmware never ends the process: a hook on
  `hil_exit()` logs the exit code (the fault code becomes DeviceFault), and `stop()` sends `quit`.
* Memory transport: the monitor's `sysbus` commands cost 4-200 ms each and Renode's GDB server
  binds every interface, so `memory_access()` loads a small server into Renode's IronPython that
  reads and writes RAM on a unix socket in the private directory (renode_memory.py).
* The `renode` launcher is a shell script that runs mono as a child: signalling the script alone
  orphans mono at full CPU. Renode runs in its own process group; `stop()` sends `quit`, then
  SIGTERM to the pid-file PID and the group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from harness.backends.base import DIE_WITH_PARENT, LIVE, Backend, BackendSettings, Capabilities
from harness.backends.pty_console import PtyConsole
from harness.backends.registry import register_backend
from harness.backends.renode_memory import SERVE_FUNCTION, SERVER_SOURCE, RenodeSocketMemory
from harness.board_file import Section
from harness.errors import ConfigError, DeviceFault, EmulatorDied, HilError, ToolchainError
from harness.link import Link, LinkClosed, open_link
from harness.protocol import FAULT_EXIT_CODE
from harness.target_memory import RenodeMonitorMemory

if TYPE_CHECKING:
    from harness.boards import Board

RENODE_ENV = "HIL_RENODE"
RENODE = "renode"
INSTALL_HINT = (
    "Renode is not packaged for Debian or PyPI: install the portable Linux build from "
    "https://github.com/renode/renode/releases (renode-*.linux-portable.tar.gz) and put its `renode` "
    f"on PATH, or set {RENODE_ENV}=/path/to/renode"
)
# Renode's names for the cores (CPU.CortexM cpuType).
CPU_TYPES = {
    "cortex-m0": "cortex-m0",
    "cortex-m0plus": "cortex-m0+",
    "cortex-m3": "cortex-m3",
    "cortex-m4": "cortex-m4",
    "cortex-m7": "cortex-m7",
    "cortex-m33": "cortex-m33",
}
# UART kind -> (Renode model, extra properties). The STM32 chip kinds only add RCC/GPIO writes,
# which land on unmapped addresses in a generated platform (logged, harmless).
# The CMSDK driver sleeps in WFI until its RX interrupt (any NVIC line wakes it), so that line is
# wired; the PL011 and STM32 drivers poll.
_STM32 = ("UART.STM32F7_USART", ("frequency: {clock}", "IRQ -> nvic@0"))
UART_MODELS = {
    "pl011": ("UART.PL011", ("fifoSize: 32", "frequency: {clock}", "-> nvic@0")),
    "cmsdk": ("UART.CMSDK_APB_UART", ("frequency: {clock}", "RxInterrupt -> nvic@0")),
    "stm32-usart": _STM32,
    "stm32l4-usart": _STM32,
    "stm32g0-usart": _STM32,
    "stm32f7-usart": _STM32,
}
UART_NAME = "sysbus.uart"
DEFAULT_MIPS = 100
COUNTER_SYMBOL = "hil_counter_now"
EXIT_SYMBOL = "hil_exit"
_PROMPT_RE = re.compile(rb"\((?:monitor|hil)\) ?\n?$")
_ANSI_RE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
# Substrings of monitor replies that mean a command failed.
_MONITOR_ERRORS = ("rror", "Could not", "could not", "No such", "not found", "Failed", "failed", "Invalid")
RENODE_GENERATED = "generated"
# The counter kind this backend implements itself: a memory cell a CPU hook fills with the
# executed-instruction count each time the firmware reads it (exact counts).
ICOUNT_COUNTER = "renode-icount"
COUNTER_SOURCE = Path(__file__).with_name("renode_counter.ipy")


@dataclass(frozen=True)
class RenodeSettings(BackendSettings):
    """`[renode]`: how Renode models the board.

    `platform = "generated"` builds the .repl from the board's own fields (core, memory, UART,
    counter), so the board file stays the single source of truth; otherwise `platform` is a
    .repl path (relative to the board file) and `uart_name` names its UART peripheral.
    `mips` is Renode's PerformanceInMips (virtual time per instruction; counts do not depend on it).
    """

    platform: str = RENODE_GENERATED
    mips: int | None = None
    uart_name: str | None = None

    def platform_path(self, board_path: Path) -> Path | None:
        """The custom .repl file, or None for a generated platform."""
        if self.platform == RENODE_GENERATED:
            return None
        return (board_path.parent / self.platform).resolve()

    def summary(self) -> str:
        return self.platform


def find_renode() -> str:
    """Path of the `renode` launcher: $HIL_RENODE, else PATH; ToolchainError if neither."""
    env = os.environ.get(RENODE_ENV)
    if env:
        path = shutil.which(env) or (env if os.access(env, os.X_OK) else None)
        if path is None:
            raise ToolchainError(f"{RENODE_ENV}={env!r} is not an executable Renode launcher; {INSTALL_HINT}",
                                 program=env, hint=INSTALL_HINT)
        return str(Path(path).resolve())
    path = shutil.which(RENODE)
    if path is None:
        raise ToolchainError(f"renode not found on PATH and {RENODE_ENV} is not set. {INSTALL_HINT}",
                             program=RENODE, hint=INSTALL_HINT)
    return path


def renode_version(program: str | None = None) -> str:
    """`renode --version` (for result records), e.g. 'Renode v1.15.1.43106'."""
    exe = program or find_renode()
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120,
                         start_new_session=True)
    for line in out.stdout.splitlines():
        if "Renode" in line:
            return line.strip()
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else "unknown"


def elf_symbols(elf: str | Path, names: tuple[str, ...]) -> dict[str, int]:
    """Addresses of the named functions (Thumb bit cleared), for hooks."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    found: dict[str, int] = {}
    with open(elf, "rb") as fh:
        for section in ELFFile(fh).iter_sections():
            if not isinstance(section, SymbolTableSection):
                continue
            for sym in section.iter_symbols():
                if sym.name in names and sym["st_info"]["type"] == "STT_FUNC":
                    found[sym.name] = sym["st_value"] & ~1
    return found


def generate_repl(board: Board) -> str:
    """The Renode platform description for `board`: CPU, NVIC with SysTick, memories, UART, counter."""
    cpu_type = CPU_TYPES.get(board.core)
    if cpu_type is None:
        raise ConfigError(f"board '{board.name}' ({board.path}): core {board.core!r} has no Renode CPU model here; "
                          f"supported: {', '.join(CPU_TYPES)}", field="core", value=board.core)
    if board.core == "cortex-m4" and board.fpu is not None:
        cpu_type = "cortex-m4f"
    if board.uart.kind not in UART_MODELS:
        raise ConfigError(f"board '{board.name}' ({board.path}): UART kind {board.uart.kind!r} has no Renode model "
                          f"here; use one of {', '.join(UART_MODELS)}", field="uart.kind", value=board.uart.kind)
    settings = board.settings
    mips = settings.mips if isinstance(settings, RenodeSettings) and settings.mips else DEFAULT_MIPS
    model, props = UART_MODELS[board.uart.kind]
    lines = [
        f"// Generated by harness/backends/renode.py from {board.path.name}: do not edit.",
        "cpu: CPU.CortexM @ sysbus",
        f'    cpuType: "{cpu_type}"',
        "    nvic: nvic",
        f"    PerformanceInMips: {mips}",
        "",
        "nvic: IRQControllers.NVIC @ sysbus 0xE000E000",
        f"    systickFrequency: {board.clock_hz}",
        "    IRQ -> cpu@0",
        "",
        f"flash: Memory.MappedMemory @ sysbus {board.flash.origin:#x}",
        f"    size: {_page_up(board.flash.size):#x}",
        "",
        f"sram: Memory.MappedMemory @ sysbus {board.ram.origin:#x}",
        f"    size: {_page_up(board.ram.size):#x}",
        "",
        # The mailbox region of a QEMU board file ([memory.mailbox]), so its ELF runs here too.
        *([f"mailbox: Memory.MappedMemory @ sysbus {board.mailbox.origin:#x}",
           f"    size: {_page_up(board.mailbox.size):#x}", ""] if board.mailbox is not None else []),
        f"uart: {model} @ sysbus {board.uart.base:#x}",
        *(f"    {p.format(clock=board.clock_hz)}" for p in props),
    ]
    kind, base = board.counter.kind, board.counter.base
    if kind == "dwt":
        lines += ["", "dwt: Miscellaneous.DWT @ sysbus 0xE0001000", f"    frequency: {board.clock_hz}"]
    elif base is not None and kind != ICOUNT_COUNTER:
        # Timers Renode does not model (QEMU boards' cmsdk-timer, nrf51-timer) read as plain
        # memory; their counts come from the hook log. (renode-icount: counter_repl, every platform.)
        lines += ["", f"hilcounter: Memory.MappedMemory @ sysbus {base & ~0xFFF:#x}", "    size: 0x1000"]
    return "\n".join(lines) + "\n"


def counter_repl(base: int, script: Path) -> str:
    """The renode-icount counter: a peripheral at `base` whose reads return the CPU's exact
    ExecutedInstructions (renode_counter.ipy says why not a CPU hook)."""
    return (f"hilcounter: Python.PythonPeripheral @ sysbus {base:#x}\n    size: 0x8\n    initable: true\n"
            f'    filename: "{script}"\n')


def _page_up(n: int) -> int:
    return (n + 0xFFF) & ~0xFFF


@register_backend
class RenodeBackend(Backend[RenodeSettings]):
    """One Renode process running one ELF. Use as a context manager (or call stop())."""

    name = "renode"
    settings_type = RenodeSettings
    # memory: a server inside Renode on a private unix socket (renode_memory.py), or the monitor's
    # sysbus LoadBinary / ReadBytes (target_memory.py); twin: a real board's unmodified ELF on its
    # committed platform (boards/twins/)
    capabilities = Capabilities(count_kind="instructions", emulated=True, memory_access=True, twin=True)
    own_counter_kinds = (ICOUNT_COUNTER,)

    def __init__(self, board: Board, elf: str | Path, *, boot_timeout: float = 10.0,
                 start_timeout: float = 60.0, program: str | None = None,
                 advance_immediately: bool = True, memory: bool | str = False, log_counts: bool = False) -> None:
        """`memory`: how `memory_access()` reaches target RAM for the memory transport (set up on
        first use, so nothing runs for a UART-only session): True or "socket" (a server inside
        Renode on a unix socket in the backend's private directory: ~0.2 ms per access), or
        "monitor" (sysbus LoadBinary / ReadBytes on the monitor: 4-200 ms per access, kept for
        comparison)."""
        super().__init__(board, elf)
        if memory not in (False, True, "socket", "monitor"):
            raise ConfigError(f"Renode memory access {memory!r} is not 'socket' or 'monitor'", field="memory")
        self.memory = "monitor" if memory == "monitor" else "socket"
        self._memory: RenodeSocketMemory | RenodeMonitorMemory | None = None
        self.boot_timeout = boot_timeout  # firmware: UART socket to BOOT frame
        self.start_timeout = start_timeout  # Renode itself: launch to monitor and UART ready (mono start-up)
        self.program = program
        self.advance_immediately = advance_immediately
        self.log_counts = log_counts
        self.process: subprocess.Popen[bytes] | None = None
        self.monitor: PtyConsole | None = None  # Renode's console: the monitor, on a pty only we hold
        self.uart_pty: Path | None = None  # where Renode links the UART's pty
        self.transcript: list[str] = []  # monitor commands and replies, for error messages
        self._tmp: Path | None = None
        self._exit_error: HilError | None = None
        self._hooks: dict[str, int] = {}
        self._stopped = False  # after stop(), the process ending is ours, not a crash

    # -- board file, availability -----------------------------------------------------------

    @classmethod
    def parse_section(cls, section: Section, board: Board) -> RenodeSettings:
        section.check_keys(("platform", "mips", "uart_name"))
        platform = section.get("platform", str, required=False) or RENODE_GENERATED
        uart_name = section.get("uart_name", str, required=False)
        settings = RenodeSettings(platform=platform, mips=section.get("mips", int, required=False, minimum=1,
                                                                      maximum=100_000), uart_name=uart_name)
        custom = settings.platform_path(section.path)
        if custom is not None:
            if not custom.is_file():
                raise section.fail("platform", f"bad value {platform!r}: {custom} does not exist; "
                                   f"use \"{RENODE_GENERATED}\" or a .repl path relative to the board file")
            if not uart_name:
                raise section.fail("uart_name", "missing: a custom platform needs the name of its UART "
                                   "peripheral (e.g. \"sysbus.usart2\")")
        elif uart_name is not None:
            raise section.fail("uart_name", f"must be omitted for platform \"{RENODE_GENERATED}\" "
                               "(the generated platform names its UART itself)")
        base = board.counter.base
        if board.counter.kind == ICOUNT_COUNTER and base is not None and (
                base % 4 or any(r.origin <= base < r.end for r in (board.flash, board.ram))):
            raise section.file.fail("counter", "base", f"bad value {base:#x}: must be 4-byte aligned and outside "
                                    "flash and RAM (the backend maps its counter peripheral there)")
        return settings

    @classmethod
    def missing_reason(cls, board: Board) -> str | None:
        try:
            find_renode()
        except ToolchainError as exc:
            return str(exc)
        return None

    @classmethod
    def version(cls) -> str:
        try:
            return renode_version()
        except (HilError, OSError, subprocess.SubprocessError) as exc:
            return f"renode (version unknown: {exc})"

    def memory_access(self) -> RenodeSocketMemory | RenodeMonitorMemory:
        """Target RAM the way `memory` chose, for the memory transport; set up on first use."""
        if self._memory is not None:
            return self._memory
        if self._tmp is None or self.process is None:
            raise EmulatorDied(f"board '{self.board.name}': Renode is not running (memory access before start())")
        if self.memory == "monitor":
            self._memory = RenodeMonitorMemory(self.command, str(self._tmp))
            return self._memory
        # The server's source is copied to a .py name: `include` runs a file as Python by its suffix.
        script = self._tmp / "memory_server.py"
        shutil.copyfile(SERVER_SOURCE, script)
        path = self._tmp / "memory.sock"
        self.command(f"include @{script}")
        self.command(f"python \"{SERVE_FUNCTION}('{path}', self.Machine['sysbus'])\"")
        # the buffers live in the board's mailbox region when it has one (linker.py), else in RAM
        region = self.board.mailbox or self.board.ram
        self._memory = RenodeSocketMemory.connect(str(path), (region.origin, region.end), died=self.poll_exit)
        return self._memory

    # -- counts ---------------------------------------------------------------------------

    @property
    def mips(self) -> int:
        return self.settings.mips or DEFAULT_MIPS

    @classmethod
    def ticks_per_count(cls, board: Board) -> Fraction:
        """renode-icount ticks are instructions; other counters tick on Renode's virtual clock
        (instructions / PerformanceInMips), which is only approximately exact (emulation.md 12.4)."""
        if board.counter.kind == ICOUNT_COUNTER or board.hardware is not None:
            return Fraction(1)  # a twin's counter reads are the hook's exact counts (see resc)
        settings = board.settings
        assert isinstance(settings, RenodeSettings), board.name
        return Fraction(board.counter.hz, (settings.mips or DEFAULT_MIPS) * 10**6)

    def hook_counts(self, at_least: int = 0, timeout: float = 5.0) -> list[int]:
        """Executed-instruction counts logged at every `hil_counter_now()` entry so far, in order
        (a backend created with log_counts=True)."""
        if not self.log_counts:
            raise ConfigError("hook_counts() needs RenodeBackend(..., log_counts=True)", field="log_counts")
        deadline = time.monotonic() + timeout
        while True:
            counts = [int(m) for m in re.findall(r"HILCOUNT (\d+)", self.log_text())]
            if len(counts) >= at_least or time.monotonic() >= deadline:
                return counts
            time.sleep(0.02)

    # -- process --------------------------------------------------------------------------

    def _write_counter_platform(self) -> Path | None:
        """renode-icount (not a twin): the counter peripheral's platform file and script in the
        private directory, loaded after the board's platform; else None."""
        if self.board.counter.kind != ICOUNT_COUNTER or self.board.hardware is not None:
            return None
        assert self._tmp is not None and self.board.counter.base is not None
        script = self._tmp / "counter.ipy"
        shutil.copyfile(COUNTER_SOURCE, script)
        platform = self._tmp / "counter.repl"
        platform.write_text(counter_repl(self.board.counter.base, script))
        return platform

    def resc(self, repl: Path, uart_pty: Path, counter_platform: Path | None = None) -> str:
        """The Renode script: machine, platform (and the counter's), log file, UART terminal, ELF
        and hooks."""
        assert self._tmp is not None
        uart = self.settings.uart_name or UART_NAME
        lines = [
            'mach create "hil"',
            f"machine LoadPlatformDescription @{repl}",
            *([f"machine LoadPlatformDescription @{counter_platform}"] if counter_platform is not None else []),
            f"logFile @{self._tmp / 'renode.log'}",
            f'emulation CreateUartPtyTerminal "hilterm" "{uart_pty}" true',
            f"connector Connect {uart} hilterm",
            f"sysbus LoadELF @{self.elf.resolve()}",
        ]
        if self.advance_immediately:
            lines.append("emulation SetGlobalAdvanceImmediately true")
        counter = self._hooks.get(COUNTER_SYMBOL)
        if counter is not None:
            parts = []
            if self.board.hardware is not None:
                # A twin runs the hardware ELF, whose counter (DWT, SysTick) Renode times only coarsely:
                # the hook makes hil_counter_now() return the exact 64-bit count (r0:r1) at once.
                parts.append("c = self.ExecutedInstructions; self.SetRegisterUnsafe(0, System.UInt32(c & 0xFFFFFFFF)); "
                             "self.SetRegisterUnsafe(1, System.UInt32(c >> 32)); self.PC = self.LR")
            if self.log_counts:
                parts.append("self.Log(LogLevel.Warning, 'HILCOUNT %d' % self.ExecutedInstructions)")
            if parts:
                lines.append(f'sysbus.cpu AddHook {counter:#x} "{"; ".join(parts)}"')
        exit_addr = self._hooks.get(EXIT_SYMBOL)
        if exit_addr is not None:
            lines.append(f"sysbus.cpu AddHook {exit_addr:#x} "
                         "\"self.Log(LogLevel.Warning, 'HILEXIT %d' % self.GetRegisterUnsafe(0).RawValue)\"")
        return "\n".join(lines) + "\n"

    def start(self) -> Link:
        exe = self.program or find_renode()
        if not self.elf.is_file():
            raise ConfigError(f"firmware ELF {self.elf} does not exist; build it first", field="elf")
        if self.process is not None:
            raise RuntimeError("RenodeBackend.start() called twice; use a new backend per run")
        self._hooks = elf_symbols(self.elf, (COUNTER_SYMBOL, EXIT_SYMBOL))
        if (self.board.counter.kind == ICOUNT_COUNTER or self.board.hardware) and COUNTER_SYMBOL not in self._hooks:
            raise ConfigError(f"{self.elf} has no function {COUNTER_SYMBOL}(): counter kind renode-icount and "
                              "twins need the firmware's counter function (rebuild for this board)", field="counter")
        self._tmp = Path(tempfile.mkdtemp(prefix="hil-renode-"))
        # A committed platform is loaded where it lies, so its relative `using` lines resolve.
        custom = self.settings.platform_path(self.board.path)
        repl = custom if custom is not None else self._tmp / "platform.repl"
        if custom is None:
            repl.write_text(generate_repl(self.board))
        self.uart_pty = self._tmp / "uart"
        script = self._tmp / "hil.resc"
        script.write_text(self.resc(repl, self.uart_pty, self._write_counter_platform()))
        cmd = [exe, "--disable-xwt", "--plain", "--console", "--hide-log", "--port", "-1",
               "--pid-file", str(self._tmp / "renode.pid")]
        self.monitor = PtyConsole()
        with open(self._tmp / "stdout.log", "wb") as out:
            self.process = subprocess.Popen(
                cmd, stdin=self.monitor.slave, stdout=self.monitor.slave, stderr=out, cwd=self._tmp,
                start_new_session=True,
                preexec_fn=DIE_WITH_PARENT,
            )
        self.monitor.child_started()
        LIVE.add(self)
        try:
            self._connect_monitor()
            self.command(f"include @{script}")
            proc = self.process
            self.link = open_link(str(self.uart_pty), connect_timeout=self.start_timeout,
                                  alive=lambda: proc.poll() is None)
            self.command("start")
        except LinkClosed:
            err = self.poll_exit()
            self.stop()
            raise err or EmulatorDied("renode exited before its UART pty could be opened") from None
        except BaseException:
            self.stop()
            raise
        return self.link

    def _connect_monitor(self) -> None:
        """Wait for the console's first prompt (mono start-up takes seconds)."""
        assert self.process is not None and self.monitor is not None
        self._read_until_prompt(self.start_timeout)

    def _read_until_prompt(self, timeout: float, after: bytes = b"") -> str:
        """Monitor output up to a prompt that follows `after` (the echo of our command)."""
        assert self.monitor is not None
        buf = b""
        deadline = time.monotonic() + timeout
        while True:
            clean = _strip_telnet(_ANSI_RE.sub(b"", buf).replace(b"\r", b""))
            start = clean.find(after) if after else 0
            if start >= 0 and _PROMPT_RE.search(clean[start + len(after):]):
                return clean[start + len(after):].decode("utf-8", "replace")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorDied(f"renode monitor: no prompt within {timeout:.0f} s; got "
                                   f"{clean[-300:]!r}{self._stdout_tail_text()}")
            self.monitor.settimeout(min(remaining, 0.5))
            try:
                chunk = self.monitor.recv(65536)
            except TimeoutError:
                if self.process is not None and self.process.poll() is not None:
                    raise self._died("renode exited while a monitor command ran") from None
                continue
            if not chunk:
                raise self._died("renode closed its monitor connection")
            buf += chunk

    def _discard_pending(self) -> None:
        """Drop monitor output nobody asked for (e.g. text printed after a prompt)."""
        assert self.monitor is not None
        self.monitor.settimeout(0.0)
        try:
            while self.monitor.recv(65536):
                pass
        except (TimeoutError, BlockingIOError, OSError):
            pass

    def command(self, line: str, timeout: float = 60.0) -> str:
        """Run one monitor command; its reply text. Raises EmulatorDied if the reply is an error."""
        if self.monitor is None:
            raise EmulatorDied(f"renode monitor not connected (command {line!r})")
        self._discard_pending()
        self.monitor.sendall(line.encode() + b"\r")  # Enter on a terminal
        reply = self._read_until_prompt(timeout, after=line.encode())
        body = "\n".join(ln for ln in reply.splitlines() if ln.strip() and not _PROMPT_RE.search(ln.encode()))
        self.transcript.append(f"> {line}\n{body}")
        if any(marker in body for marker in _MONITOR_ERRORS):
            log = self.log_text()[-1500:]
            raise EmulatorDied(f"renode monitor command {line!r} failed ({self.board.name}, {self.elf.name}):\n"
                               f"{body.strip()}" + (f"\nrenode log (tail):\n{log}" if log else ""),
                               command=line, reply=body)
        return body.strip()

    def log_text(self) -> str:
        if self._tmp is None:
            return ""
        try:
            return (self._tmp / "renode.log").read_text("utf-8", "replace")
        except OSError:
            return ""

    def _stdout_tail_text(self, nbytes: int = 1500) -> str:
        if self._tmp is None:
            return ""
        try:
            data = (self._tmp / "stdout.log").read_bytes()[-nbytes:].decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return f"\nrenode output (tail):\n{data}" if data else ""

    def _died(self, what: str) -> EmulatorDied:
        rc = self.process.poll() if self.process is not None else None
        return EmulatorDied(f"{what} (board '{self.board.name}', {self.elf}, exit code {rc}){self._stdout_tail_text()}",
                            exit_code=rc)

    def poll_exit(self) -> HilError | None:
        if self._exit_error is not None:
            return self._exit_error
        m = re.search(r"HILEXIT (\d+)", self.log_text())
        if m:
            code = int(m.group(1))
            where = f"board '{self.board.name}', {self.elf}"
            if code == FAULT_EXIT_CODE:
                self._exit_error = DeviceFault(f"firmware faulted ({where}): it called hil_exit({code:#x}), the fault "
                                               "exit (see the FAULT frame for registers)", exit_code=code)
            else:
                self._exit_error = EmulatorDied(f"firmware stopped ({where}): it called hil_exit({code})",
                                                exit_code=code)
            return self._exit_error
        if self._stopped or self.process is None or self.process.poll() is None:
            return None
        self._exit_error = self._died("renode exited unexpectedly")
        return self._exit_error

    def stop(self) -> None:
        if self.link is not None:
            self.link.close()
        if self._memory is not None:
            self._memory.close()
            self._memory = None
        proc = self.process
        if proc is not None and proc.poll() is not None and self._exit_error is None:
            self.poll_exit()  # it died on its own: classify before we clean up
        self._stopped = True
        if proc is not None and proc.poll() is None and self.monitor is not None:
            try:
                self.monitor.settimeout(1.0)
                self.monitor.sendall(b"quit\r")
                proc.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.monitor is not None:
            try:
                self.monitor.close()
            except OSError:
                pass
            self.monitor = None
        if proc is not None:
            self._kill(proc)
        LIVE.discard(self)
        if self._tmp is not None:
            if self._exit_error is None and proc is not None:
                self.poll_exit()  # keep a HILEXIT classification before the logs go
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _kill(self, proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
        """SIGTERM the mono PID (pid file) and the whole group; SIGKILL whatever survives."""
        mono_pid = None
        if self._tmp is not None:
            try:
                mono_pid = int((self._tmp / "renode.pid").read_text().strip())
            except (OSError, ValueError):
                mono_pid = None
        for sig in (signal.SIGTERM, signal.SIGKILL):
            targets_alive = proc.poll() is None or (mono_pid is not None and _alive(mono_pid))
            if not targets_alive and not _group_alive(proc.pid):
                break
            if mono_pid is not None:
                try:
                    os.kill(mono_pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if proc.poll() is not None and not (mono_pid is not None and _alive(mono_pid)) \
                        and not _group_alive(proc.pid):
                    break
                time.sleep(0.02)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _strip_telnet(data: bytes) -> bytes:
    """Drop telnet IAC negotiation sequences from monitor output."""
    return re.sub(rb"\xff[\xfb-\xfe].|\xff[\xf0-\xfa]", b"", data)
