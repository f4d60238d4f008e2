"""End to end on real QEMU: firmware identity, bit-exact echo, chunking, exact counts, stats,
profiling, and the device's handling of bad frames."""

from __future__ import annotations

import dataclasses
import random

import pytest
from _device_util import QEMU_BOARDS, build, echo_reference, qemu_children

from harness.backends.qemu import QemuBackend
from harness.boards import load_board
from harness.device import Count, open_device
from harness.errors import DeviceError
from harness.protocol import Cmd, encode_frame

pytestmark = pytest.mark.slow

VECTOR = bytes(range(256)) + bytes(random.Random(3).randrange(256) for _ in range(490 - 256))


@pytest.mark.parametrize("board_name", QEMU_BOARDS)
def test_identity_echo_counts_and_stack(board_name: str) -> None:
    board = load_board(board_name)
    fw = build(board_name, "echo")
    with open_device(board, fw.elf, timeout=10) as dev:
        h = dev.hello
        assert (h.model, h.hash, h.board, h.core) == ("echo", "testmodel-echo-v1", board.name, board.core)
        assert (h.counter, h.counter_hz) == (board.counter.kind, board.counter.hz)
        assert (h.input_bytes, h.output_bytes, h.arena, h.layers) == (490, 490, 32, 2)
        assert h.stack == board.stack_bytes and h.semihosting and not h.profile
        assert h.max_payload < h.input_bytes, "the 490-byte vector must need several LOAD/READ chunks"
        assert dev.session.hello() == h, "HELLO must repeat the BOOT identity"

        results = [dev.invoke(VECTOR) for _ in range(2)]
        dev.reset_state()
        results.append(dev.invoke(VECTOR))
        assert [out for out, _ in results] == [echo_reference(VECTOR, c) for c in (0, 1, 0)]
        counts = {c for _, c in results}
        assert len(counts) == 1, f"counts differ between invokes: {counts}"
        (count,) = counts
        assert count.kind == "instructions"
        assert 490 * 8 < count.value < 490 * 200, count

        stats = dev.stats()
        assert 0 < stats.stack_high_water < stats.stack_size == board.stack_bytes
        assert (stats.invokes, stats.bad_frames) == (3, 0)
        pid = dev.backend.process.pid
    assert pid not in qemu_children()


@pytest.mark.parametrize("board_name", ["m4", "m0plus"])
def test_counts_identical_across_runs_and_icount_shifts(board_name: str) -> None:
    """Same firmware and input: same count in a second process and at another icount shift
    (different ticks per instruction), which shows the count is exact, not approximate."""
    board = load_board(board_name)
    fw = build(board_name, "echo")
    shifted = dataclasses.replace(board, settings=dataclasses.replace(board.settings, icount_shift=10))
    seen: list[tuple[int, Count]] = []
    for b in (board, board, shifted):
        with open_device(b, fw.elf, backend=QemuBackend(b, fw.elf)) as dev:
            _, count = dev.invoke(VECTOR)
            ticks = dev.session.invoke(VECTOR).ticks
            seen.append((ticks, count))
    (t0, c0), (t1, c1), (t2, c2) = seen
    # Raw ticks may differ by one: the interval's phase against the tick grid depends on how
    # long the firmware polled the UART before. The instruction count may not.
    assert abs(t0 - t1) <= 1 and c0 == c1
    assert t2 > 3 * t0, "shift 10 must tick 4x faster than the board's shift 8"
    assert c2 == c0


@pytest.mark.parametrize("board_name", ["m4", "m0plus"])
def test_profile_layers(board_name: str) -> None:
    fw = build(board_name, "echo", defines={"HIL_MODEL_PROFILE": None})
    with open_device(board_name, fw.elf) as dev:
        assert dev.hello.profile
        out, total = dev.invoke(VECTOR)
        assert out == echo_reference(VECTOR, 0)
        layers = dev.profile()
        assert len(layers) == 2 and all(c.value > 0 and c.kind == total.kind for c in layers)
        # The second layer does four passes over the data, the first one.
        assert layers[1].value > layers[0].value
        assert sum(c.value for c in layers) <= total.value


def test_profile_without_profiling_build_is_a_device_error() -> None:
    fw = build("m4", "echo")
    with open_device("m4", fw.elf) as dev:
        with pytest.raises(DeviceError, match="HIL_MODEL_PROFILE"):
            dev.profile()


def test_device_rejects_corrupt_frames_and_bad_arguments() -> None:
    fw = build("m4", "echo")
    with open_device("m4", fw.elf, timeout=5) as dev:
        s = dev.session
        bad = bytearray(encode_frame(Cmd.STATS, 99, b""))
        bad[-1] ^= 0xFF
        s.link.write(bytes(bad))  # the device answers ERROR(bad crc); the session resyncs and retries
        stats = s.stats()
        assert stats.bad_frames == 1 and s.retried == 1
        with pytest.raises(DeviceError, match="READ beyond"):
            s.request(Cmd.READ, (480).to_bytes(4, "little") + (20).to_bytes(2, "little"))
        with pytest.raises(DeviceError, match="LOAD beyond"):
            s.request(Cmd.LOAD, (489).to_bytes(4, "little") + b"xy")
        with pytest.raises(DeviceError, match="unknown command"):
            s.request(0x55)  # deliberately not a Cmd
        out, _ = dev.invoke(VECTOR)  # still serving
        assert out == echo_reference(VECTOR, 0)


def _workload(spin: int, depth: int) -> bytes:
    return spin.to_bytes(4, "little") + depth.to_bytes(4, "little")


@pytest.mark.parametrize("board_name", ["m4", "m0plus"])
def test_counts_are_exact_linear_and_stack_grows_with_depth(board_name: str) -> None:
    fw = build(board_name, "workload")
    with open_device(board_name, fw.elf) as dev:
        c = {n: dev.invoke(_workload(n, 0))[1].value for n in (1000, 2000, 4000)}
        per_iter, rem = divmod(c[2000] - c[1000], 1000)
        assert rem == 0 and 2 <= per_iter <= 6, c
        assert c[4000] - c[2000] == 2000 * per_iter, "a count that is off by even one instruction fails here"
        marks = []
        for depth in (10, 20):
            dev.invoke(_workload(0, depth))
            marks.append(dev.stats())
        assert marks[0].stack_high_water < marks[1].stack_high_water < marks[1].stack_size
        assert not marks[1].overflowed and marks[1].guard_bytes > 0
        # Far deeper than the stack: the painted guard zone below it gets written.
        dev.invoke(_workload(0, 200))
        assert dev.stats().overflowed


@pytest.mark.parametrize("board_name", ["m4", "m0plus"])
def test_systick_counter_extends_past_24_bits(board_name: str) -> None:
    """SysTick (the counter real M0+ boards use) is 24 bits; its wrap interrupt extends it.
    Over a run that wraps it several times it must agree with the board's 32-bit timer up
    to the interrupt handler's own instructions."""
    board = load_board(board_name)
    systick = dataclasses.replace(board, counter=dataclasses.replace(board.counter, kind="systick", base=None,
                                                                     hz=board.clock_hz))
    spin = 3_000_000
    counts = {}
    for b in (board, systick):
        fw = build(b, "workload")
        with open_device(b, fw.elf) as dev:
            assert dev.hello.counter == b.counter.kind
            counts[b.counter.kind] = [dev.invoke(_workload(n, 0))[1].value for n in (1000, spin)]
    short_ref, long_ref = counts[board.counter.kind]
    short, long = counts["systick"]
    ticks = long_ref * QemuBackend.ticks_per_count(board)
    wraps = int(ticks // 2**24)
    assert wraps >= 2 and short == short_ref
    assert 0 < long - long_ref <= 12 * (wraps + 1), (long, long_ref, wraps)


def test_dwt_counter_builds_for_hardware_cores() -> None:
    """DWT is RAZ under QEMU (emulation.md 6.1), so only its build is checked here."""
    board = load_board("m4")
    dwt = dataclasses.replace(board, counter=dataclasses.replace(board.counter, kind="dwt", base=None,
                                                                 hz=board.clock_hz))
    fw = build(dwt, "workload")
    assert fw.elf.is_file() and "warning" not in fw.log


@pytest.mark.parametrize("board_name", ["m4", "m0plus"])
def test_polling_fallback_gives_same_outputs_and_counts(board_name: str) -> None:
    """-DHIL_UART_SLEEP=0 (busy polling instead of WFI between bytes) changes nothing measured."""
    results = []
    for defines in (None, {"HIL_UART_SLEEP": 0}):
        fw = build(board_name, "echo", defines=defines)
        with open_device(board_name, fw.elf) as dev:
            results.append(dev.invoke(VECTOR))
    assert results[0] == results[1] and results[0][0] == echo_reference(VECTOR, 0)
