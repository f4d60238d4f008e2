"""Chip clock settings a board file may select (`[clock]`), and the reference-manual equations
that check the firmware's clock code (firmware/clock/<chip>.c).

A real board runs its chip at the usual full clock (PLL, flash wait states, caches) or, when
the board file says `source = "reset"`, at the clock it comes out of reset with. The settings
here are the claims (SYSCLK and the UART kernel clock the build passes to the firmware); the
decoders compute what a set of register values really gives, from the manuals' equations, so
tests/test_clocks.py can run the C clock code on the host and check it against the claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FULL = "full"
RESET = "reset"
CLOCK_SOURCES = (FULL, RESET)


@dataclass(frozen=True)
class ClockSetting:
    """One clock configuration of a chip: what the board file's clock_hz and counters must say."""

    sysclk_hz: int  # core clock (HCLK): what DWT CYCCNT and SysTick count
    uart_clock_hz: int  # the board UART's kernel clock (STM32 USART BRR is derived from it)
    summary: str


# chip (firmware/clock/<chip>.c) -> setting name -> setting
CLOCK_CHIPS: dict[str, dict[str, ClockSetting]] = {
    "stm32l4": {
        RESET: ClockSetting(4_000_000, 4_000_000, "MSI 4 MHz, 0 wait states"),
        FULL: ClockSetting(80_000_000, 80_000_000,
                           "MSI 4 MHz -> PLL M=1 N=40 R=2: 80 MHz, 4 WS, prefetch + I/D caches; USART2 on PCLK1 80 MHz"),
    },
    "stm32g0": {
        RESET: ClockSetting(16_000_000, 16_000_000, "HSI16, 0 wait states"),
        FULL: ClockSetting(64_000_000, 64_000_000,
                           "HSI16 -> PLL M=1 N=8 R=2: 64 MHz, 2 WS, prefetch + I-cache; USART2 on PCLK 64 MHz"),
    },
    "stm32f7": {
        RESET: ClockSetting(16_000_000, 16_000_000, "HSI 16 MHz, 0 wait states, caches off"),
        FULL: ClockSetting(216_000_000, 54_000_000,
                           "HSI 16 MHz -> PLL M=8 N=216 P=2: 216 MHz, over-drive, 7 WS, ART + prefetch, "
                           "L1 I/D caches; APB1 /4 = 54 MHz for USART3"),
    },
    "nrf52": {
        RESET: ClockSetting(64_000_000, 64_000_000, "64 MHz from HFINT (RC), no I-cache"),
        FULL: ClockSetting(64_000_000, 64_000_000, "64 MHz, HFXO 32 MHz crystal started, NVMC I-cache on"),
    },
}


def clock_setting(chip: str, source: str) -> ClockSetting:
    return CLOCK_CHIPS[chip][source]


# ---------------------------------------------------------------------------------------------
# Reference-manual equations: registers -> clocks, and the flash wait states each clock needs.

class ClockError(ValueError):
    """Register values that break a reference-manual rule (VCO range, divider, wait states)."""


def _field(value: int, lsb: int, width: int) -> int:
    return (value >> lsb) & ((1 << width) - 1)


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise ClockError(what)


def _wait_states(hclk: int, step_hz: int) -> int:
    """Wait states for a latency table with one more state every `step_hz` (RM tables)."""
    return max(0, -(-hclk // step_hz) - 1)


@dataclass(frozen=True)
class Decoded:
    sysclk_hz: int
    uart_clock_hz: int
    flash_wait_states: int  # what FLASH_ACR holds
    needed_wait_states: int  # what the manual's table needs at sysclk


_AHB_DIV = {8: 2, 9: 4, 10: 8, 11: 16, 12: 64, 13: 128, 14: 256, 15: 512}
_APB_DIV = {4: 2, 5: 4, 6: 8, 7: 16}


def _stm32_pll(f_in: int, *, m: int, n: int, div: int, vco_in_min: int, max_out: int) -> int:
    """The L4/G0 main PLL (RM0394 s.6.2.5, RM0444 s.5.2.4): f_in / M * N / R, with the VCO input
    in vco_in_min..16 MHz, N in 8..86 and the VCO in 64..344 MHz."""
    vco_in = f_in // m
    _check(vco_in_min <= vco_in <= 16_000_000, f"VCO input {vco_in} Hz outside {vco_in_min / 1e6:g}..16 MHz")
    _check(8 <= n <= 86, f"PLLN={n} outside 8..86")
    vco = vco_in * n
    _check(64_000_000 <= vco <= 344_000_000, f"VCO {vco} Hz outside 64..344 MHz")
    out = vco // div
    _check(out <= max_out, f"PLL output {out} Hz above {max_out / 1e6:g} MHz")
    return out


def decode_stm32l4(regs: Mapping[int, int]) -> Decoded:
    """RM0394 s.6.2.5 / 6.4: SYSCLK from RCC_CFGR SWS and RCC_PLLCFGR; s.3.3.3 table 9 (Range 1)."""
    cfgr, pll, acr = regs.get(0x40021008, 0), regs.get(0x4002100C, 0), regs.get(0x40022000, 0)
    sws = _field(cfgr, 2, 2)
    if sws == 0:
        sysclk = 4_000_000  # MSI range 6 (reset)
    else:
        _check(sws == 3, f"SWS={sws}: only MSI or PLL are modelled")
        _check(_field(pll, 0, 2) == 1, "PLLSRC must be MSI (01)")
        _check(bool(pll >> 24 & 1), "PLLREN (PLLCLK output) not enabled")
        sysclk = _stm32_pll(4_000_000, m=_field(pll, 4, 3) + 1, n=_field(pll, 8, 7), div=(_field(pll, 25, 2) + 1) * 2,
                            vco_in_min=4_000_000, max_out=80_000_000)
    hclk = sysclk // _AHB_DIV.get(_field(cfgr, 4, 4), 1)
    pclk1 = hclk // _APB_DIV.get(_field(cfgr, 8, 3), 1)
    return Decoded(sysclk, pclk1, _field(acr, 0, 3), _wait_states(hclk, 16_000_000))


def decode_stm32g0(regs: Mapping[int, int]) -> Decoded:
    """RM0444 s.5.2.4 / 5.4: SYSCLK from RCC_CFGR SWS and RCC_PLLCFGR; s.3.3.4 table (Range 1: 24 MHz/WS)."""
    cfgr, pll, acr = regs.get(0x40021008, 0), regs.get(0x4002100C, 0), regs.get(0x40022000, 0)
    sws = _field(cfgr, 3, 3)
    if sws == 0:
        sysclk = 16_000_000  # HSISYS = HSI16 / 1 (reset)
    else:
        _check(sws == 2, f"SWS={sws}: only HSISYS or PLLRCLK are modelled")
        _check(_field(pll, 0, 2) == 2, "PLLSRC must be HSI16 (10)")
        r = _field(pll, 29, 3) + 1
        _check(r >= 2, "PLLR=000 is reserved")
        _check(bool(pll >> 28 & 1), "PLLREN (PLLRCLK output) not enabled")
        sysclk = _stm32_pll(16_000_000, m=_field(pll, 4, 3) + 1, n=_field(pll, 8, 7), div=r,
                            vco_in_min=2_660_000, max_out=64_000_000)
    hclk = sysclk // _AHB_DIV.get(_field(cfgr, 8, 4), 1)
    pclk = hclk // _APB_DIV.get(_field(cfgr, 12, 3), 1)
    return Decoded(sysclk, pclk, _field(acr, 0, 3), _wait_states(hclk, 24_000_000))


def decode_stm32f7(regs: Mapping[int, int]) -> Decoded:
    """RM0410 s.5.2 / 5.3: SYSCLK from RCC_CFGR SWS and RCC_PLLCFGR; s.3.3.2 table 7 (2.7..3.6 V: 30 MHz/WS);
    s.4.1.4: above 180 MHz the over-drive must be on (PWR_CSR1 ODRDY and ODSWRDY)."""
    cfgr, pll, acr = regs.get(0x40023808, 0), regs.get(0x40023804, 0), regs.get(0x40023C00, 0)
    sws = _field(cfgr, 2, 2)
    if sws == 0:
        sysclk = 16_000_000  # HSI (reset)
    else:
        _check(sws == 2, f"SWS={sws}: only HSI or PLL are modelled")
        _check(not pll >> 22 & 1, "PLLSRC must be HSI (0)")
        m, n, p = _field(pll, 0, 6), _field(pll, 6, 9), (_field(pll, 16, 2) + 1) * 2
        _check(2 <= m <= 63, f"PLLM={m} outside 2..63")
        vco_in = 16_000_000 // m
        _check(1_000_000 <= vco_in <= 2_000_000, f"VCO input {vco_in} Hz outside 1..2 MHz")
        _check(50 <= n <= 432, f"PLLN={n} outside 50..432")
        vco = vco_in * n
        _check(100_000_000 <= vco <= 432_000_000, f"VCO {vco} Hz outside 100..432 MHz")
        sysclk = vco // p
        _check(sysclk <= 216_000_000, f"SYSCLK {sysclk} Hz above 216 MHz")
        if sysclk > 180_000_000:
            csr1 = regs.get(0x40007004, 0)
            _check(bool(csr1 >> 16 & 1) and bool(csr1 >> 17 & 1), "above 180 MHz the over-drive must be ready")
    hclk = sysclk // _AHB_DIV.get(_field(cfgr, 4, 4), 1)
    pclk1 = hclk // _APB_DIV.get(_field(cfgr, 10, 3), 1)
    pclk2 = hclk // _APB_DIV.get(_field(cfgr, 13, 3), 1)
    _check(pclk1 <= 54_000_000, f"PCLK1 {pclk1} Hz above 54 MHz")
    _check(pclk2 <= 108_000_000, f"PCLK2 {pclk2} Hz above 108 MHz")
    return Decoded(sysclk, pclk1, _field(acr, 0, 4), _wait_states(hclk, 30_000_000))


def decode_nrf52(regs: Mapping[int, int]) -> Decoded:
    """nRF52840 PS s.5.4: the CPU clock is always 64 MHz; no flash wait states to set."""
    return Decoded(64_000_000, 64_000_000, 0, 0)


DECODERS = {"stm32l4": decode_stm32l4, "stm32g0": decode_stm32g0, "stm32f7": decode_stm32f7, "nrf52": decode_nrf52}
# The register whose wait-for marks the switch of SYSCLK (flash latency must already be enough).
SWITCH_STATUS = {"stm32l4": 0x40021008, "stm32g0": 0x40021008, "stm32f7": 0x40023808}
