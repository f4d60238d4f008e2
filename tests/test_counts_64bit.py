"""Counts past 2^32 counter ticks, end to end on real emulators.

The workload test model spins a loop of a fixed number of instructions per iteration in its
layer 0, so its exact count for any spin length follows from two short runs that never wrap the
counter: c(n) = c(1000) + per_iter * (n - 1000). A long run whose interval spans one or two
2^32-tick wraps of the board's hardware timer must then come back with that count, plus the
instructions of the overflow handler for each wrap inside the interval (the same small number
for every wrap), for the whole inference and for the per-layer profile. A count truncated to
32 bits (what the firmware did before) is off by 2^32 ticks, hundreds of millions of
instructions, and fails at once.
"""

from __future__ import annotations

import dataclasses
import os
from fractions import Fraction
from math import floor
from pathlib import Path

import numpy as np
import pytest
from _device_util import build
from test_renode import needs_renode

from harness.backends import backend_class
from harness.boards import Board, load_board
from harness.device import open_device
from harness.errors import DeviceError

pytestmark = pytest.mark.slow

WRAP = 2**32
MAX_HANDLER = 64  # instructions the overflow interrupt may add per wrap (measured: 23 on m4)
GLUE_BETWEEN_BUILDS = 1000  # instructions a profile build and a plain build may differ by outside the kernels


def _spin(n: int) -> bytes:
    return n.to_bytes(4, "little") + bytes(4)


def _measure(board: Board, spins: list[int], timeout: float) -> tuple[Fraction, dict[int, tuple[int, list[int]]]]:
    """Ticks per instruction, and spin -> (whole inference, per-layer counts), on one device
    running the workload firmware built with layer hooks."""
    fw = build(board, "workload", defines={"HIL_MODEL_PROFILE": None})
    out = {}
    with open_device(board, fw.elf, timeout=timeout) as dev:
        for n in spins:
            _, whole = dev.invoke(_spin(n))
            out[n] = (whole.value, [c.value for c in dev.profile()])
        return dev.backend.ticks_per_count(board), out


def _handler_cost(residual: int, ticks: Fraction) -> set[int]:
    """Per-wrap handler costs that explain `residual` extra instructions over an interval of
    `ticks`: it spans floor(ticks / 2^32) or one more wrap boundaries."""
    wraps = floor(ticks / WRAP)
    assert wraps >= 1, f"the interval ({float(ticks):.4g} ticks) does not reach 2^32: the test proves nothing"
    return {residual // k for k in (wraps, wraps + 1) if residual % k == 0 and 0 <= residual // k <= MAX_HANDLER}


def check_counts_past_the_wrap(board: Board, big: list[int], timeout: float) -> None:
    tpi, got = _measure(board, [1000, 2000, *big], timeout)
    (w1, l1), (w2, l2) = got[1000], got[2000]
    per_iter, rem = divmod(w2 - w1, 1000)
    assert rem == 0 and 2 <= per_iter <= 8 and l2[0] - l1[0] == w2 - w1, (got[1000], got[2000])
    hook_cost = w1 - sum(l1)  # the layer hooks' own instructions, outside both layers
    assert 0 < hook_cost == w2 - sum(l2)
    costs: set[int] | None = None
    for n in big:
        whole, layers = got[n]
        expected = w1 + per_iter * (n - 1000)
        expected_layer0 = l1[0] + per_iter * (n - 1000)
        assert layers[0] * tpi > WRAP, "layer 0 must itself exceed 2^32 ticks"
        for name, value, exact in (("whole", whole, expected), ("layer 0", layers[0], expected_layer0)):
            fits = _handler_cost(value - exact, exact * tpi)
            assert fits, f"spin {n}: {name} count {value:,} vs exact {exact:,} (off by {value - exact:,})"
            costs = fits if costs is None else costs & fits
            assert costs, f"spin {n}: {name}: the per-wrap handler cost differs between runs"
        assert layers[1] == l1[1], "layer 1 (no spin) must not change"
        assert whole - sum(layers) == hook_cost, "per-layer sum and whole inference disagree"


@pytest.mark.parametrize("board_name,big", [
    ("m4", [230_000_000, 460_000_000]),  # 3 insn/iter: 690 M and 1.38 G instructions, 1-3 wraps at 6.4 ticks/insn
    ("m0plus", [360_000_000]),           # 1.08 G instructions at 4.096 ticks/insn: 1-2 wraps
    ("m33", [300_000_000]),              # the timer on another NVIC line (3, MPS2-TZ): 1-2 wraps at 5.12 ticks/insn
])
def test_counts_past_2_32_ticks_are_exact(board_name: str, big: list[int]) -> None:
    check_counts_past_the_wrap(load_board(board_name), big, timeout=600)


@needs_renode
def test_counts_past_2_32_instructions_on_renode() -> None:
    """Renode's counter is the 64-bit executed-instruction count written by a CPU hook (1 tick =
    1 instruction), so 2^32 ticks takes 4.3 G instructions; no handler runs (cost 0)."""
    check_counts_past_the_wrap(load_board("m4-renode"), [1_450_000_000], timeout=3600)


def _masked(n: int, bit: int) -> bytes:
    return n.to_bytes(4, "little") + (0x80000000 | bit).to_bytes(4, "little")


@pytest.mark.parametrize("board_name", ["m4", "m0plus"])
def test_a_wrap_seen_late_is_an_error_not_a_number(board_name: str) -> None:
    """The workload masks interrupts for a stretch that starts right after a counter wrap.
    On SysTick (24 bits, so a period is a few million instructions) a stretch of 2.75 periods
    loses a wrap: the handler runs 0.75 period late, the device flags the count, and the host
    raises instead of returning a number (for the inference and its per-layer profile). A
    stretch of 1.25 periods keeps its one wrap pending for only a quarter period: counted."""
    board = load_board(board_name)
    systick = dataclasses.replace(board, counter=dataclasses.replace(board.counter, kind="systick", base=None,
                                                                     hz=board.clock_hz))
    period = Fraction(2**24) / backend_class(systick.backend).ticks_per_count(systick)  # instructions per SysTick wrap
    fw = build(systick, "workload", defines={"HIL_MODEL_PROFILE": None})
    with open_device(systick, fw.elf, timeout=120) as dev:
        c = [dev.invoke(_spin(n))[1].value for n in (1000, 2000)]
        per_iter = (c[1] - c[0]) // 1000
        _, ok = dev.invoke(_masked(int(Fraction(5, 4) * period / per_iter), 24))
        assert Fraction(5, 4) * period < ok.value < Fraction(9, 4) * period + 1000  # + up to a period of sync
        assert all(x.value > 0 for x in dev.profile())
        with pytest.raises(DeviceError, match="cannot vouch for the inference count") as info:
            dev.invoke(_masked(int(Fraction(11, 4) * period / per_iter), 24))
        assert info.value.details["kind"] == "count-unsure" and "systick" in str(info.value)
        with pytest.raises(DeviceError, match="cannot vouch for the per-layer count"):
            dev.profile()
        _, again = dev.invoke(_spin(1000))  # the flag is per inference
        assert again.value == c[0]


@pytest.fixture(scope="module")
def conv_stack_past_the_wrap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real int8 conv stack of 257 M MACs: with the portable kernels on m4 its inference takes
    ~900 M instructions (5.8 G ticks, past the 4.3 G of one timer wrap), each layer < 300 M."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    tf.keras.utils.set_random_seed(0)
    L = tf.keras.layers
    x = inp = L.Input((64, 64, 8), batch_size=1)
    x = L.Conv2D(48, 1, activation="relu")(x)
    for _ in range(3):
        x = L.Conv2D(48, 3, padding="same", activation="relu")(x)
    model = tf.keras.Model(inp, L.Conv2D(4, 1)(x))

    def rep():  # type: ignore[no-untyped-def]
        r = np.random.default_rng(1)
        for _ in range(8):
            yield [r.uniform(-1, 1, (1, 64, 64, 8)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    path = tmp_path_factory.mktemp("big") / "conv_stack.tflite"
    path.write_bytes(conv.convert())
    return path


def test_real_model_past_2_32_ticks_hil_profile_and_hil_run_agree(conv_stack_past_the_wrap: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """`hil profile`: the whole inference (past 2^32 ticks) agrees with the sum of its layers,
    each well below 2^32 ticks and so an independent count; the whole count as printed. `hil
    run`'s count (a build without hooks) on the same input: the same up to the glue code."""
    from harness.cli import main as hil_main
    from harness.profile import profile_model, random_inputs
    from harness.runner import generate_cached, run_model

    model, board = conv_stack_past_the_wrap, load_board("m4")
    tpi = backend_class(board.backend).ticks_per_count(board)
    p = profile_model(model, board, target="portable", timeout=300)
    assert p.bitexact and p.inconsistency() is None
    assert p.total * tpi > WRAP and all(lc.count * tpi < WRAP / 2 for lc in p.layers)
    assert 0 <= p.total - p.layer_sum <= p.hook_allowance
    x = random_inputs(generate_cached(model, None, None, None).inputs, 1, 0)[0]  # profile_model's input
    run = run_model(model, board, [x], target="portable", timeout=300)
    assert run.bitexact == 1.0 and run.count_per_inference is not None
    # Another build (no hooks): the same kernels, the code between them compiled differently
    # (measured: 295 instructions more than the profile build's whole inference). A count that
    # lost a timer wrap would be 671 M instructions off.
    assert abs(run.count_per_inference - p.total) <= GLUE_BETWEEN_BUILDS, (run.count_per_inference, p.total)
    assert hil_main(["profile", str(model), "--board", "m4", "--target", "portable", "--timeout", "300"]) == 0
    out = capsys.readouterr().out
    assert f"{p.total:,}" in out and f"{p.layer_sum:,}" in out and "error" not in out
