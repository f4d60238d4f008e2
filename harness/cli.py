"""`hil` command line: boards, code generation, one-off runs and result tables.

    hil boards                         list the board files
    hil codegen MODEL.tflite --out DIR generate the C library for a model
    hil run MODEL.tflite --board m4    build, flash, run random vectors, compare with the reference
    hil results [--last]               table of recorded measurements
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import HilError


def _cmd_boards(args: argparse.Namespace) -> int:
    from harness.boards import format_board_table, list_boards

    print(format_board_table(list_boards()))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import numpy as np

    from harness.boards import load_board
    from harness.reference import Reference
    from harness.runner import run_model

    board = load_board(args.board)
    ref = Reference(args.model)
    rng = np.random.default_rng(args.seed)
    inputs = []
    for _ in range(args.vectors):
        parts = []
        for d in ref.input_details:
            if np.issubdtype(d.dtype, np.integer):
                info = np.iinfo(d.dtype)
                parts.append(rng.integers(info.min, info.max + 1, d.shape, dtype=d.dtype).tobytes())
            else:
                parts.append(rng.standard_normal(d.shape).astype(d.dtype).tobytes())
        inputs.append(b"".join(parts))
    run = run_model(args.model, board, inputs, opt=args.opt)
    fp = run.footprint
    print(f"model      {Path(args.model).name} (sha256 {run.model_sha256[:16]}…), {run.macs:,} MACs")
    print(f"board      {board.name} ({board.core}, {board.backend})")
    print(f"count      {run.count_per_inference:,} {run.count_kind} per inference (max of {len(inputs)})")
    print(f"flash      {fp.flash:,} B (code {fp.code:,} B, weights {fp.weights:,} B)")
    print(f"RAM        {fp.ram_total:,} B (arena {run.arena_bytes:,} B, lower bound {run.arena_lower_bound:,} B)")
    print(f"stack      {run.stack_high_water:,} B used of {run.stack_size:,} B")
    print(f"bit-exact  {run.bitexact:.1%} of {len(inputs)} vectors vs the TFLM reference")
    return 0 if run.bitexact == 1.0 else 1


def _cmd_results(args: argparse.Namespace) -> int:
    from harness.report import measurement_table
    from harness.results import load_records, load_runs

    records = load_records(args.results_dir)
    if args.last:
        runs = load_runs(args.results_dir)
        if not runs:
            print("no runs recorded", file=sys.stderr)
            return 1
        last = max(runs, key=lambda m: m.get("start") or "")["run_id"]
        records = [r for r in records if r.run_id == last]
    print(measurement_table(records, markdown=args.markdown))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from harness.codegen import add_codegen_arguments, run_codegen

    p = argparse.ArgumentParser(prog="hil", description="TinyML hardware-in-the-loop harness")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("boards", help="list the board files")
    s.set_defaults(func=_cmd_boards)

    s = sub.add_parser("codegen", help="generate a self-contained C library from a .tflite")
    add_codegen_arguments(s)
    s.set_defaults(func=run_codegen)

    s = sub.add_parser("run", help="run a model on a board with random vectors and compare with the reference")
    s.add_argument("model")
    s.add_argument("--board", required=True)
    s.add_argument("--vectors", type=int, default=8)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--opt", default="-O2", help="optimisation level for the firmware (-O2, -Os)")
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser("results", help="table of recorded measurements")
    s.add_argument("--results-dir", default="results")
    s.add_argument("--last", action="store_true", help="only the most recent run")
    s.add_argument("--markdown", action="store_true")
    s.set_defaults(func=_cmd_results)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HilError as exc:
        print(f"hil {args.command}: [{exc.status}] {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
