"""Ahead-of-time code generator: quantized .tflite -> self-contained static C library.

    from harness.codegen import generate
    gm = generate("kws.tflite", "build/kws")      # writes model.h, model.c, kernels, model.json
    gm.arena_bytes, gm.macs, gm.layers

CLI (wired into `hil` by the integrator): `hil codegen MODEL.tflite --out DIR [--name NAME]`,
via `add_codegen_arguments(parser)` + `run_codegen(args)`, or `python -m harness.codegen`.
Arithmetic is TFLM's reference arithmetic, so outputs are bit-exact with the TFLM runtime.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HilError

__all__ = ["GeneratedModel", "generate", "add_codegen_arguments", "run_codegen", "main"]


@dataclass
class GeneratedModel:
    """What was generated: the manifest (model.json) fields plus where it went."""

    name: str
    sha256: str
    out_dir: Path
    input_bytes: int
    output_bytes: int
    inputs: list[dict]
    outputs: list[dict]
    arena_bytes: int
    arena_lower_bound: int
    weight_bytes: int
    macs: int
    num_layers: int
    layers: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    source: str = ""

    @classmethod
    def from_manifest(cls, m: dict, out_dir: Path) -> GeneratedModel:
        return cls(
            name=m["name"], sha256=m["sha256"], out_dir=out_dir, input_bytes=m["input_bytes"],
            output_bytes=m["output_bytes"], inputs=m["inputs"], outputs=m["outputs"],
            arena_bytes=m["arena_bytes"], arena_lower_bound=m["arena_lower_bound"],
            weight_bytes=m["weight_bytes"], macs=m["macs"], num_layers=m["num_layers"],
            layers=m["layers"], files=m["files"], source=m["source"],
        )

    @classmethod
    def from_dir(cls, out_dir: str | Path) -> GeneratedModel:
        """A library generated earlier, from its model.json."""
        import json

        out = Path(out_dir)
        return cls.from_manifest(json.loads((out / "model.json").read_text()), out)


def generate(model_path: str | Path, out_dir: str | Path, *, name: str | None = None,
             state: list[tuple[int, int]] | None = None, state_init: bytes | None = None,
             pack_weights: bool = True, target: str | None = None, in_place: bool = True,
             prefer: str | None = None) -> GeneratedModel:
    """Read, plan and emit `model_path` into `out_dir` (replaced atomically; untouched on error).

    `state` lists (input index, output index) pairs of a streaming model's explicit state: the
    generated C then keeps that state between calls (see harness/codegen/state.py).
    `pack_weights`: conv/FC filters on a 4-/2-bit grid (w4a8, w2a8, INT4) are stored packed in
    flash and unpacked by the kernels (harness/codegen/packing.py); False keeps int8 filters.
    `target`: the core (e.g. "cortex-m4", "cortex-m0plus"; None = portable C) whose optimized
    int8 conv/FC kernels to use (harness/codegen/optimized.py); results are bit-exact either way.
    `in_place`: same-shape convolutions may write their output over their input (planner.py).
    `prefer`: "size" (default) keeps the optimized kernels' weights int8-sized in flash, "speed"
    lets the DSP cores store them as 16-bit pairs (twice the weight flash; faster only on deep 3x3
    convolutions and batch-1 FC layers); the target may say it too ("cortex-m4:speed")."""
    from harness.codegen.emitter import emit, write_atomically
    from harness.codegen.reader import read_tflite

    if name is not None:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "model"  # it becomes a C string and file names
    graph = read_tflite(model_path, name=name)
    emitted = emit(graph, pack_weights=pack_weights, target=target, in_place=in_place, prefer=prefer)
    files, m = emitted.files, emitted.manifest
    if state:
        from harness.codegen.state import StatePair, add_state

        files, m = add_state(files, m, graph, [StatePair(i, o) for i, o in state], state_init)
    out = write_atomically(files, out_dir)
    return GeneratedModel.from_manifest(m, out)


def add_codegen_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `hil codegen` (for the integrator's subcommand parser)."""
    parser.add_argument("model", help="quantized .tflite file")
    parser.add_argument("--out", "-o", required=True, help="output directory (replaced)")
    parser.add_argument("--name", default=None, help="model name (default: file stem)")
    parser.add_argument("--state", action="append", default=[], metavar="IN:OUT",
                        help="streaming: output OUT feeds input IN at the next call; the C keeps the state "
                             "(zero point initially and after hil_model_reset)")
    parser.add_argument("--no-pack", dest="pack_weights", action="store_false",
                        help="store 4-/2-bit grid weights as int8 (default: packed 2 or 4 per byte)")
    parser.add_argument("--target", default=None,
                        help="core whose optimized kernels to use: cortex-m4, cortex-m7, cortex-m33, cortex-m0plus, "
                             "... (default: portable C)")
    parser.add_argument("--prefer", choices=("size", "speed"), default=None,
                        help="flash/speed trade-off of the optimized kernels: size (default; weights int8-sized "
                             "in flash) or speed (DSP cores: 16-bit weight pairs, twice the weight flash)")
    parser.add_argument("--no-in-place", dest="in_place", action="store_false",
                        help="give every activation its own arena block (default: same-shape convolutions "
                             "write their output over their input)")


def _state_pairs(specs: list[str]) -> list[tuple[int, int]]:
    pairs = []
    for spec in specs:
        a, sep, b = spec.partition(":")
        if not (sep and a.isdigit() and b.isdigit()):
            raise SystemExit(f"hil codegen: --state {spec!r}: expected INPUT:OUTPUT indices, e.g. --state 0:1")
        pairs.append((int(a), int(b)))
    return pairs


def run_codegen(args: argparse.Namespace) -> int:
    """Run `hil codegen`; prints a one-screen summary. Returns 0, or 2 on a HilError."""
    try:
        gm = generate(args.model, args.out, name=args.name, state=_state_pairs(args.state) or None,
                      pack_weights=getattr(args, "pack_weights", True), target=getattr(args, "target", None),
                      in_place=getattr(args, "in_place", True), prefer=getattr(args, "prefer", None))
    except HilError as e:
        print(f"hil codegen: {e}", file=sys.stderr)
        return 2
    packed = sorted({int(x["weight_bits"]) for x in gm.layers if x.get("weight_bits") in (2, 4)})
    note = f" ({'/'.join(map(str, packed))}-bit packed filters)" if packed else ""
    print(f"{gm.name}: {gm.num_layers} layers, {gm.macs} MACs, weights {gm.weight_bytes} B{note}, "
          f"arena {gm.arena_bytes} B (lower bound {gm.arena_lower_bound} B), "
          f"input {gm.input_bytes} B, output {gm.output_bytes} B -> {gm.out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hil codegen", description=__doc__.splitlines()[0])
    add_codegen_arguments(parser)
    return run_codegen(parser.parse_args(argv))
