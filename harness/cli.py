"""`hil` command line: boards, code generation, one-off runs and result tables.

    hil boards                         list the board files
    hil codegen MODEL.tflite --out DIR generate the C library for a model
    hil run MODEL.tflite --board m4    build, flash, run random vectors, compare with the reference
    hil profile MODEL.tflite --board m4 [--opt -Os] [--target portable]   per-layer counts
    hil results [--last]               table of recorded measurements
    hil sweep --suite har --variants int8,w4a8 --boards m0plus,m4 [-j N]   quantization-variant grid
    hil report [--run RUN_ID] --out DIR                                    Markdown + HTML + plots of a run
    hil baseline --out results/baselines/m4.csv [--run RUN_ID]             baseline from a run
    hil compare --baseline results/baselines/m4.csv [--run RUN_ID]         non-zero exit on a regression
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
    from harness.reference import Reference, pack_vectors
    from harness.runner import run_model

    board = load_board(args.board)
    ref = Reference(args.model)
    rng = np.random.default_rng(args.seed)
    tensors = []  # every vector of one input at once, then packed in one go
    for d in ref.input_details:
        shape = (args.vectors, *d.shape)
        if np.issubdtype(d.dtype, np.integer):
            info = np.iinfo(d.dtype)
            tensors.append(rng.integers(info.min, info.max + 1, shape, dtype=d.dtype))
        else:
            tensors.append(rng.standard_normal(shape).astype(d.dtype))
    inputs = pack_vectors(tensors)
    run = run_model(args.model, board, inputs, opt=args.opt, target=args.target, transport=args.transport)
    fp = run.footprint
    print(f"model      {Path(args.model).name} (sha256 {run.model_sha256[:16]}…), {run.macs:,} MACs")
    print(f"board      {board.name} ({board.core}, {board.backend}, {run.transport} transport)")
    print(f"count      {run.count_per_inference:,} {run.count_kind} per inference (max of {len(inputs)})")
    print(f"flash      {fp.flash:,} B (code {fp.code:,} B, weights {fp.weights:,} B)")
    print(f"RAM        {fp.ram_total:,} B (arena {run.arena_bytes:,} B, lower bound {run.arena_lower_bound:,} B)")
    print(f"stack      {run.stack_high_water:,} B used of {run.stack_size:,} B")
    print(f"bit-exact  {run.bitexact:.1%} of {len(inputs)} vectors vs the TFLM reference")
    return 0 if run.bitexact == 1.0 else 1


def _opt_level(value: str) -> str:
    """'-Os', 'Os' or 's' -> '-Os' (argparse takes '--opt=-Os' but not '--opt -Os')."""
    return value if value.startswith("-") else ("-" + value if value.startswith("O") else "-O" + value)


def _cmd_profile(args: argparse.Namespace) -> int:
    from harness.boards import load_board
    from harness.profile import format_profile, profile_model

    prof = profile_model(args.model, load_board(args.board), opt=args.opt, target=args.target, runs=args.runs,
                         seed=args.seed, timeout=args.timeout, transport=args.transport)
    print(format_profile(prof))
    return 0 if prof.bitexact else 1


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


def _cmd_sweep(args: argparse.Namespace) -> int:
    import signal

    from harness.quant import VARIANTS
    from harness.report import measurement_table
    from harness.sweep import plan, run_sweep, split_list, summary

    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, _term)  # CI cancelling a job: stop emulators, close the run partial
    variants = split_list(args.variants) or list(VARIANTS)
    points = plan(split_list(args.suite), variants, split_list(args.boards), suites_dir=args.suites_dir,
                  max_vectors=args.vectors, transport=args.transport)
    try:
        result = run_sweep(points, results_dir=args.results_dir, jobs=args.jobs, run_id=args.run_id,
                           argv=sys.argv, timeout=args.timeout)
    except KeyboardInterrupt:
        print("hil sweep: interrupted; the run is recorded as partial", file=sys.stderr)
        return 130
    print(measurement_table(result.records))
    print(summary(result))
    return 1 if args.strict and result.failed else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.lab_report import select_run, write_report

    manifest, records = select_run(args.results_dir, args.run)
    rep = write_report(records, args.out, manifest=manifest, title=args.title)
    print(f"report of run {manifest.get('run_id')}: {rep.markdown}, {rep.html}, {len(rep.images)} plots")
    return 0


def _cmd_baseline(args: argparse.Namespace) -> int:
    from harness.lab_report import select_run
    from harness.results import write_baseline

    manifest, records = select_run(args.results_dir, args.run)
    boards = [b for b in (args.board or "").split(",") if b]
    if not boards and Path(args.out).stem in {r.board for r in records}:
        boards = [Path(args.out).stem]  # results/baselines/<board>.csv holds that board only
    chosen = [r for r in records if not boards or r.board in boards]
    if not chosen:
        print(f"hil baseline: run {manifest.get('run_id')} has no records for board(s) {', '.join(boards)}",
              file=sys.stderr)
        return 1
    path = write_baseline(chosen, args.out)
    print(f"baseline {path}: {len({r.key for r in chosen})} points from run {manifest.get('run_id')}"
          f" (boards {', '.join(sorted({r.board for r in chosen}))})")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from harness.lab_report import compare_to_baseline, select_run, thresholds

    manifest, records = select_run(args.results_dir, args.run)
    result = compare_to_baseline(records, args.baseline,
                                 thresholds(count_pct=args.count_pct, size_pct=args.size_pct, acc_drop=args.acc_drop))
    print(f"run {manifest.get('run_id')} ({manifest.get('status')})")
    print(result.table())
    if result.missing and not _overlap(records, args.baseline):  # a nightly that compared nothing must not pass
        print(f"hil compare: no point of {args.baseline} was measured in run {manifest.get('run_id')}; "
              f"compare the run that measured them (--run) or rewrite the baseline (hil baseline)", file=sys.stderr)
        return 1
    return 0 if result.ok else 1


def _overlap(records: list, baseline: str) -> bool:
    from harness.results import read_records_csv

    keys = {r.key for r in read_records_csv(baseline)}
    return any(r.key in keys for r in records)


def _add_transport(s: argparse.ArgumentParser) -> None:
    from harness.transport import TRANSPORTS

    s.add_argument("--transport", choices=TRANSPORTS, default="auto",
                   help="how vectors reach the device: memory (debugger/emulator writes RAM), uart (frames), "
                        "auto (memory where the backend has it; default)")


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
    s.add_argument("--opt", default="-O2", type=_opt_level,
                   help="optimisation level of the firmware: --opt=-O2 (default) or --opt Os (size)")
    s.add_argument("--target", default="board",
                   help="kernels: 'board' (the board core's optimized ones), 'portable', or a core name")
    _add_transport(s)
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser("profile", help="per-layer instruction/cycle counts of a model on a board")
    s.add_argument("model")
    s.add_argument("--board", required=True)
    s.add_argument("--opt", default="-O2", type=_opt_level,
                   help="optimisation level of the firmware: --opt=-O2 (speed, default) or --opt Os (size)")
    s.add_argument("--target", default="board",
                   help="kernels: 'board' (the board core's optimized ones), 'portable', or a core name")
    s.add_argument("--runs", type=int, default=1, help="random inferences before reading the profile")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--timeout", type=float, default=60.0, help="device timeout per command, seconds")
    _add_transport(s)
    s.set_defaults(func=_cmd_profile)

    s = sub.add_parser("results", help="table of recorded measurements")
    s.add_argument("--results-dir", default="results")
    s.add_argument("--last", action="store_true", help="only the most recent run")
    s.add_argument("--markdown", action="store_true")
    s.set_defaults(func=_cmd_results)

    s = sub.add_parser("sweep", help="run a grid of suites x quantization variants x boards, in parallel")
    s.add_argument("--suite", action="append", required=True, help="suite name (repeat or comma-separate)")
    s.add_argument("--variants", action="append", default=[], help="comma-separated variants (default: all six)")
    s.add_argument("--boards", action="append", required=True, help="comma-separated board names or files")
    s.add_argument("-j", "--jobs", type=int, default=None, help="parallel emulators (default: CPU cores)")
    s.add_argument("--results-dir", default="results")
    s.add_argument("--suites-dir", default="suites", help="where <suite>/artifacts/<variant>.tflite live")
    s.add_argument("--vectors", type=int, default=None, help="at most this many test vectors per point")
    s.add_argument("--run-id", default=None)
    s.add_argument("--timeout", type=float, default=60.0, help="device timeout per command, seconds")
    s.add_argument("--strict", action="store_true", help="exit 1 when any point failed")
    _add_transport(s)
    s.set_defaults(func=_cmd_sweep)

    s = sub.add_parser("report", help="Markdown + HTML report with plots of a sweep run")
    s.add_argument("--results-dir", default="results")
    s.add_argument("--run", default=None, help="run id (or a unique prefix; default: the latest run)")
    s.add_argument("--out", required=True, help="output directory (report.md, report.html, *.png)")
    s.add_argument("--title", default="Quantization lab report")
    s.set_defaults(func=_cmd_report)

    s = sub.add_parser("baseline", help="write a baseline CSV from a run")
    s.add_argument("--out", required=True, help="e.g. results/baselines/m4.csv (its stem picks the board)")
    s.add_argument("--results-dir", default="results")
    s.add_argument("--run", default=None, help="run id (default: the latest run)")
    s.add_argument("--board", default=None, help="comma-separated boards to keep (default: the --out stem if "
                   "it names a board of the run, else all)")
    s.set_defaults(func=_cmd_baseline)

    s = sub.add_parser("compare", help="compare a run with a baseline; exit 1 on a regression")
    s.add_argument("--baseline", required=True)
    s.add_argument("--results-dir", default="results")
    s.add_argument("--run", default=None, help="run id (default: the latest run)")
    s.add_argument("--count-pct", type=float, default=2.0, help="allowed growth of count per inference, %%")
    s.add_argument("--size-pct", type=float, default=2.0, help="allowed growth of flash, RAM and arena, %%")
    s.add_argument("--acc-drop", type=float, default=0.01, help="allowed accuracy drop, fraction (0.01 = 1 pt)")
    s.set_defaults(func=_cmd_compare)
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
