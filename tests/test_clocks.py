"""The clock code of every real board's chip (firmware/clock/<chip>.c), built for the host
against fake registers and run: the register values it leaves, and the order it writes them
in, must give the clock the board file claims under the reference manuals' equations
(harness/clocks.py). No hardware or emulator needed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.boards import list_boards, load_board
from harness.clocks import CLOCK_CHIPS, DECODERS, FULL, RESET, SWITCH_STATUS, ClockError, decode_stm32f7
from harness.errors import ConfigError
from harness.firmware.build import board_defines

ROOT = Path(__file__).resolve().parent.parent
CC = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(CC is None, reason="no host C compiler (apt-get install gcc)")

# Reset values the clock code reads (RM0410 RCC_PLLCFGR reset value; Cortex-M7 CCSIDR of a 16 KiB,
# 4-way, 32-byte-line D-cache).
RESET_VALUES = {"stm32f7": {0x40023804: 0x24003010, 0xE000ED80: 0xF00FE019}}
# Bits that must be set when the clock code is done: prefetch/caches/ART, core caches.
FEATURES = {
    "stm32l4": [(0x40022000, (1 << 8) | (1 << 9) | (1 << 10))],          # PRFTEN ICEN DCEN
    "stm32g0": [(0x40022000, (1 << 8) | (1 << 9))],                      # PRFTEN ICEN
    "stm32f7": [(0x40023C00, (1 << 8) | (1 << 9)), (0xE000ED14, 3 << 16)],  # PRFTEN ARTEN; SCB_CCR IC DC
    "nrf52": [(0x4001E540, 1)],                                          # NVMC ICACHECNF CACHEEN
}


def run_clock_code(tmp_path: Path, chip: str, source: str, clock_hz: int | None = None) -> list[dict]:
    exe = tmp_path / f"{chip}-{source}"
    hz = clock_hz if clock_hz is not None else CLOCK_CHIPS[chip][source].sysclk_hz
    cmd = [CC, "-std=c11", "-Wall", "-Werror", "-DHIL_CLOCK_HOST_TEST", f"-DHIL_CLOCK_FULL={int(source == FULL)}",
           f"-DHIL_CLOCK_HZ={hz}", "-DHIL_REG32(a)=(*hil_fake_reg((uintptr_t)(a)))",
           f"-I{ROOT / 'firmware/include'}", f"-I{ROOT / 'firmware/clock'}",
           str(ROOT / f"firmware/clock/{chip}.c"), str(ROOT / "tests/clock_fake.c"), "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    args = [f"{a:x}={v:x}" for a, v in RESET_VALUES.get(chip, {}).items()]
    out = subprocess.run([str(exe), *args], check=True, capture_output=True, text=True).stdout
    events = [json.loads(line) for line in out.splitlines()]
    for e in events:
        e["regs"] = {int(k): v for k, v in e["regs"].items()}
    return events


@pytest.mark.parametrize("chip", sorted(CLOCK_CHIPS))
def test_full_clock_registers_give_the_claimed_clock(tmp_path: Path, chip: str) -> None:
    setting = CLOCK_CHIPS[chip][FULL]
    events = run_clock_code(tmp_path, chip, FULL)
    final = events[-1]["regs"]
    got = DECODERS[chip](final)
    assert got.sysclk_hz == setting.sysclk_hz, setting.summary
    assert got.uart_clock_hz == setting.uart_clock_hz, setting.summary
    assert got.flash_wait_states == got.needed_wait_states, "flash latency must be the manual's for this clock"
    for addr, mask in FEATURES[chip]:
        assert final.get(addr, 0) & mask == mask, f"{chip}: bits {mask:#x} of {addr:#x} not set ({final.get(addr, 0):#x})"


@pytest.mark.parametrize("chip", sorted(SWITCH_STATUS))
def test_latency_and_prescalers_are_set_before_the_clock_switch(tmp_path: Path, chip: str) -> None:
    """Raising SYSCLK before the flash latency (or, on the F7, before the over-drive and the APB
    prescalers) runs the core out of spec for a moment: the state at the switch must already be valid."""
    events = run_clock_code(tmp_path, chip, FULL)
    switches = [e for e in events if e["event"] == "wait" and e["addr"] == SWITCH_STATUS[chip]]
    assert len(switches) == 1, "the code waits once for the switch status"
    sw = switches[0]
    regs = dict(sw["regs"])
    regs[sw["addr"]] = (regs.get(sw["addr"], 0) & ~sw["mask"]) | sw["value"]  # as if the switch completed
    at_switch = DECODERS[chip](regs)  # raises ClockError for over-drive/prescaler violations
    assert at_switch.sysclk_hz == CLOCK_CHIPS[chip][FULL].sysclk_hz
    assert at_switch.flash_wait_states >= at_switch.needed_wait_states


@pytest.mark.parametrize("chip", sorted(CLOCK_CHIPS))
def test_reset_clock_touches_nothing(tmp_path: Path, chip: str) -> None:
    events = run_clock_code(tmp_path, chip, RESET)
    assert [e["event"] for e in events] == ["done"]
    assert DECODERS[chip](events[-1]["regs"]).sysclk_hz == CLOCK_CHIPS[chip][RESET].sysclk_hz


def test_clock_code_refuses_a_clock_it_does_not_produce(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError) as exc:
        run_clock_code(tmp_path, "stm32l4", FULL, clock_hz=72_000_000)
    assert "80 MHz" in exc.value.stderr


def test_decoder_rejects_out_of_range_pll() -> None:
    """The model can fail: N=240 puts the F7 VCO at 480 MHz (max 432)."""
    regs = {0x40023804: 8 | (240 << 6), 0x40023808: 0b10 << 2, 0x40007004: 3 << 16}
    with pytest.raises(ClockError, match="VCO"):
        decode_stm32f7(regs)


def test_real_boards_state_their_full_clock_and_uart_clock() -> None:
    real = [b for b in list_boards() if b.clock is not None]
    assert {b.name for b in real} >= {"nucleo-l432kc", "nucleo-g071rb", "nucleo-f767zi", "nrf52840-dk"}
    for b in real:
        assert b.clock is not None and b.clock.source == FULL
        assert b.clock_hz == b.clock.setting.sysclk_hz
        defines = board_defines(b)
        assert defines["HIL_CLOCK_FULL"] == "1"
        uart_hz = int(defines["HIL_UART_CLOCK_HZ"])
        if b.uart.kind.startswith("stm32"):
            brr = (uart_hz + b.uart.baud // 2) // b.uart.baud  # stm32-usart.inc, oversampling 16
            assert abs(uart_hz / brr - b.uart.baud) / b.uart.baud < 0.01, (b.name, brr)


def _board_text(name: str) -> str:
    return (ROOT / "boards" / f"{name}.toml").read_text()


def test_reset_clock_is_selectable_and_checked(tmp_path: Path) -> None:
    text = _board_text("nucleo-l432kc").replace('source = "full"', 'source = "reset"')
    path = tmp_path / "nucleo-l432kc.toml"
    twin = load_board("nucleo-l432kc").twin
    assert twin is not None
    text = re.sub(r'platform = ".*"', f'platform = "{twin.platform}"', text)
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"clock_hz.*4000000"):
        load_board(path)
    path.write_text(text.replace("80_000_000", "4_000_000"))
    board = load_board(path)
    assert board.clock is not None and board.clock.source == RESET and board.uart_clock_hz == 4_000_000
