"""Per-layer profile of one model on one board: where the instructions (or cycles) go.

The firmware is built with -DHIL_MODEL_PROFILE, so the generated model calls the runtime's
layer hook around every layer and the runtime keeps each layer's counter ticks of the last
inference (PROFILE command). We run one or a few inferences of random inputs and join those
counts with the generator's layer table (op, output shape, MACs), which is what a user needs
to see which layer to optimize, or which board a model fits in real time.

    from harness.profile import profile_model, format_profile
    print(format_profile(profile_model("kws.tflite", load_board("m4"), opt="-Os")))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.boards import Board
from harness.errors import DeviceError

PROFILE_DEFINE = "HIL_MODEL_PROFILE"


@dataclass(frozen=True)
class LayerCount:
    layer: int
    op: str
    shape: tuple[int, ...]
    macs: int
    count: int

    @property
    def per_mac(self) -> float | None:
        return self.count / self.macs if self.macs else None


@dataclass
class Profile:
    """One model on one board: per-layer counts of the last inference and the whole inference."""

    model: str
    board: str
    kind: str                 # "instructions" (emulators) or "cycles" (hardware)
    opt: str
    target: str               # kernels: the core's optimized ones or "portable"
    layers: list[LayerCount]
    total: int                # the whole inference, counted around hil_model_invoke
    macs: int
    code_bytes: int
    flash_bytes: int
    arena_bytes: int
    bitexact: bool            # the profiled inferences matched the TFLM reference byte for byte
    totals: list[int] = field(default_factory=list)  # each inference's whole count
    hook_overhead: int = 0    # one empty layer's hook cycle, measured on the device

    @property
    def hook_allowance(self) -> int:
        """The most the hooks may add outside the layers: one hook cycle per layer boundary
        (and one for the entry and exit of the inference)."""
        return (len(self.layers) + 1) * self.hook_overhead

    def inconsistency(self) -> str | None:
        """Why the per-layer counts and the whole inference cannot both be right, or None.

        The whole inference is the layers plus the hooks between them: it must be at least the
        sum and at most the sum plus the measured hook overhead.
        """
        gap = self.total - self.layer_sum
        if 0 <= gap <= self.hook_allowance:
            return None
        return (f"{self.model} on {self.board}: the per-layer sum ({self.layer_sum:,} {self.kind}) and the whole "
                f"inference ({self.total:,}) differ by {gap:,}, outside what the layer hooks account for "
                f"(0 to {self.hook_allowance:,}: {len(self.layers) + 1} x {self.hook_overhead:,} measured per hook "
                f"cycle). At least one of them is wrong; this profile is not to be trusted.")

    @property
    def layer_sum(self) -> int:
        return sum(lc.count for lc in self.layers)

    @property
    def per_mac(self) -> float | None:
        return self.total / self.macs if self.macs else None

    def by_op(self) -> dict[str, tuple[int, int]]:
        """op -> (count, MACs) summed over its layers."""
        out: dict[str, tuple[int, int]] = {}
        for lc in self.layers:
            c, m = out.get(lc.op, (0, 0))
            out[lc.op] = (c + lc.count, m + lc.macs)
        return out


def random_inputs(inputs: Sequence[dict], n: int, seed: int = 0) -> list[bytes]:
    """`n` raw input records for the generator's input table (integers over their full range)."""
    rng = np.random.default_rng(seed)
    dtypes = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32, "float32": np.float32}
    records = []
    for _ in range(n):
        parts = []
        for e in inputs:
            dt = np.dtype(dtypes[e["dtype"]])
            if dt.kind == "f":
                parts.append(rng.standard_normal(e["shape"]).astype(dt).tobytes())
            else:
                info = np.iinfo(dt.name)  # by name: numpy's stubs cannot narrow a runtime dtype
                parts.append(rng.integers(info.min, info.max + 1, e["shape"], dtype=dt).tobytes())
        records.append(b"".join(parts))
    return records


def profile_model(model_path: str | Path, board: Board, *, opt: str = "-O2", target: str | None = "board",
                  runs: int = 1, seed: int = 0, timeout: float = 60.0, transport: str = "auto") -> Profile:
    """Build `model_path` for `board` with per-layer hooks, run `runs` random inferences, and
    return the last one's per-layer counts. `target` as in `runner.run_model`."""
    from harness.device import open_device
    from harness.firmware.build import build_firmware
    from harness.firmware.footprint import footprint
    from harness.reference import Reference
    from harness.runner import check_model_fits, generate_cached

    model_path = Path(model_path)
    core = board.core if target == "board" else (None if target in (None, "portable") else target)
    gm = generate_cached(model_path, None, None, core)
    fw = build_firmware(board, gm.out_dir, opt=opt, defines={PROFILE_DEFINE: None})
    fp = footprint(fw.elf)
    check_model_fits(fw.elf, board, model_path)
    records = random_inputs(gm.inputs, max(1, runs), seed)
    ref = Reference(model_path)
    same = True
    totals = []
    with open_device(board, fw.elf, timeout=timeout, expected_hash=gm.sha256, transport=transport) as dev:
        if not dev.hello.profile:
            raise DeviceError(f"firmware {fw.elf} on board '{board.name}' reports no per-layer profile support: "
                              f"it was not built with -D{PROFILE_DEFINE}; rebuild (clear {fw.elf.parent})")
        for x in records:
            out, count = dev.invoke(x)
            totals.append(count.value)
            same = same and out == ref.run_raw(x)
        counts = dev.profile()
        hook_overhead = dev.hook_overhead.value
    if len(counts) != len(gm.layers):
        raise DeviceError(f"PROFILE returned {len(counts)} layers, the generated model has {len(gm.layers)} "
                          f"({model_path.name} on '{board.name}'): stale firmware build?")
    layers = [LayerCount(L["layer"], L["op"], tuple(L["output_shape"]), int(L["macs"]), c.value)
              for L, c in zip(gm.layers, counts)]
    return Profile(model=model_path.name, board=board.name, kind=counts[0].kind if counts else "instructions",
                   opt=opt, target=core or "portable", layers=layers, total=totals[-1], macs=gm.macs,
                   code_bytes=fp.code, flash_bytes=fp.flash, arena_bytes=gm.arena_bytes, bitexact=same,
                   totals=totals, hook_overhead=hook_overhead)


def format_profile(p: Profile) -> str:
    """The per-layer table with totals, counts labelled with their kind; only the reason when
    the per-layer sum and the whole inference contradict each other."""
    problem = p.inconsistency()
    if problem is not None:
        return f"error: {problem}"
    unit = "insn" if p.kind == "instructions" else "cycles"
    head = (f"{p.model} on {p.board} ({p.target} kernels, {p.opt}): counts are {p.kind}"
            f"{' (emulated, exact)' if p.kind == 'instructions' else ''}")
    rows = [("layer", "op", "output shape", "MACs", p.kind, f"{unit}/MAC", "share")]
    total = max(p.layer_sum, 1)
    for lc in p.layers:
        rows.append((str(lc.layer), lc.op, "x".join(map(str, lc.shape)), f"{lc.macs:,}", f"{lc.count:,}",
                     f"{lc.per_mac:.2f}" if lc.per_mac is not None else "-", f"{100 * lc.count / total:.1f}%"))
    rows.append(("", "sum of layers", "", f"{p.macs:,}", f"{p.layer_sum:,}",
                 f"{p.layer_sum / p.macs:.2f}" if p.macs else "-", "100.0%"))
    rows.append(("", "whole inference", "", f"{p.macs:,}", f"{p.total:,}",
                 f"{p.per_mac:.2f}" if p.per_mac is not None else "-", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 4, 5, 6}
    lines = [head]
    for k, r in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if k == 0 or k == len(p.layers):
            lines.append("  ".join("-" * w for w in widths))
    lines.append(f"code {p.code_bytes:,} B (flash {p.flash_bytes:,} B), arena {p.arena_bytes:,} B, "
                 f"outputs {'bit-exact' if p.bitexact else 'DIFFER from'} vs the TFLM reference "
                 f"({len(p.totals)} inference{'s' if len(p.totals) != 1 else ''})")
    lines.append(f"whole - sum of layers = {p.total - p.layer_sum:,} {unit}: the layer hooks (at most "
                 f"{p.hook_allowance:,} {unit}, measured on the device)")
    return "\n".join(lines)
