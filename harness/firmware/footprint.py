"""Flash and RAM footprint of a built ELF, with model weights and code shown apart.

Read from the ELF (pyelftools), not from the map file, so it works for any ELF the build
produced. Where bytes live is decided by load vs run address, not by section names:
every allocated section with contents is stored in flash; a section whose run address
differs from its load address (`.data`) is copied to RAM too; NOBITS sections occupy RAM
only. This matches `arm-none-eabi-size`: flash = text + data, RAM = data + bss, with the
reserved `.stack` (part of size's bss) reported apart. The mailbox (`.hil_mailbox`, the input and
output buffers) counts as bss when it is in RAM; on a board with a `[memory.mailbox]` region it
is neither RAM nor flash and is reported apart as `mailbox` (size's bss includes it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import Section, SymbolTableSection
from elftools.elf.segments import Segment

from harness.boards import Board
from harness.errors import BuildError, DoesNotFit
from harness.firmware.linker import MAILBOX_SECTION

WEIGHT_PREFIX = "hil_w_"
ARENA_SYMBOL = "hil_arena"
STACK_SECTION = ".stack"
VECTOR_SECTION = ".isr_vector"


@dataclass(frozen=True)
class Footprint:
    """Bytes by kind. flash = vectors + text + rodata + data; ram = data + bss; stack apart;
    mailbox: the input/output buffers when they live outside RAM (else 0: they are in bss)."""

    flash: int
    ram: int
    vectors: int
    text: int
    rodata: int
    data: int
    bss: int
    stack: int
    weights: int
    code: int
    arena: int
    mailbox: int = 0

    @property
    def ram_total(self) -> int:
        """RAM including the reserved stack: what must fit in the board's RAM."""
        return self.ram + self.stack

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"ram_total": self.ram_total}


def footprint(elf: str | os.PathLike[str]) -> Footprint:
    """Measure an ELF built by `build_firmware` (any ARM ELF works)."""
    path = Path(elf)
    try:
        with path.open("rb") as fh:
            ef = ELFFile(fh)
            loads = [s for s in ef.iter_segments() if s["p_type"] == "PT_LOAD"]
            vectors = text = rodata = data = bss = stack = mailbox = 0
            outside_ram = _outside_ram(ef)
            for sec in ef.iter_sections():
                flags = sec["sh_flags"]
                size = sec["sh_size"]
                if not flags & SH_FLAGS.SHF_ALLOC or size == 0:
                    continue
                if sec["sh_type"] == "SHT_NOBITS":
                    if sec.name == STACK_SECTION:
                        stack += size
                    elif outside_ram(sec):
                        mailbox += size
                    else:
                        bss += size
                    continue
                if _load_address(sec, loads) != sec["sh_addr"]:
                    data += size  # copied from flash to RAM at boot
                elif sec.name == VECTOR_SECTION:
                    vectors += size
                elif flags & SH_FLAGS.SHF_EXECINSTR:
                    text += size
                else:
                    rodata += size
            weights = arena = 0
            symtab = ef.get_section_by_name(".symtab")
            if isinstance(symtab, SymbolTableSection):
                for sym in symtab.iter_symbols():
                    if sym["st_info"]["type"] != "STT_OBJECT" or sym["st_shndx"] == "SHN_UNDEF":
                        continue
                    if sym.name.startswith(WEIGHT_PREFIX):
                        weights += sym["st_size"]
                    elif sym.name == ARENA_SYMBOL:
                        arena = max(arena, sym["st_size"])
    except (OSError, ELFError) as exc:
        raise BuildError(f"cannot read ELF {path}: {exc}; rebuild the firmware", log="") from exc
    flash = vectors + text + rodata + data
    return Footprint(
        flash=flash, ram=data + bss, vectors=vectors, text=text, rodata=rodata, data=data, bss=bss,
        stack=stack, weights=weights, code=flash - weights - data, arena=arena, mailbox=mailbox,
    )


def _outside_ram(ef: ELFFile) -> Callable[[Section], bool]:
    """Whether a section is the mailbox placed outside RAM: RAM runs from `_sbss` (the linker
    script puts an in-RAM mailbox inside `_sbss`.._ebss) to the stack's end `_estack`."""
    symtab = ef.get_section_by_name(".symtab")
    marks = {}
    if isinstance(symtab, SymbolTableSection):
        for name in ("_sbss", "_estack"):
            found = symtab.get_symbol_by_name(name)
            if found:
                marks[name] = found[0]["st_value"]
    if len(marks) < 2:  # not linked by harness/firmware/linker.py: everything NOBITS is RAM
        return lambda sec: False
    return lambda sec: sec.name == MAILBOX_SECTION and not marks["_sbss"] <= sec["sh_addr"] < marks["_estack"]


def _load_address(sec: Section, loads: list[Segment]) -> int:
    for seg in loads:
        if seg.section_in_segment(sec):
            return sec["sh_addr"] - seg["p_vaddr"] + seg["p_paddr"]
    return sec["sh_addr"]


TOP_CONTRIBUTORS = 5


@dataclass(frozen=True)
class RegionUse:
    """How much of one board region an ELF needs, what that is made of, and its largest symbols."""

    region: str                            # "flash", "RAM" or "mailbox"
    need: int                              # origin to the end of the last section placed there (+ stack)
    capacity: int
    parts: tuple[tuple[str, int], ...]     # e.g. code, weights, data / data, bss, arena, stack
    largest: tuple[tuple[str, int], ...]   # the biggest symbols (and the stack) in the region

    @property
    def shortfall(self) -> int:
        return self.need - self.capacity

    def describe(self) -> str:
        parts = " + ".join(f"{name} {size:,}" for name, size in self.parts if size)
        top = ", ".join(f"{name} {size:,} B" for name, size in self.largest)
        return (f"{self.region} needs {self.need:,} B ({parts}), the board has {self.capacity:,} B: "
                f"short by {self.shortfall:,} B; largest: {top}")


def region_use(elf: str | os.PathLike[str], board: Board) -> list[RegionUse]:
    """Flash and RAM (and the board's mailbox region, if it has one) as the ELF uses them on
    `board`, from section addresses (so alignment gaps count, as they do for the linker) and the
    symbol table. Works on an ELF linked for a bigger board too, which is how the build measures
    firmware that does not fit."""
    fp = footprint(elf)
    flash_end, ram_end = board.flash.origin, board.ram.origin
    mailbox = board.mailbox
    mailbox_end = mailbox.origin if mailbox is not None else 0
    flash_syms: list[tuple[str, int]] = []
    ram_syms: list[tuple[str, int]] = [("stack", fp.stack)]
    mailbox_syms: list[tuple[str, int]] = []
    with Path(elf).open("rb") as fh:
        ef = ELFFile(fh)
        loads = [s for s in ef.iter_segments() if s["p_type"] == "PT_LOAD"]
        outside_ram = _outside_ram(ef)
        for sec in ef.iter_sections():
            if not sec["sh_flags"] & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0 or sec.name == STACK_SECTION:
                continue
            if outside_ram(sec):
                mailbox_end = max(mailbox_end, sec["sh_addr"] + sec["sh_size"])
                continue
            if sec["sh_type"] != "SHT_NOBITS":
                lma = _load_address(sec, loads)
                if lma >= board.flash.origin and lma < board.ram.origin:
                    flash_end = max(flash_end, lma + sec["sh_size"])
            if sec["sh_addr"] >= board.ram.origin:
                ram_end = max(ram_end, sec["sh_addr"] + sec["sh_size"])
        symtab = ef.get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if isinstance(symtab, SymbolTableSection) else ():
            if sym["st_info"]["type"] not in ("STT_OBJECT", "STT_FUNC") or sym["st_size"] == 0 \
                    or not isinstance(sym["st_shndx"], int):
                continue
            if mailbox is not None and mailbox.origin <= sym["st_value"] < mailbox_end:
                target = mailbox_syms
            else:
                target = ram_syms if sym["st_value"] >= board.ram.origin else flash_syms
            target.append((sym.name, sym["st_size"]))
    mailbox_use = [] if mailbox is None or not fp.mailbox else [
        RegionUse("mailbox", mailbox_end - mailbox.origin, mailbox.size, (("input + output", fp.mailbox),),
                  _largest(mailbox_syms))]
    return [
        RegionUse("flash", flash_end - board.flash.origin, board.flash.size,
                  (("code", fp.code), ("weights", fp.weights), ("data", fp.data)), _largest(flash_syms)),
        RegionUse("RAM", ram_end - board.ram.origin + fp.stack, board.ram.size,
                  (("data", fp.data), ("bss", fp.bss - fp.arena), ("arena", fp.arena), ("stack", fp.stack)),
                  _largest(ram_syms)),
        *mailbox_use,
    ]


def _largest(symbols: list[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(symbols, key=lambda s: -s[1])[:TOP_CONTRIBUTORS])


def shortfalls(elf: str | os.PathLike[str], board: Board) -> list[RegionUse]:
    """The regions of `board` the ELF does not fit in (empty when it fits)."""
    return [r for r in region_use(elf, board) if r.shortfall > 0]


def does_not_fit(what: str, short: list[RegionUse], board: Board) -> DoesNotFit:
    """The DoesNotFit error for `short` regions (from `shortfalls`)."""
    return DoesNotFit(
        f"{what} does not fit board '{board.name}': " + "; ".join(r.describe() for r in short)
        + ". Shrink the model (weights, arena) or pick a bigger board.",
        board=board.name, region=short[0].region.upper(),
        need=short[0].need, capacity=short[0].capacity, shortfall=short[0].shortfall,
        regions={r.region: {"need": r.need, "capacity": r.capacity, "shortfall": r.shortfall,
                            "largest": list(r.largest)} for r in short},
    )


def fit_problems(fp: Footprint, board: Board) -> list[str]:
    """Human-readable reasons the firmware does not fit `board` (empty when it fits)."""
    problems = []
    if fp.flash > board.flash.size:
        problems.append(
            f"flash: {fp.flash} B used (weights {fp.weights}, code {fp.code}, data {fp.data}) "
            f"> {board.flash.size} B on board '{board.name}' (over by {fp.flash - board.flash.size} B)"
        )
    if fp.ram_total > board.ram.size:
        problems.append(
            f"RAM: {fp.ram_total} B used (data {fp.data}, bss {fp.bss} incl. arena {fp.arena}, stack {fp.stack}) "
            f"> {board.ram.size} B on board '{board.name}' (over by {fp.ram_total - board.ram.size} B)"
        )
    return problems


def check_fits(fp: Footprint, board: Board) -> Footprint:
    """Raise DoesNotFit (with the numbers) unless the footprint fits the board; else return it."""
    problems = fit_problems(fp, board)
    if problems:
        raise DoesNotFit(
            "firmware does not fit: " + "; ".join(problems) + ". Shrink the model or pick a bigger board.",
            board=board.name, footprint=fp.as_dict(), flash_size=board.flash.size, ram_size=board.ram.size,
        )
    return fp
