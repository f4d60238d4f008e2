"""Board specs: one TOML file per board in `boards/`, loaded into frozen dataclasses.

A board is data only. Everything downstream (build flags, linker script, firmware defines,
the emulator command line) is derived from it, so this module validates hard: every bad
value becomes a `ConfigError` naming the file, the line (when findable), the field, the bad
value and what is allowed. Adding a board means adding one file.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable

from harness.errors import ConfigError

BOARDS_DIR = Path(os.environ.get("HIL_BOARDS_DIR", Path(__file__).resolve().parent.parent / "boards"))

CORES = (
    "cortex-m0",
    "cortex-m0plus",
    "cortex-m3",
    "cortex-m4",
    "cortex-m7",
    "cortex-m33",
    "cortex-m55",
)
# Which FPU each core can carry (gcc -mfpu names); "none" is always allowed.
CORE_FPUS: dict[str, tuple[str, ...]] = {
    "cortex-m0": (),
    "cortex-m0plus": (),
    "cortex-m3": (),
    "cortex-m4": ("fpv4-sp-d16",),
    "cortex-m7": ("fpv5-sp-d16", "fpv5-d16"),
    "cortex-m33": ("fpv5-sp-d16",),
    "cortex-m55": ("auto",),
}
BACKENDS = ("qemu", "renode", "pyocd")
EMULATED_BACKENDS = ("qemu", "renode")
# stm32-usart: the USART alone (clocks and pins set up elsewhere, e.g. Renode's model needs none);
# stm32{l4,g0,f7}-usart: the same driver plus that chip family's RCC clock enable and GPIO
# alternate-function set-up for the ST-LINK virtual COM port (firmware/uart/<kind>.c).
UART_KINDS = ("cmsdk", "nrf51", "pl011", "stm32-usart", "stm32l4-usart", "stm32g0-usart", "stm32f7-usart")
# renode-icount: a memory cell at `base` that a Renode CPU hook fills with the executed-instruction
# count each time the firmware reads it (exact counts; see harness/backends/renode.py).
COUNTER_KINDS = ("cmsdk-timer", "systick", "nrf51-timer", "dwt", "renode-icount")
# Counters that live at a fixed architectural address have no `base`.
COUNTERS_WITHOUT_BASE = ("systick", "dwt")
ICOUNT_SHIFT_MAX = 10  # QEMU rejects larger shifts ("Invalid shift value")
# Ticks per instruction must exceed this so tick counts map back to exact instruction counts.
MIN_TICKS_PER_INSN = 2

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class MemoryRegion:
    origin: int
    size: int

    @property
    def end(self) -> int:
        return self.origin + self.size


@dataclass(frozen=True)
class Uart:
    kind: str
    base: int
    baud: int


@dataclass(frozen=True)
class Counter:
    kind: str
    base: int | None
    hz: int


@dataclass(frozen=True)
class QemuSettings:
    machine: str
    icount_shift: int


RENODE_GENERATED = "generated"


@dataclass(frozen=True)
class RenodeSettings:
    """How Renode models the board.

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


@dataclass(frozen=True)
class PyocdSettings:
    """A real board behind a debug probe: what pyOCD needs to flash it and where its UART is.

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


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: str
    fpu: str | None
    clock_hz: int
    stack_bytes: int
    backend: str
    flash: MemoryRegion
    ram: MemoryRegion
    uart: Uart
    counter: Counter
    qemu: QemuSettings | None
    renode: RenodeSettings | None
    pyocd: PyocdSettings | None
    path: Path

    @property
    def emulated(self) -> bool:
        """Emulators count instructions and support semihosting; hardware counts cycles."""
        return self.backend in EMULATED_BACKENDS

    def cpu_flags(self) -> list[str]:
        """gcc flags selecting this board's core and float ABI."""
        flags = [f"-mcpu={self.core}", "-mthumb"]
        if self.fpu is None:
            flags.append("-mfloat-abi=soft")
        else:
            flags += [f"-mfpu={self.fpu}", "-mfloat-abi=hard"]
        return flags

    def ticks_per_instruction(self) -> Fraction | None:
        """Exact counter ticks per emulated instruction under QEMU icount (None otherwise)."""
        if self.backend != "qemu" or self.qemu is None:
            return None
        return Fraction(2**self.qemu.icount_shift * self.counter.hz, 10**9)


# ---------------------------------------------------------------------------------------------
# Validation helpers


class _Ctx:
    """Where we are in a board file, so every error can name file, line and field."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, table: str, key: str | None) -> int | None:
        """Best-effort line number of `key` inside `[table]` (or of the table header)."""
        header_re = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
        current = ""
        header_line: int | None = None
        for i, raw in enumerate(self.lines, start=1):
            m = header_re.match(raw)
            if m:
                current = m.group(1).replace(" ", "").replace('"', "")
                if current == table and key is None:
                    return i
                if current == table:
                    header_line = i
                continue
            if key is not None and current == table:
                if re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", raw):
                    return i
            if key is not None and table and current == "":
                # dotted key at top level, e.g. `uart.kind = "cmsdk"`
                if re.match(rf"^\s*{re.escape(table)}\s*\.\s*{re.escape(key)}\s*=", raw):
                    return i
        return header_line

    def fail(self, table: str, key: str | None, problem: str) -> ConfigError:
        field = ".".join(p for p in (table, key) if p) or "(top level)"
        line = self.line_of(table, key)
        where = f"{self.path}:{line}" if line else f"{self.path}"
        return ConfigError(
            f"{where}: field '{field}': {problem}", file=str(self.path), line=line, field=field
        )


def _table(ctx: _Ctx, data: dict[str, Any], key: str, parent: str, required: bool) -> dict[str, Any] | None:
    full = f"{parent}.{key}" if parent else key
    if key not in data:
        if required:
            raise ctx.fail(parent, None, f"missing table [{full}]")
        return None
    value = data[key]
    if not isinstance(value, dict):
        raise ctx.fail(parent, key, f"must be a table [{full}], got {type(value).__name__} {value!r}")
    return value


def _check_keys(ctx: _Ctx, data: dict[str, Any], table: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for key in data:
        if key not in allowed:
            raise ctx.fail(table, key, f"unknown field '{key}'; allowed: {', '.join(allowed)}")


def _get(
    ctx: _Ctx,
    data: dict[str, Any],
    table: str,
    key: str,
    kind: type,
    *,
    required: bool = True,
    choices: tuple[str, ...] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> Any:
    if key not in data:
        if required:
            raise ctx.fail(table, key, "missing (required)")
        return None
    value = data[key]
    type_ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not type_ok:
        want = {int: "an integer (hex allowed, e.g. 0x20000000)", str: "a string"}.get(kind, kind.__name__)
        raise ctx.fail(table, key, f"must be {want}, got {type(value).__name__} {value!r}")
    if choices is not None and value not in choices:
        raise ctx.fail(table, key, f"bad value {value!r}; allowed: {', '.join(choices)}")
    if minimum is not None and value < minimum:
        raise ctx.fail(table, key, f"bad value {value!r}; must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ctx.fail(table, key, f"bad value {value!r}; must be <= {maximum:#x}")
    return value


_U32 = 0xFFFFFFFF


def _region(ctx: _Ctx, data: dict[str, Any], which: str) -> MemoryRegion:
    table = f"memory.{which}"
    _check_keys(ctx, data, table, ("origin", "size"))
    origin = _get(ctx, data, table, "origin", int, minimum=0, maximum=_U32)
    size = _get(ctx, data, table, "size", int, minimum=1, maximum=_U32 + 1)
    if origin + size > _U32 + 1:
        raise ctx.fail(table, "size", f"region {origin:#x}+{size:#x} runs past the 4 GiB address space")
    if origin % 4:
        raise ctx.fail(table, "origin", f"bad value {origin:#x}; must be 4-byte aligned")
    return MemoryRegion(origin, size)


_TOP_KEYS = (
    "name", "description", "core", "fpu", "clock_hz", "stack_bytes", "backend",
    "memory", "uart", "counter", "qemu", "renode", "pyocd",
)


def _parse(path: Path, text: str) -> Board:
    ctx = _Ctx(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+), column (\d+)", str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (None, None)
        where = f"{path}:{line}:{col}" if m else str(path)
        raise ConfigError(
            f"{where}: TOML syntax error: {exc}. Fix the file (see boards/m4.toml for a valid example).",
            file=str(path), line=line, column=col, field=None,
        ) from exc

    _check_keys(ctx, data, "", _TOP_KEYS)
    name = _get(ctx, data, "", "name", str)
    if not _NAME_RE.match(name):
        raise ctx.fail("", "name", f"bad value {name!r}; use lower-case letters, digits, '-' and '_'")
    if name != path.stem:
        raise ctx.fail("", "name", f"bad value {name!r}; must match the file name '{path.stem}'")
    description = _get(ctx, data, "", "description", str)
    core = _get(ctx, data, "", "core", str, choices=CORES)
    fpu_raw = _get(ctx, data, "", "fpu", str, choices=("none",) + CORE_FPUS[core])
    fpu = None if fpu_raw == "none" else fpu_raw
    clock_hz = _get(ctx, data, "", "clock_hz", int, minimum=1, maximum=2_000_000_000)
    stack_bytes = _get(ctx, data, "", "stack_bytes", int, minimum=256, maximum=_U32)
    if stack_bytes % 8:
        raise ctx.fail("", "stack_bytes", f"bad value {stack_bytes}; must be a multiple of 8 (AAPCS stack alignment)")
    backend = _get(ctx, data, "", "backend", str, choices=BACKENDS)

    memory = _table(ctx, data, "memory", "", required=True)
    assert memory is not None
    _check_keys(ctx, memory, "memory", ("flash", "ram"))
    flash_t = _table(ctx, memory, "flash", "memory", required=True)
    ram_t = _table(ctx, memory, "ram", "memory", required=True)
    assert flash_t is not None and ram_t is not None
    flash = _region(ctx, flash_t, "flash")
    ram = _region(ctx, ram_t, "ram")
    if flash.origin < ram.end and ram.origin < flash.end:
        raise ctx.fail("memory.ram", "origin", f"RAM {ram.origin:#x}+{ram.size:#x} overlaps flash {flash.origin:#x}+{flash.size:#x}")
    if stack_bytes >= ram.size:
        raise ctx.fail("", "stack_bytes", f"bad value {stack_bytes}; must be smaller than RAM ({ram.size} bytes)")

    uart_t = _table(ctx, data, "uart", "", required=True)
    assert uart_t is not None
    _check_keys(ctx, uart_t, "uart", ("kind", "base", "baud"))
    uart = Uart(
        kind=_get(ctx, uart_t, "uart", "kind", str, choices=UART_KINDS),
        base=_get(ctx, uart_t, "uart", "base", int, minimum=0, maximum=_U32),
        baud=_get(ctx, uart_t, "uart", "baud", int, minimum=300, maximum=20_000_000),
    )

    counter_t = _table(ctx, data, "counter", "", required=True)
    assert counter_t is not None
    _check_keys(ctx, counter_t, "counter", ("kind", "base", "hz"))
    ckind = _get(ctx, counter_t, "counter", "kind", str, choices=COUNTER_KINDS)
    if ckind in COUNTERS_WITHOUT_BASE:
        if "base" in counter_t:
            raise ctx.fail("counter", "base", f"must be omitted for counter kind '{ckind}' (fixed architectural address)")
        cbase = None
    else:
        cbase = _get(ctx, counter_t, "counter", "base", int, minimum=0, maximum=_U32)
    counter = Counter(kind=ckind, base=cbase, hz=_get(ctx, counter_t, "counter", "hz", int, minimum=1, maximum=2_000_000_000))
    if ckind == "renode-icount":
        if backend != "renode":
            raise ctx.fail("counter", "kind", f"'renode-icount' only works with backend \"renode\" (got {backend!r}); "
                           "use dwt or systick on hardware, a timer on QEMU")
        assert cbase is not None
        if cbase % 4 or any(r.origin <= cbase < r.end for r in (flash, ram)):
            raise ctx.fail("counter", "base", f"bad value {cbase:#x}: must be 4-byte aligned and outside flash and RAM "
                           "(the generated platform maps a page of its own there)")

    qemu_t = _table(ctx, data, "qemu", "", required=backend == "qemu")
    qemu = None
    if qemu_t is not None:
        _check_keys(ctx, qemu_t, "qemu", ("machine", "icount_shift"))
        machine = _get(ctx, qemu_t, "qemu", "machine", str)
        if not machine:
            raise ctx.fail("qemu", "machine", "must not be empty; see `qemu-system-arm -M help`")
        shift = _get(ctx, qemu_t, "qemu", "icount_shift", int, minimum=0, maximum=ICOUNT_SHIFT_MAX)
        qemu = QemuSettings(machine=machine, icount_shift=shift)
        tpi = Fraction(2**shift * counter.hz, 10**9)
        if tpi <= MIN_TICKS_PER_INSN:
            ok = [s for s in range(ICOUNT_SHIFT_MAX + 1) if Fraction(2**s * counter.hz, 10**9) > MIN_TICKS_PER_INSN]
            hint = f"use icount_shift >= {ok[0]}" if ok else "counter.hz is too low for exact counts at any shift"
            raise ctx.fail(
                "qemu", "icount_shift",
                f"bad value {shift}: {float(tpi):.3f} counter ticks per instruction at counter.hz={counter.hz}; "
                f"must be > {MIN_TICKS_PER_INSN} for exact instruction counts ({hint})",
            )

    renode_t = _table(ctx, data, "renode", "", required=backend == "renode")
    renode = None
    if renode_t is not None:
        _check_keys(ctx, renode_t, "renode", ("platform", "mips", "uart_name"))
        platform = _get(ctx, renode_t, "renode", "platform", str, required=False) or RENODE_GENERATED
        uart_name = _get(ctx, renode_t, "renode", "uart_name", str, required=False)
        renode = RenodeSettings(
            platform=platform,
            mips=_get(ctx, renode_t, "renode", "mips", int, required=False, minimum=1, maximum=100_000),
            uart_name=uart_name,
        )
        custom = renode.platform_path(path)
        if custom is not None:
            if not custom.is_file():
                raise ctx.fail("renode", "platform", f"bad value {platform!r}: {custom} does not exist; "
                               f"use \"{RENODE_GENERATED}\" or a .repl path relative to the board file")
            if not uart_name:
                raise ctx.fail("renode", "uart_name", "missing: a custom platform needs the name of its UART "
                               "peripheral (e.g. \"sysbus.usart2\")")
        elif uart_name is not None:
            raise ctx.fail("renode", "uart_name", f"must be omitted for platform \"{RENODE_GENERATED}\" "
                           "(the generated platform names its UART itself)")

    pyocd_t = _table(ctx, data, "pyocd", "", required=backend == "pyocd")
    pyocd = None
    if pyocd_t is not None:
        _check_keys(ctx, pyocd_t, "pyocd", ("target", "probe", "serial", "pack", "swd_hz"))
        target = _get(ctx, pyocd_t, "pyocd", "target", str)
        if not re.match(r"^[a-z0-9_]+$", target):
            raise ctx.fail("pyocd", "target", f"bad value {target!r}; pyOCD target names are lower-case, "
                           "e.g. \"stm32l432kc\" (see `pyocd list --targets`)")
        pyocd = PyocdSettings(
            target=target,
            probe=_get(ctx, pyocd_t, "pyocd", "probe", str, required=False) or None,
            serial=_get(ctx, pyocd_t, "pyocd", "serial", str, required=False) or None,
            pack=_get(ctx, pyocd_t, "pyocd", "pack", str, required=False),
            swd_hz=_get(ctx, pyocd_t, "pyocd", "swd_hz", int, required=False, minimum=1000, maximum=100_000_000),
        )

    return Board(
        name=name, description=description, core=core, fpu=fpu, clock_hz=clock_hz,
        stack_bytes=stack_bytes, backend=backend, flash=flash, ram=ram, uart=uart,
        counter=counter, qemu=qemu, renode=renode, pyocd=pyocd, path=path,
    )


# ---------------------------------------------------------------------------------------------
# Public API


def load_board(name_or_path: str | os.PathLike[str]) -> Board:
    """Load `boards/<name>.toml`, or a board file given by path."""
    raw = str(name_or_path)
    candidate = Path(raw)
    if raw.endswith(".toml") or os.sep in raw or "/" in raw:
        path = candidate
    else:
        path = BOARDS_DIR / f"{raw}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in BOARDS_DIR.glob("*.toml"))) or "(none)"
        raise ConfigError(
            f"board '{raw}' not found (looked for {path}); known boards: {known}",
            file=str(path), field=None,
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read board file: {exc}", file=str(path)) from exc
    return _parse(path.resolve(), text)


def list_boards(directory: str | os.PathLike[str] | None = None) -> list[Board]:
    """Every board file in `boards/` (or `directory`), sorted by name."""
    root = Path(directory) if directory is not None else BOARDS_DIR
    return [load_board(p) for p in sorted(root.glob("*.toml"))]


def _kib(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    return f"{n / 1024:g} KiB"


def format_board_table(boards: Iterable[Board]) -> str:
    """The `hil boards` table: one line per board, the facts that matter when choosing one."""
    header = ("board", "core", "fpu", "clock", "flash", "ram", "stack", "uart", "counter", "backend", "description")
    rows = [header]
    for b in boards:
        target = b.backend
        if b.qemu is not None and b.backend == "qemu":
            target = f"qemu {b.qemu.machine}"
        elif b.renode is not None and b.backend == "renode":
            target = f"renode {b.renode.platform}"
        elif b.pyocd is not None and b.backend == "pyocd":
            target = f"pyocd {b.pyocd.target}"
        rows.append((
            b.name, b.core, b.fpu or "-", f"{b.clock_hz / 1e6:g} MHz", _kib(b.flash.size),
            _kib(b.ram.size), _kib(b.stack_bytes), b.uart.kind, b.counter.kind, target, b.description,
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    lines = []
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths)] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(header[-1]))
    return "\n".join(lines)
