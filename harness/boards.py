"""Board specs: one TOML file per board in `boards/`, loaded into frozen dataclasses.

A board is data only. Everything downstream (build flags, linker script, firmware defines,
the emulator command line) is derived from it, so this module validates hard: every bad
value becomes a `ConfigError` naming the file, the line (when findable), the field, the bad
value and what is allowed. Adding a board means adding one file.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends import Backend, BackendSettings, Capabilities, backend_class, backend_names
from harness.backends.registry import counter_owner
from harness.board_file import U32, BoardFile, Section
from harness.clocks import CLOCK_CHIPS, CLOCK_SOURCES, ClockSetting
from harness.errors import ConfigError
from harness.resources import data_dir

BOARDS_DIR = Path(os.environ.get("HIL_BOARDS_DIR", data_dir("boards")))

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
# stm32-usart: the USART alone (clocks and pins set up elsewhere, e.g. Renode's model needs none);
# stm32{l4,g0,f7}-usart: the same driver plus that chip family's RCC clock enable and GPIO
# alternate-function set-up for the ST-LINK virtual COM port (firmware/uart/<kind>.c).
# nrf52-uarte: the nRF52 UARTE with EasyDMA (nRF52840 DK's J-Link VCP pins).
UART_KINDS = ("cmsdk", "nrf51", "nrf52-uarte", "pl011", "stm32-usart", "stm32l4-usart", "stm32g0-usart",
              "stm32f7-usart")
# renode-icount: a memory cell at `base` that a Renode CPU hook fills with the executed-instruction
# count each time the firmware reads it (exact counts; a backend's `own_counter_kinds`).
COUNTER_KINDS = ("cmsdk-timer", "systick", "nrf51-timer", "dwt", "renode-icount")
# Counters that live at a fixed architectural address have no `base`.
COUNTERS_WITHOUT_BASE = ("systick", "dwt")

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# `--board NAME@twin` (or `--twin`): NAME's Renode twin. Its records, budgets and baselines carry
# this name, so twin instruction counts never mix with the board's cycles.
TWIN_SUFFIX = "@twin"


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
class Clock:
    """`[clock]`: which firmware/clock/<chip>.c brings the chip up, and to which setting."""

    chip: str
    source: str  # "full" (PLL, wait states, caches) or "reset" (the clock the chip starts with)
    setting: ClockSetting


@dataclass(frozen=True)
class Twin:
    """`[twin]`: the Renode platform that runs this real board's unmodified ELF."""

    platform: Path  # a committed .repl, loaded where it lies (its `using` lines resolve from there)
    uart: str  # the platform's peripheral wired to the board UART, e.g. "sysbus.usart2"
    mips: int  # PerformanceInMips of the twin's CPU (virtual time only; counts do not depend on it)


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
    settings: BackendSettings  # the backend's own table `[<backend>]`, parsed by that backend
    path: Path
    clock: Clock | None = None
    twin: Twin | None = None
    # Set on a twin (see `twin_board`): the real board whose hardware ELF this board runs.
    hardware: Board | None = None
    # `[memory.mailbox]`: where the firmware's input/output buffers go instead of RAM (a memory
    # the host can map, e.g. QEMU's machine RAM shared through a file); None: they stay in RAM.
    mailbox: MemoryRegion | None = None

    @property
    def uart_clock_hz(self) -> int:
        """The UART's kernel clock (what a baud-rate divider is computed from)."""
        return self.clock.setting.uart_clock_hz if self.clock is not None else self.clock_hz

    @property
    def build_board(self) -> Board:
        """The board whose firmware this board runs: itself, or for a twin the real board."""
        return self.hardware or self

    @property
    def backend_class(self) -> type[Backend[Any]]:
        """The class that runs this board (ConfigError if no backend of that name is registered)."""
        return backend_class(self.backend)

    @property
    def capabilities(self) -> Capabilities:
        return self.backend_class.capabilities

    @property
    def emulated(self) -> bool:
        """Emulators count instructions and support semihosting; hardware counts cycles."""
        return self.capabilities.emulated

    def cpu_flags(self) -> list[str]:
        """gcc flags selecting this board's core and float ABI."""
        flags = [f"-mcpu={self.core}", "-mthumb"]
        if self.fpu is None:
            flags.append("-mfloat-abi=soft")
        else:
            flags += [f"-mfpu={self.fpu}", "-mfloat-abi=hard"]
        return flags


# ---------------------------------------------------------------------------------------------
# Parsing


def _region(section: Section) -> MemoryRegion:
    section.check_keys(("origin", "size"))
    origin = section.get("origin", int, minimum=0, maximum=U32)
    size = section.get("size", int, minimum=1, maximum=U32 + 1)
    if origin + size > U32 + 1:
        raise section.fail("size", f"region {origin:#x}+{size:#x} runs past the 4 GiB address space")
    if origin % 4:
        raise section.fail("origin", f"bad value {origin:#x}; must be 4-byte aligned")
    return MemoryRegion(origin, size)


def _overlap(a: MemoryRegion, b: MemoryRegion) -> bool:
    return a.origin < b.end and b.origin < a.end


_COMMON_KEYS = ("name", "description", "core", "fpu", "clock_hz", "stack_bytes", "backend", "memory", "uart", "counter",
                "clock", "twin")
# Board.settings until the backend's table is parsed (the backend sees the common fields only).
_PENDING = BackendSettings()


def _toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+), column (\d+)", str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (None, None)
        where = f"{path}:{line}:{col}" if m else str(path)
        raise ConfigError(
            f"{where}: TOML syntax error: {exc}. Fix the file (see boards/m4.toml for a valid example).",
            file=str(path), line=line, column=col, field=None,
        ) from exc


def _parse(path: Path, text: str) -> Board:
    top = BoardFile(path, text).section(_toml(path, text))
    backend = top.get("backend", str, choices=backend_names())
    # The backend's own table is `[<backend>]`; unknown tables (another backend's too) are errors.
    for other in set(top.data) & set(backend_names()) - {backend}:
        raise top.fail(other, f"table [{other}] is for backend \"{other}\", but this board's backend is "
                       f"{backend!r}; remove it (or set backend = \"{other}\")")
    top.check_keys((*_COMMON_KEYS, backend))
    name = top.get("name", str)
    if not _NAME_RE.match(name):
        raise top.fail("name", f"bad value {name!r}; use lower-case letters, digits, '-' and '_'")
    if name != path.stem:
        raise top.fail("name", f"bad value {name!r}; must match the file name '{path.stem}'")
    description = top.get("description", str)
    core = top.get("core", str, choices=CORES)
    fpu_raw = top.get("fpu", str, choices=("none", *CORE_FPUS[core]))
    clock_hz = top.get("clock_hz", int, minimum=1, maximum=2_000_000_000)
    stack_bytes = top.get("stack_bytes", int, minimum=256, maximum=U32)
    if stack_bytes % 8:
        raise top.fail("stack_bytes", f"bad value {stack_bytes}; must be a multiple of 8 (AAPCS stack alignment)")

    memory = top.table_at("memory", required=True)
    assert memory is not None
    memory.check_keys(("flash", "ram", "mailbox"))
    flash_t, ram_t = memory.table_at("flash", required=True), memory.table_at("ram", required=True)
    assert flash_t is not None and ram_t is not None
    flash, ram = _region(flash_t), _region(ram_t)
    if _overlap(flash, ram):
        raise ram_t.fail("origin", f"RAM {ram.origin:#x}+{ram.size:#x} overlaps flash {flash.origin:#x}+{flash.size:#x}")
    mailbox_t = memory.table_at("mailbox", required=False)
    mailbox: MemoryRegion | None = None
    if mailbox_t is not None:
        mailbox = _region(mailbox_t)
        for region, what in ((flash, "flash"), (ram, "RAM")):
            if _overlap(mailbox, region):
                raise mailbox_t.fail("origin", f"mailbox {mailbox.origin:#x}+{mailbox.size:#x} overlaps {what} "
                                     f"{region.origin:#x}+{region.size:#x}; it must be a memory of its own")
    if stack_bytes >= ram.size:
        raise top.fail("stack_bytes", f"bad value {stack_bytes}; must be smaller than RAM ({ram.size} bytes)")

    uart_t = top.table_at("uart", required=True)
    assert uart_t is not None
    uart_t.check_keys(("kind", "base", "baud"))
    uart = Uart(
        kind=uart_t.get("kind", str, choices=UART_KINDS),
        base=uart_t.get("base", int, minimum=0, maximum=U32),
        baud=uart_t.get("baud", int, minimum=300, maximum=20_000_000),
    )

    counter_t = top.table_at("counter", required=True)
    assert counter_t is not None
    counter_t.check_keys(("kind", "base", "hz"))
    ckind = counter_t.get("kind", str, choices=COUNTER_KINDS)
    cbase: int | None = None
    if ckind in COUNTERS_WITHOUT_BASE:
        if "base" in counter_t.data:
            raise counter_t.fail("base", f"must be omitted for counter kind '{ckind}' (fixed architectural address)")
    else:
        cbase = counter_t.get("base", int, minimum=0, maximum=U32)
    counter = Counter(kind=ckind, base=cbase, hz=counter_t.get("hz", int, minimum=1, maximum=2_000_000_000))
    owner = counter_owner(ckind)
    if owner is not None and owner != backend:
        raise counter_t.fail("kind", f"'{ckind}' only works with backend \"{owner}\" (got {backend!r}); "
                             "use dwt or systick on hardware, a timer on QEMU")

    clock = _clock(top, clock_hz, counter)
    board = Board(
        name=name, description=description, core=core, fpu=None if fpu_raw == "none" else fpu_raw,
        clock_hz=clock_hz, stack_bytes=stack_bytes, backend=backend, flash=flash, ram=ram, uart=uart,
        counter=counter, settings=_PENDING, path=path, clock=clock, twin=_twin(top, path), mailbox=mailbox,
    )
    section = top.table_at(backend, required=True)
    assert section is not None
    return dataclasses.replace(board, settings=board.backend_class.parse_section(section, board))


def _clock(top: Section, clock_hz: int, counter: Counter) -> Clock | None:
    """`[clock]` chip + source; clock_hz and a cycle counter's hz must be that setting's clock."""
    table = top.table_at("clock", required=False)
    if table is None:
        return None
    table.check_keys(("chip", "source"))
    chip = table.get("chip", str, choices=tuple(CLOCK_CHIPS))
    source = table.get("source", str, choices=CLOCK_SOURCES)
    setting = CLOCK_CHIPS[chip][source]
    if clock_hz != setting.sysclk_hz:
        raise top.fail("clock_hz", f"bad value {clock_hz}; [clock] chip {chip!r} source {source!r} runs the core "
                       f"at {setting.sysclk_hz} Hz ({setting.summary})")
    if counter.kind in COUNTERS_WITHOUT_BASE and counter.hz != clock_hz:
        raise top.file.fail("counter", "hz", f"bad value {counter.hz}; {counter.kind} counts core cycles, so it must "
                            f"equal clock_hz ({clock_hz})")
    return Clock(chip, source, setting)


def _twin(top: Section, path: Path) -> Twin | None:
    table = top.table_at("twin", required=False)
    if table is None:
        return None
    table.check_keys(("platform", "uart", "mips"))
    rel = table.get("platform", str)
    platform = (path.parent / rel).resolve()
    if not platform.is_file():
        raise table.fail("platform", f"bad value {rel!r}: {platform} does not exist (a .repl relative to the board file)")
    return Twin(platform, table.get("uart", str), table.get("mips", int, minimum=1, maximum=100_000))


# ---------------------------------------------------------------------------------------------
# Public API


def twin_board(board: Board) -> Board:
    """The Renode twin of a real board: same name and firmware (its hardware ELF, built for
    `board`), run on the platform its `[twin]` table names, counting exact instructions."""
    if board.hardware is not None:
        return board
    if board.twin is None:
        raise ConfigError(f"board '{board.name}' ({board.path}) has no [twin] table: it names no Renode twin; "
                          f"boards with one: {', '.join(b.name for b in list_boards() if b.twin) or '(none)'}",
                          file=str(board.path), field="twin")
    from harness.backends.renode import RenodeSettings

    settings = RenodeSettings(platform=str(board.twin.platform), mips=board.twin.mips, uart_name=board.twin.uart)
    return dataclasses.replace(board, name=board.name + TWIN_SUFFIX, backend="renode", settings=settings,
                               hardware=board)


def load_board(name_or_path: str | os.PathLike[str], *, twin: bool = False) -> Board:
    """Load `boards/<name>.toml`, or a board file given by path; with `twin` (or a name ending in
    `@twin`) the board's Renode twin (`twin_board`)."""
    raw = str(name_or_path)
    if raw.endswith(TWIN_SUFFIX):
        return twin_board(load_board(raw[: -len(TWIN_SUFFIX)]))
    if twin:
        return twin_board(load_board(raw))
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
        target = f"{b.backend} {b.settings.summary()}".strip() + (" +twin" if b.twin else "")
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
