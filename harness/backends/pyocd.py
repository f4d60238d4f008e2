"""pyOCD backend: flash a real board through its debug probe and talk to it over its serial port.

Why pyOCD's Python API and not its CLI: one session gives flashing, reset, the probe's identity
and core registers, so every way a lab run goes wrong becomes one clear error before a test
waits on a silent port:

* no probe attached, or the pinned probe UID not attached -> BootError (connect it / fix the UID);
* several probes and no UID -> ConfigError (pin `[pyocd] probe` or HIL_PYOCD_PROBE; Zephyr
  flashed the wrong board exactly this way, zephyr#82331);
* the probe sits on a different board, or the core is not the board file's -> BootError;
* target unknown to pyOCD (neither built in nor in an installed CMSIS pack) -> ConfigError
  saying which `pyocd pack install` to run;
* the serial port missing -> BootError listing the ports that exist;
* pyOCD not installed -> ToolchainError.

Counts are core cycles (DWT CYCCNT on M3/M4/M7, SysTick on M0+), read by the firmware itself.
The serial port is opened before the reset, so the BOOT frame cannot be missed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.backends.base import Backend, BackendSettings, Capabilities
from harness.backends.registry import register_backend
from harness.board_file import Section
from harness.errors import BootError, ConfigError, DeviceFault, HilError, ToolchainError
from harness.link import Link, open_link
from harness.target_memory import PyocdMemory

if TYPE_CHECKING:
    from harness.boards import Board

PROBE_ENV = "HIL_PYOCD_PROBE"
SERIAL_ENV = "HIL_PYOCD_SERIAL"
INSTALL_HINT = "pip install pyocd (into the project's venv)"
# CPUID PARTNO (bits 15:4 of 0xE000ED00) of each core.
CPUID = 0xE000ED00
CORE_PARTNO = {
    "cortex-m0": 0xC20,
    "cortex-m0plus": 0xC60,
    "cortex-m3": 0xC23,
    "cortex-m4": 0xC24,
    "cortex-m7": 0xC27,
    "cortex-m33": 0xD21,
    "cortex-m55": 0xD22,
}


@dataclass(frozen=True)
class PyocdSettings(BackendSettings):
    """`[pyocd]`: a real board behind a debug probe: what pyOCD needs to flash it and where its UART is.

    `probe` is the probe's unique id (always pin it when several probes can be attached);
    `serial` is the UART device (e.g. /dev/ttyACM0); without it the backend looks for the
    serial port whose USB serial number equals the probe UID. `pack` names the CMSIS pack
    that defines `target` when pyOCD has no built-in support; `swd_hz` is the SWD clock.
    """

    target: str
    probe: str | None = None
    serial: str | None = None
    pack: str | None = None
    swd_hz: int | None = None

    def summary(self) -> str:
        return self.target


def _settings(board: Board) -> PyocdSettings:
    settings = board.settings
    if not isinstance(settings, PyocdSettings):
        raise ConfigError(f"board '{board.name}' ({board.path}) has no [pyocd] section", field="pyocd")
    return settings


def _pyocd() -> Any:
    try:
        import pyocd  # noqa: F401
        from pyocd.core.helpers import ConnectHelper
    except ImportError as exc:
        raise ToolchainError(f"pyOCD is not installed ({exc}); {INSTALL_HINT}", program="pyocd",
                             hint=INSTALL_HINT) from exc
    return ConnectHelper


@dataclass(frozen=True)
class ProbeInfo:
    """What selection needs to know about an attached probe (plain data, from pyOCD)."""

    unique_id: str
    description: str
    board_target: str | None = None  # target of the board the probe reports it sits on (ST-LINK, DAPLink)


def list_probes() -> list[ProbeInfo]:
    """Every debug probe pyOCD can see now (never blocks, never prompts)."""
    helper = _pyocd()
    try:
        probes = helper.get_all_connected_probes(blocking=False, print_wait_message=False)
    except Exception as exc:  # libusb missing, permissions...
        raise ToolchainError(f"pyOCD could not enumerate debug probes: {exc}. On Linux check libusb and the "
                             "udev rules for your probe (pyocd.io/docs/installing)", program="pyocd") from exc
    out = []
    for p in probes:
        info = getattr(p, "associated_board_info", None)
        out.append(ProbeInfo(str(p.unique_id), str(getattr(p, "description", p.unique_id)),
                             getattr(info, "target", None) if info is not None else None))
    return out


# A probe behind pyOCD's probe server on another host (`pyocd server` there): `remote:HOST:PORT`.
REMOTE_PROBE_RE = re.compile(r"^remote:[A-Za-z0-9_.\-]+:\d{1,5}$")
# A serial port on another host (ser2net, `pyserial` rfc2217_server): `rfc2217://HOST:PORT`.
REMOTE_SERIAL_RE = re.compile(r"^rfc2217://[A-Za-z0-9_.\-]+:\d{1,5}(/.*)?$")


def choose_probe(probes: Iterable[ProbeInfo], uid: str | None, board: Board) -> ProbeInfo:
    """The probe to use: the one with `uid`, or the only one attached; else a clear error.
    A remote probe (`remote:HOST:PORT`) is not enumerated locally: pyOCD connects to it by id."""
    if uid and REMOTE_PROBE_RE.match(uid):
        return ProbeInfo(uid, f"pyOCD probe server {uid[len('remote:'):]}")
    probes = list(probes)
    listing = "\n".join(f"  {p.unique_id}  {p.description}" for p in probes) or "  (none)"
    if uid:
        matches = [p for p in probes if p.unique_id.lower() == uid.lower()]
        if not matches:
            raise BootError(f"board '{board.name}': debug probe {uid} is not attached (probe UID from "
                            f"{board.path} [pyocd] probe or ${PROBE_ENV}). Attached probes:\n{listing}",
                            board=board.name, probe=uid)
        return matches[0]
    if not probes:
        raise BootError(f"board '{board.name}': no debug probe found. Connect the board's USB (ST-LINK) "
                        f"and check `pyocd list`; on Linux also the udev rules for the probe",
                        board=board.name)
    if len(probes) > 1:
        raise ConfigError(f"board '{board.name}': {len(probes)} debug probes attached and no probe UID given; "
                          f"set [pyocd] probe in {board.path} or ${PROBE_ENV} to one of:\n{listing}",
                          field="pyocd.probe", file=str(board.path))
    return probes[0]


def same_part(a: str, b: str) -> bool:
    """pyOCD names one part several ways: built-in `stm32l432kc`, pack/board-id `stm32l432kcux`
    (package and temperature suffix). Same part when one name extends the other."""
    a, b = a.lower(), b.lower()
    return a.startswith(b) or b.startswith(a)


def check_probe_board(probe: ProbeInfo, board: Board) -> None:
    """BootError if the probe reports it sits on a board with a different target."""
    target = _settings(board).target
    if probe.board_target and not same_part(probe.board_target, target):
        raise BootError(f"board '{board.name}' expects target {target}, but probe {probe.unique_id} "
                        f"({probe.description}) is on a {probe.board_target} board: wrong board connected, "
                        "or pin the right probe UID", board=board.name, probe=probe.unique_id)


def check_core(cpuid: int, board: Board) -> None:
    """BootError if the CPUID register says the core is not the board file's."""
    partno = (cpuid >> 4) & 0xFFF
    want = CORE_PARTNO.get(board.core)
    if want is not None and partno != want:
        names = {v: k for k, v in CORE_PARTNO.items()}
        got = names.get(partno, f"unknown part {partno:#x}")
        raise BootError(f"board '{board.name}' is a {board.core}, but the connected target's CPUID is "
                        f"{cpuid:#010x} ({got}): wrong board connected", board=board.name, cpuid=cpuid)


def check_target_known(board: Board) -> None:
    """ConfigError unless pyOCD knows the board's target (built in, a .pack file, or an installed pack)."""
    settings = _settings(board)
    _pyocd()
    from pyocd.target import TARGET

    name = settings.target
    if name in TARGET:
        return
    pack = settings.pack
    if pack and pack.endswith(".pack"):
        path = (board.path.parent / pack).resolve()
        if not path.is_file():
            raise ConfigError(f"{board.path}: [pyocd] pack {pack!r}: {path} does not exist", field="pyocd.pack")
        return
    from pyocd.target.pack.pack_target import ManagedPacks

    try:
        installed = {d.part_number.lower() for d in ManagedPacks.get_installed_targets()}
    except Exception:  # no pack index yet
        installed = set()
    if name not in installed:
        raise ConfigError(f"{board.path}: pyOCD target {name!r} is not built into pyOCD and no installed CMSIS pack "
                          f"defines it{f' (pack {pack})' if pack else ''}. Install it once (needs network): "
                          f"pyocd pack install {name}", field="pyocd.target", value=name)


def find_serial_port(probe_uid: str, board: Board) -> str:
    """The serial device whose USB serial number is the probe UID (ST-LINK and DAPLink VCPs)."""
    from serial.tools import list_ports

    ports = list(list_ports.comports())
    for p in ports:
        if p.serial_number and p.serial_number.lower() == probe_uid.lower():
            return str(p.device)
    listing = "\n".join(f"  {p.device}  serial={p.serial_number}  {p.description}" for p in ports) or "  (none)"
    raise BootError(f"board '{board.name}': no serial port with USB serial number {probe_uid} (the probe's "
                    f"virtual COM port). Set [pyocd] serial in {board.path} or ${SERIAL_ENV}. Ports present:\n{listing}",
                    board=board.name, probe=probe_uid)


@register_backend
class PyocdBackend(Backend[PyocdSettings]):
    """Flash `elf` onto the real board, reset it and hand back its serial port as the link."""

    name = "pyocd"
    settings_type = PyocdSettings
    # memory: SWD through pyOCD's memory API (harness/target_memory.py)
    capabilities = Capabilities(count_kind="cycles", emulated=False, memory_access=True)

    def __init__(self, board: Board, elf: str | Path, *, boot_timeout: float = 10.0, probe: str | None = None,
                 serial_port: str | None = None, memory: bool = False) -> None:
        """`memory`: the memory transport will be used; nothing to start for it (the probe's
        session reaches target RAM)."""
        super().__init__(board, elf)
        self.boot_timeout = boot_timeout
        self.probe_uid = probe or self.settings.probe or os.environ.get(PROBE_ENV) or None
        self.serial_port = serial_port or self.settings.serial or os.environ.get(SERIAL_ENV) or None
        self.session: Any = None
        self.probe: ProbeInfo | None = None

    @classmethod
    def parse_section(cls, section: Section, board: Board) -> PyocdSettings:
        section.check_keys(("target", "probe", "serial", "pack", "swd_hz"))
        target = section.get("target", str)
        probe = section.get("probe", str, required=False) or None
        serial = section.get("serial", str, required=False) or None
        if probe and probe.startswith("remote:") and not REMOTE_PROBE_RE.match(probe):
            raise section.fail("probe", f"bad value {probe!r}; a remote probe is \"remote:HOST:PORT\" "
                               "(pyOCD's probe server, `pyocd server` on that host)")
        if serial and serial.startswith("rfc2217:") and not REMOTE_SERIAL_RE.match(serial):
            raise section.fail("serial", f"bad value {serial!r}; a remote serial port is \"rfc2217://HOST:PORT\"")
        if probe and probe.startswith("remote:") and not serial:
            raise section.fail("serial", "missing: a remote probe's serial port cannot be found by USB serial "
                               "number; name it (e.g. \"rfc2217://HOST:PORT\")")
        if not re.match(r"^[a-z0-9_]+$", target):
            raise section.fail("target", f"bad value {target!r}; pyOCD target names are lower-case, "
                               "e.g. \"stm32l432kc\" (see `pyocd list --targets`)")
        return PyocdSettings(
            target=target,
            probe=probe,
            serial=serial,
            pack=section.get("pack", str, required=False),
            swd_hz=section.get("swd_hz", int, required=False, minimum=1000, maximum=100_000_000),
        )

    @classmethod
    def version(cls) -> str:
        try:
            from importlib.metadata import version

            return f"pyOCD {version('pyocd')}"
        except Exception as exc:  # not installed: records say so rather than fail
            return f"pyOCD (version unknown: {exc})"

    @classmethod
    def ticks_per_count(cls, board: Board) -> Fraction:
        """DWT and SysTick tick on the core clock: counter ticks per core cycle."""
        return Fraction(board.counter.hz, board.clock_hz)

    def start(self) -> Link:
        helper = _pyocd()
        if not self.elf.is_file():
            raise ConfigError(f"firmware ELF {self.elf} does not exist; build it first", field="elf")
        check_target_known(self.board)
        remote = bool(self.probe_uid and REMOTE_PROBE_RE.match(self.probe_uid))
        self.probe = choose_probe([] if remote else list_probes(), self.probe_uid, self.board)
        check_probe_board(self.probe, self.board)
        port = self.serial_port or find_serial_port(self.probe.unique_id, self.board)
        options: dict[str, Any] = {"target_override": self.settings.target}
        if self.settings.swd_hz:
            options["frequency"] = self.settings.swd_hz
        if self.settings.pack and self.settings.pack.endswith(".pack"):
            options["pack"] = str((self.board.path.parent / self.settings.pack).resolve())
        try:
            self.session = helper.session_with_chosen_probe(
                blocking=False, unique_id=self.probe.unique_id, options=options)
            if self.session is None:
                raise BootError(f"board '{self.board.name}': probe {self.probe.unique_id} went away before connecting",
                                board=self.board.name)
            self.session.open()
            target = self.session.board.target
            check_core(target.read32(CPUID), self.board)
            from pyocd.flash.file_programmer import FileProgrammer

            FileProgrammer(self.session).program(str(self.elf), file_format="elf")
            target.reset_and_halt()
            self.link = open_link(port, baudrate=self.board.uart.baud, connect_timeout=self.boot_timeout)
            self.link.drain(quiet=0.02, limit=0.2)  # bytes from the old firmware are not ours
            target.resume()
        except HilError:
            self.stop()
            raise
        except Exception as exc:
            self.stop()
            raise BootError(f"board '{self.board.name}': flashing {self.elf.name} through probe "
                            f"{self.probe.unique_id} failed: {type(exc).__name__}: {exc}",
                            board=self.board.name) from exc
        return self.link

    def memory_access(self) -> PyocdMemory:
        """Target RAM through the probe (SWD), for the memory transport."""
        if self.session is None:
            raise BootError(f"board '{self.board.name}': no pyOCD session (start() first)", board=self.board.name)
        return PyocdMemory(self.session.board.target)

    def poll_exit(self) -> HilError | None:
        """A locked-up core is the hardware's 'exit'; anything else is still running."""
        if self.session is None:
            return None
        try:
            from pyocd.core.target import Target

            state = self.session.board.target.get_state()
        except Exception:
            return None
        if state == Target.State.LOCKUP:
            return DeviceFault(f"board '{self.board.name}': the core is in LOCKUP (a fault inside the fault handler "
                               "or a broken vector table)", board=self.board.name)
        return None

    def stop(self) -> None:
        if self.link is not None:
            self.link.close()
        if self.session is not None:
            try:
                self.session.close()
            except Exception:
                pass
            self.session = None
