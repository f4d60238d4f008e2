"""Run one model's test vectors on one board: codegen → build → footprint → device → outputs.

This is the spine's one pass, shared by the pytest plugin, the CLI and the sweep. It returns
everything measured (outputs, counts, footprint, stack) and the host reference's outputs for
the same vectors, so callers only compute metrics and check budgets.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.boards import Board
from harness.device import Count, open_device
from harness.errors import DeviceFault
from harness.firmware.build import Firmware, build_firmware, cache_root
from harness.firmware.footprint import Footprint, does_not_fit, footprint, shortfalls
from harness.modelfile import read_model_bytes
from harness.reference import TensorDetails
from harness.reference_cache import start_reference

CODEGEN_DIR = Path(__file__).resolve().parent / "codegen"


@dataclass(frozen=True)
class StateWiring:
    """A streaming model's explicit state: output `output` feeds input `input` at the next frame.

    The firmware keeps the state on the device (the generated C carries it between invocations
    and `hil_model_reset` restores `init`), so the host sends only the other inputs. The output's
    quantization must equal the input's (a byte copy); the suites' builders tie them.
    """

    input: int
    output: int
    init: bytes


@dataclass
class ModelRun:
    """What one model did on one board, beside what the host reference computed."""

    model_path: Path
    model_sha256: str
    board: Board
    firmware: Firmware
    footprint: Footprint
    arena_bytes: int
    arena_lower_bound: int
    macs: int
    outputs: list[bytes]
    reference: list[bytes]
    counts: list[Count]
    stack_high_water: int
    stack_size: int
    hello: dict = field(default_factory=dict)
    input_details: list[TensorDetails] = field(default_factory=list)
    output_details: list[TensorDetails] = field(default_factory=list)
    transport: str = "uart"  # how vectors reached the device: uart or memory (harness/transport.py)

    @property
    def count_kind(self) -> str:
        return self.counts[0].kind if self.counts else ""

    @property
    def count_per_inference(self) -> int | None:
        """Worst case over the vectors: what a real-time budget has to hold."""
        return max(c.value for c in self.counts) if self.counts else None

    @property
    def count_mean(self) -> float | None:
        return sum(c.value for c in self.counts) / len(self.counts) if self.counts else None

    @property
    def bitexact(self) -> float:
        """Fraction of vectors whose output bytes equal the reference's exactly."""
        if not self.outputs:
            return 0.0
        same = sum(a == b for a, b in zip(self.outputs, self.reference))
        return same / len(self.outputs)


def _codegen_version() -> str:
    """A hash of the generator's own sources, so a generator change regenerates the C."""
    h = hashlib.sha256()
    for p in sorted(CODEGEN_DIR.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".c", ".h"):
            h.update(p.relative_to(CODEGEN_DIR).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def generate_cached(model_path: Path, name: str | None = None, state: StateWiring | None = None,
                    target: str | None = None):
    """Generate C for `model_path` once per (model bytes, generator version, options).
    `target`: the core whose optimized kernels to emit (None: portable C)."""
    from harness.codegen import GeneratedModel, generate

    data = read_model_bytes(model_path)
    options = repr((name, state) if target is None else (name, state, target)).encode()
    key = hashlib.sha256(data + _codegen_version().encode() + options).hexdigest()[:20]
    out = cache_root() / "models" / key
    if (out / "model.json").is_file():  # generated before: reuse, never rewrite under a concurrent build
        return GeneratedModel.from_dir(out)
    if state is None:
        return generate(model_path, out, name=name, target=target)
    return generate(model_path, out, name=name, state=[(state.input, state.output)], state_init=state.init,
                    target=target)


def _reference_outputs(ref, inputs: Sequence[bytes], resets: set[int], state: StateWiring | None) -> list[bytes]:
    """The reference's raw outputs, carrying explicit state across frames as the device does."""
    if state is None:
        out = []
        for i, x in enumerate(inputs):
            if i in resets:
                ref.reset()
            out.append(ref.run_raw(x))
        return out
    in_sizes = [d.nbytes for d in ref.input_details]
    out_sizes = [d.nbytes for d in ref.output_details]
    s_in = sum(in_sizes[: state.input])
    s_out = sum(out_sizes[: state.output])
    h = state.init
    out = []
    for i, x in enumerate(inputs):
        if i in resets:
            h = state.init
        y = ref.run_raw(x[:s_in] + h + x[s_in:])
        h = y[s_out : s_out + out_sizes[state.output]]
        out.append(y)
    return out


def check_model_fits(elf: Path, board: Board, model: Path) -> None:
    """DoesNotFit naming each short region's need, capacity, shortfall and largest symbols."""
    short = shortfalls(elf, board)
    if short:
        raise does_not_fit(model.name, short, board)


def run_model(
    model_path: str | os.PathLike[str],
    board: Board,
    inputs: Sequence[bytes],
    *,
    name: str | None = None,
    reset_before: Sequence[int] = (),
    state: StateWiring | None = None,
    timeout: float = 30.0,
    opt: str = "-O2",
    target: str | None = "board",
    transport: str = "auto",
) -> ModelRun:
    """Run `inputs` (raw input bytes, one per inference) through the model on `board`.

    `reset_before` lists the vector indices before which streaming state is reset (on the
    device and in the reference), e.g. the first frame of every sequence. With `state`, each
    input holds only the non-state tensors; the reference carries the state like the device.
    `target`: "board" (default) generates the board core's optimized kernels
    (harness/codegen/optimized.py), "portable" (or None) the reference C kernels, or a core name.
    `transport`: auto (memory where the backend has it), uart or memory.
    The TFLM reference runs in a thread meanwhile, cached on disk per (model, vectors).
    """
    from harness.reference import Reference

    model_path = Path(model_path)
    core = board.core if target == "board" else (None if target == "portable" else target)
    gm = generate_cached(model_path, name, state, core)
    fw = build_firmware(board, gm.out_dir, opt=opt)
    fp = footprint(fw.elf)
    check_model_fits(fw.elf, board, model_path)

    resets = set(reset_before)
    ref = Reference(model_path)  # loads and checks the model here, so an unsupported one fails first
    expected_future = start_reference(
        gm.sha256, inputs, lambda: _reference_outputs(ref, inputs, resets, state),
        options=repr((sorted(resets), state)).encode())

    outputs: list[bytes] = []
    counts: list[Count] = []
    with open_device(board, fw.elf, timeout=timeout, expected_hash=gm.sha256, transport=transport) as dev:
        used_transport = dev.transport.name
        for i, x in enumerate(inputs):
            if i in resets:
                dev.reset_state()
            out, count = dev.invoke(x)
            outputs.append(out)
            counts.append(count)
        stats = dev.stats()
        hello = dict(vars(dev.hello))
    expected = expected_future.result()
    if stats.overflowed:
        raise DeviceFault(
            f"stack overflow on board '{board.name}': {stats.stack_high_water} B used of a {stats.stack_size} B stack "
            f"(the painted guard zone below it was written); raise stack_bytes in {board.path} or shrink the model",
            stack_high_water=stats.stack_high_water, stack_size=stats.stack_size)
    return ModelRun(
        model_path=model_path, model_sha256=gm.sha256, board=board, firmware=fw, footprint=fp,
        arena_bytes=gm.arena_bytes, arena_lower_bound=gm.arena_lower_bound, macs=gm.macs,
        outputs=outputs, reference=expected, counts=counts,
        stack_high_water=stats.stack_high_water, stack_size=stats.stack_size, hello=hello,
        input_details=list(ref.input_details), output_details=list(ref.output_details),
        transport=used_transport,
    )
