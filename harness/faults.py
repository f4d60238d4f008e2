"""A FAULT frame decoded: the exception, its registers and fault status bits, and the functions
the PC and LR point into (from the firmware ELF's symbol table), as a `DeviceFault` whose
message says where the firmware crashed and why (docs/failures.md, "fault")."""

from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path

from harness.errors import DeviceFault

CFSR_BITS = {
    0: "IACCVIOL", 1: "DACCVIOL", 3: "MUNSTKERR", 4: "MSTKERR", 5: "MLSPERR", 7: "MMARVALID",
    8: "IBUSERR", 9: "PRECISERR", 10: "IMPRECISERR", 11: "UNSTKERR", 12: "STKERR", 13: "LSPERR", 15: "BFARVALID",
    16: "UNDEFINSTR", 17: "INVSTATE", 18: "INVPC", 19: "NOCP", 20: "STKOF", 24: "UNALIGNED", 25: "DIVBYZERO",
}
HFSR_BITS = {1: "VECTTBL", 30: "FORCED", 31: "DEBUGEVT"}
EXCEPTIONS = {
    2: "NMI", 3: "HardFault", 4: "MemManage", 5: "BusFault", 6: "UsageFault", 7: "SecureFault",
    11: "SVCall", 12: "DebugMonitor", 14: "PendSV", 15: "SysTick",
}
_FAULT_FIELDS = ("exception", "r0", "r1", "r2", "r3", "r12", "lr", "pc", "xpsr",
                 "cfsr", "hfsr", "mmfar", "bfar", "sp", "exc_return", "flags")


def bit_names(value: int, names: dict[int, str]) -> list[str]:
    return [name for bit, name in sorted(names.items()) if value >> bit & 1]


@lru_cache(maxsize=16)
def _functions(elf: str, mtime_ns: int) -> tuple[tuple[int, int, str], ...]:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    out = []
    with open(elf, "rb") as fh:
        symtab = ELFFile(fh).get_section_by_name(".symtab")
        if isinstance(symtab, SymbolTableSection):
            for sym in symtab.iter_symbols():
                if sym["st_info"]["type"] == "STT_FUNC" and sym["st_size"] > 0:
                    start = sym["st_value"] & ~1
                    out.append((start, start + sym["st_size"], sym.name))
    return tuple(sorted(out))


def function_at(elf: str | Path | None, address: int) -> str | None:
    """Name of the function containing `address` in the ELF's symbol table, if any."""
    if elf is None or not Path(elf).is_file():
        return None
    address &= ~1
    for start, end, name in _functions(str(elf), Path(elf).stat().st_mtime_ns):
        if start <= address < end:
            return name
    return None


def decode_fault(payload: bytes, elf: str | Path | None = None, last_command: str | None = None) -> DeviceFault:
    """A FAULT frame as a DeviceFault: registers, CFSR/HFSR bits by name, faulting function."""
    if len(payload) < 4 * len(_FAULT_FIELDS):
        return DeviceFault(f"firmware faulted, but its FAULT frame is short ({len(payload)} bytes): {payload.hex()}")
    regs = dict(zip(_FAULT_FIELDS, struct.unpack_from(f"<{len(_FAULT_FIELDS)}I", payload)))
    exc = EXCEPTIONS.get(regs["exception"], f"IRQ{regs['exception'] - 16}" if regs["exception"] >= 16 else
                         f"exception {regs['exception']}")
    has_cfsr = bool(regs["flags"] & 1)
    frame_lost = bool(regs["flags"] & 2)  # stack limit hit with no room for the exception frame
    func = None if frame_lost else function_at(elf, regs["pc"])
    lr_func = None if frame_lost else function_at(elf, regs["lr"])
    cfsr_bits = bit_names(regs["cfsr"], CFSR_BITS) if has_cfsr else []
    hfsr_bits = bit_names(regs["hfsr"], HFSR_BITS) if has_cfsr else []
    where = (f"pc=0x{regs['pc']:08x} in {func or '?'}, lr=0x{regs['lr']:08x} in {lr_func or '?'}" if not frame_lost
             else "the stack ran into its limit with no room left for the exception frame, so PC and LR are unknown")
    status = (f"CFSR=0x{regs['cfsr']:08x} [{' '.join(cfsr_bits) or '-'}] HFSR=0x{regs['hfsr']:08x} "
              f"[{' '.join(hfsr_bits) or '-'}]" if has_cfsr else "no CFSR on ARMv6-M")
    if has_cfsr and "BFARVALID" in cfsr_bits:
        status += f" BFAR=0x{regs['bfar']:08x}"
    if has_cfsr and "MMARVALID" in cfsr_bits:
        status += f" MMFAR=0x{regs['mmfar']:08x}"
    during = f" during {last_command}" if last_command else ""
    hint = "" if elf else " (pass the ELF to name the function)"
    inspect = ("raise the stack size or shrink the recursion" if frame_lost else
               f"Inspect with: arm-none-eabi-addr2line -f -e <elf> 0x{regs['pc']:08x}")
    return DeviceFault(
        f"firmware {exc}{during}: {where}; {status}; xPSR=0x{regs['xpsr']:08x}{hint}. {inspect}",
        exception=exc, function=func, lr_function=lr_func, cfsr_bits=cfsr_bits, hfsr_bits=hfsr_bits,
        registers=regs, last_command=last_command, frame_lost=frame_lost,
    )
