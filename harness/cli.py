"""`hil` command line: boards, code generation, one-off runs and result tables.

    hil boards                         list the board files
    hil codegen MODEL.tflite --out DIR generate the C library for a model
    hil build MODEL.tflite --board nucleo-l432kc   build the firmware: ELF path, sha256, footprint (flash by hand)
    hil run MODEL.tflite --board m4 [--data test.npz] [--twin]   build, flash, run (random or your vectors), compare with
                                                        the reference, accuracy / AUC with --data
    hil budgets suites/har [--run RUN_ID] [--keep-tighter]   budget tables of suite files from a measured run
    hil profile MODEL.tflite --board m4 [--opt -Os] [--target portable]   per-layer counts
    hil results [--last] [--suite S] [--board B] [--since DATE] [--csv F]   recorded measurements
    hil sweep --suite har --variants int8,w4a8 --boards m0plus,m4 [-j N | --scheduler tcp://H:P]   lab grid
    hil report [--run RUN_ID] --out DIR                                    Markdown + HTML + plots of a run
    hil report --trend --out DIR [--since DATE]                            metrics across runs, regressions
    hil baseline --out results/baselines/m4.csv [--run RUN_ID]             baseline from a run
    hil compare --baseline results/baselines/m4.csv [--run RUN_ID]         non-zero exit on a regression
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.errors import HilError


def _cmd_boards(args: argparse.Namespace) -> int:
    from harness.boards import format_board_table, list_boards

    print(format_board_table(list_boards()))
    return 0


TWIN_HELP = ("run the board's hardware ELF on its Renode twin (board file [twin]); exact instruction counts "
             "recorded under BOARD@twin")


def _cmd_build(args: argparse.Namespace) -> int:
    """Build the firmware a board runs (a twin builds its real board's), for flashing by hand."""
    from harness.boards import load_board
    from harness.firmware.build import build_firmware
    from harness.firmware.footprint import footprint
    from harness.runner import check_model_fits, generate_cached

    board = load_board(args.board)
    model = Path(args.model)
    core = board.core if args.target == "board" else (None if args.target == "portable" else args.target)
    gm = generate_cached(model, None, None, core)
    fw = build_firmware(board, gm.out_dir, opt=args.opt)
    fp = footprint(fw.elf)
    check_model_fits(fw.elf, board, model)
    clock = f", {board.clock.setting.summary}" if board.clock is not None else ""
    print(f"board      {board.name} ({board.core} @ {board.clock_hz / 1e6:g} MHz{clock})")
    print(f"elf        {fw.elf}")
    print(f"sha256     {fw.sha256}")
    print(f"flash      {fp.flash:,} B of {board.flash.size:,} B (code {fp.code:,} B, weights {fp.weights:,} B)")
    print(f"RAM        {fp.ram_total:,} B of {board.ram.size:,} B (arena {gm.arena_bytes:,} B, "
          f"stack {board.stack_bytes:,} B included)")
    _print_mailbox(fp.mailbox)
    return 0


def _print_mailbox(nbytes: int) -> None:
    """The input/output buffers when the board keeps them outside RAM (footprint `mailbox`)."""
    if nbytes:
        print(f"mailbox    {nbytes:,} B (input and output buffers, doorbell) in the board's [memory.mailbox], not RAM")


def _cmd_run(args: argparse.Namespace) -> int:
    from harness.boards import load_board
    from harness.point import Point, PointKey
    from harness.runner import run_model

    board = load_board(args.board, twin=args.twin)
    stem = Path(args.model).name.split(".")[0]
    inputs, x, labels = _data_vectors(args) if args.data else (_random_vectors(args), None, None)
    run = run_model(args.model, board, inputs, opt=args.opt, target=args.target, transport=args.transport)
    point = Point(PointKey("run", stem, stem), run, labels=labels)
    agreement = point.agreement()
    fp = run.footprint
    print(f"model      {Path(args.model).name} (sha256 {run.model_sha256[:16]}…), {run.macs:,} MACs")
    print(f"board      {board.name} ({board.core}, {board.backend}, {run.transport} transport)")
    print(f"firmware   {run.firmware.elf} (sha256 {run.firmware.sha256})")
    print(f"count      {run.count_per_inference:,} {run.count_kind} per inference (max of {len(inputs)})")
    print(f"flash      {fp.flash:,} B (code {fp.code:,} B, weights {fp.weights:,} B)")
    print(f"RAM        {fp.ram_total:,} B (arena {run.arena_bytes:,} B, lower bound {run.arena_lower_bound:,} B)")
    _print_mailbox(fp.mailbox)
    print(f"stack      {run.stack_high_water:,} B used of {run.stack_size:,} B")
    rule = "bit-exact" if point.exact_outputs else "within 1e-5 + 1e-4 x |ref|"
    print(f"agreement  {agreement.fraction:.1%} of {len(inputs)} vectors {rule} vs the TFLM reference"
          + (f" (max |diff| {agreement.max_abs_diff:g})" if not agreement.exact else ""))
    if labels is not None:
        print(_task_metric(point, x, args.task))
    return 0 if agreement.exact else 1


def _random_vectors(args: argparse.Namespace) -> list[bytes]:
    import numpy as np

    from harness.reference import Reference
    from harness.vectors import pack_vectors

    ref = Reference(args.model)
    rng = np.random.default_rng(args.seed)
    tensors = []  # every vector of one input at once, then packed in one go
    for d in ref.input_details:
        shape = (args.vectors or 8, *d.shape)
        if np.issubdtype(d.dtype, np.integer):
            info = np.iinfo(d.dtype)
            tensors.append(rng.integers(info.min, info.max + 1, shape, dtype=d.dtype))
        else:
            tensors.append(rng.standard_normal(shape).astype(d.dtype))
    return pack_vectors(tensors)


def _data_vectors(args: argparse.Namespace) -> tuple[list[bytes], Any, Any]:
    """The user's test set: x (float, quantized here, or already encoded) and labels y if present."""
    from harness.errors import ConfigError
    from harness.reference import Reference
    from harness.vectors import encoded_inputs, load_npz, to_bytes

    arrays = load_npz(args.data)
    ref = Reference(args.model)
    if len(ref.input_details) != 1:
        raise ConfigError(f"{args.model}: --data feeds single-input models; this one has {len(ref.input_details)} "
                          "inputs (use the hil_model fixture)")
    d = ref.input_details[0]
    x = encoded_inputs(arrays, Path(args.model).name.split(".")[0], d, args.data)
    y = arrays.get("y")
    n = len(x) if args.vectors is None else min(args.vectors, len(x))
    if y is not None and len(y) < n:
        raise ConfigError(f"{args.data}: {len(x)} input vectors but only {len(y)} labels", file=args.data, field="y")
    return to_bytes(x[:n], d), x[:n], (None if y is None else y[:n])


def _task_metric(point: Any, x: Any, task: str) -> str:
    """Accuracy (top-1 of output 0) or, for an autoencoder, the AUC of its reconstruction error."""
    import numpy as np

    from harness.metrics.anomaly import reconstruction_error, roc_auc
    from harness.metrics.classification import accuracy_from_scores
    from harness.reference import dequantize

    labels = point.labels
    if task == "anomaly":
        scores = reconstruction_error(dequantize(x, point.run.input_details[0], np.float64), point.dequantized(0))
        return f"AUC        {roc_auc(scores, labels):.4f} (reconstruction error vs y, {len(labels)} vectors)"
    acc = accuracy_from_scores(point.outputs(0).reshape(len(labels), -1), labels)
    return f"accuracy   {acc:.4f} ({round(acc * len(labels))}/{len(labels)}, top-1 of output 0 vs y)"


def _opt_level(value: str) -> str:
    """'-Os', 'Os' or 's' -> '-Os' (argparse takes '--opt=-Os' but not '--opt -Os')."""
    return value if value.startswith("-") else ("-" + value if value.startswith("O") else "-O" + value)


def _cmd_profile(args: argparse.Namespace) -> int:
    from harness.boards import load_board
    from harness.profile import format_profile, profile_model

    prof = profile_model(args.model, load_board(args.board, twin=args.twin), opt=args.opt, target=args.target,
                         runs=args.runs, seed=args.seed, timeout=args.timeout, transport=args.transport)
    if prof.inconsistency() is not None:
        print(f"hil profile: {format_profile(prof)}", file=sys.stderr)
        return 1
    print(format_profile(prof))
    return 0 if prof.bitexact else 1


def _cmd_results(args: argparse.Namespace) -> int:
    from harness.report import measurement_table
    from harness.results import load, load_runs

    runs = load_runs(args.results_dir)
    if not runs:
        print(f"hil results: no runs recorded in {args.results_dir}", file=sys.stderr)
        return 1
    wanted = [args.run] if args.run else [str(runs[-1]["run_id"])] if args.last else None
    df = load(args.results_dir, runs=wanted, suite=_split(args.suite), board=_split(args.board),
              variant=_split(args.variant), since=args.since)
    for m in runs:  # say which runs the table draws on, and loudly which of them are partial
        rid = str(m.get("run_id"))
        if rid not in set(df["run_id"]) and not (wanted and any(rid.startswith(w) for w in wanted)):
            continue
        note = f"run {rid}: {m.get('status')}, started {m.get('start')}, {len(df[df['run_id'] == rid])} records shown"
        if m.get("status") != "complete":
            problem = m.get("problem") or "it did not finish"
            note += f" -- PARTIAL run ({problem}): points may be missing"
        print(note, file=sys.stderr)
    if args.csv:
        text = df.to_csv(index=False)
        if args.csv == "-":
            sys.stdout.write(text)
        else:
            Path(args.csv).write_text(text, encoding="utf-8")
            print(f"{len(df)} records written to {args.csv}", file=sys.stderr)
        return 0
    print(measurement_table(df, markdown=args.markdown))
    return 0


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for opt in values or [] for v in opt.split(",") if v.strip()]


def _cmd_sweep(args: argparse.Namespace) -> int:
    import signal

    from harness.boards import TWIN_SUFFIX
    from harness.quant import VARIANTS
    from harness.report import measurement_table
    from harness.sweep import plan, run_sweep, split_list, summary

    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, _term)  # CI cancelling a job: stop emulators, close the run partial
    variants = split_list(args.variants) or list(VARIANTS)
    boards = [b + TWIN_SUFFIX if args.twin and not b.endswith(TWIN_SUFFIX) else b for b in split_list(args.boards)]
    points = plan(split_list(args.suite), variants, boards, suites_dir=args.suites_dir,
                  max_vectors=args.vectors, transport=args.transport)
    try:
        result = run_sweep(points, results_dir=args.results_dir, jobs=args.jobs, scheduler=args.scheduler,
                           run_id=args.run_id, argv=sys.argv, timeout=args.timeout)
    except KeyboardInterrupt:
        print("hil sweep: interrupted; the run is recorded as partial", file=sys.stderr)
        return 130
    print(measurement_table(result.records))
    print(summary(result))
    return 1 if args.strict and result.failed else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.lab_report import select_run, write_report

    if args.trend:
        from harness.results import load
        from harness.trend import write_trend

        df = load(args.results_dir, runs=[args.run] if args.run else None, suite=_split(args.suite),
                  board=_split(args.board), variant=_split(args.variant), since=args.since)
        trend = write_trend(df, args.out)
        print(f"trend of {df['run_id'].nunique()} runs: {trend.markdown}, {trend.table}, {len(trend.images)} plots, "
              f"{trend.regressions} regression(s) against the previous run")
        return 0

    manifest, records = select_run(args.results_dir, args.run)
    rep = write_report(records, args.out, manifest=manifest, title=args.title)
    print(f"report of run {manifest.get('run_id')}: {rep.markdown}, {rep.html}, {len(rep.images)} plots")
    return 0


def _cmd_baseline(args: argparse.Namespace) -> int:
    from harness.baseline import write_baseline
    from harness.lab_report import select_run

    manifest, records = select_run(args.results_dir, args.run)
    boards = [b for b in (args.board or "").split(",") if b]
    if not boards and Path(args.out).stem in {r.board for r in records}:
        boards = [Path(args.out).stem]  # results/baselines/<board>.csv holds that board only
    chosen = [r for r in records if not boards or r.board in boards]
    if not chosen:
        print(f"hil baseline: run {manifest.get('run_id')} has no records for board(s) {', '.join(boards)}",
              file=sys.stderr)
        return 1
    if manifest.get("status") != "complete":
        print(f"hil baseline: warning: run {manifest.get('run_id')} is {manifest.get('status')}; its points "
              "are all the baseline will hold", file=sys.stderr)
    path = write_baseline(chosen, args.out)
    points = {(r.suite, r.model, r.variant, r.board) for r in chosen}
    print(f"baseline {path}: {len(points)} points from run {manifest.get('run_id')}"
          f" (boards {', '.join(sorted({r.board for r in chosen}))})")
    return 0


def _cmd_budgets(args: argparse.Namespace) -> int:
    from harness.budget_writer import write_suite_budgets
    from harness.errors import ConfigError
    from harness.lab_report import select_run
    from harness.results import atomic_write_text
    from harness.suite_file import SUITE_FILE, load_suite

    files = [p for arg in args.suites for p in ([Path(arg)] if Path(arg).is_file() else
                                                 sorted(Path(arg).rglob(SUITE_FILE)))]
    if not files:
        raise ConfigError(f"no {SUITE_FILE} in {', '.join(args.suites)}")
    if args.out and len(files) > 1:
        raise ConfigError(f"--out names one file, but {len(files)} suites were given")
    records, runs = [], []
    for run_id in args.run or [None]:
        manifest, recs = select_run(args.results_dir, run_id)
        records += recs
        runs.append(str(manifest.get("run_id")))
    # Every suite is rendered and checked before any file is written: a bad --accept changes nothing.
    used: set[str] = set()
    rendered = []
    for f in files:
        spec = load_suite(f)
        own = Path(spec.budgets.path)
        out = Path(args.out) if args.out else (own if own != spec.path else None)
        _, text, n = write_suite_budgets(spec, records, None, args.keep_tighter, args.accept, used)
        if n == 0:
            raise ConfigError(f"run {', '.join(runs)} has no measured point of suite {spec.name!r} "
                              f"(model {spec.model_name!r}) from {f}; run it first (pytest {f.parent} --board=...)")
        rendered.append((spec, out, text, n))
    unused = [a for a in args.accept if a not in used]
    if unused:
        raise ConfigError(f"--accept {', '.join(unused)}: no such measured limit in run {', '.join(runs)} of "
                          f"{', '.join(s.name for s, *_ in rendered)} (BOARD/VARIANT:METRIC, metric as in the "
                          "budget file, e.g. m4/int8:instructions_per_inference); nothing was written", field="accept")
    for spec, path, text, n in rendered:
        if path is not None:
            atomic_write_text(path, text)
        if path is None:
            print(f"# {spec.path} keeps its budgets inline: paste these [budgets.*] tables there (prefix each "
                  "table name with budgets.)")
            print(text)
        else:
            print(f"{path}: budgets of {n} point(s) of suite {spec.name!r} from run {', '.join(runs)}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from harness.baseline import Thresholds, compare, newest_time, read_baseline
    from harness.lab_report import select_run

    read_baseline(args.baseline)  # a missing or malformed baseline is a config error before anything else
    manifest, records = select_run(args.results_dir, args.run)
    rid = manifest.get("run_id")
    if args.run is None:  # the newest run, unless it cannot stand for "this build"
        refusal = None
        if not records:
            refusal = (f"the newest run {rid} wrote no records ({manifest.get('status')}; it failed before its "
                       "first record); fix that run rather than compare an older one")
        elif manifest.get("status") != "complete":
            refusal = f"the newest run {rid} is {manifest.get('status')} ({manifest.get('problem', 'not finished')})"
        elif max(r.time for r in records) < newest_time(args.baseline):
            refusal = f"the newest run {rid} is older than the baseline {args.baseline}"
        if refusal:
            print(f"hil compare: {refusal}; name a run explicitly with --run RUN_ID to compare it anyway",
                  file=sys.stderr)
            return 1
    limits = Thresholds(count_pct=args.count_pct, size_pct=args.size_pct, stack_pct=args.stack_pct,
                        accuracy_points=args.acc_drop * 100.0)
    result = compare(records, args.baseline, limits)
    print(f"run {rid} ({manifest.get('status')})")
    print(result.table())
    return 0 if result.ok else 1


def _add_transport(s: argparse.ArgumentParser) -> None:
    from harness.transport import TRANSPORTS

    s.add_argument("--transport", choices=TRANSPORTS, default="auto",
                   help="how vectors reach the device: memory (debugger/emulator writes RAM), uart (frames), "
                        "auto (memory where the backend has it; default)")


def build_parser() -> argparse.ArgumentParser:
    from harness.baseline import Thresholds
    from harness.codegen import add_codegen_arguments, run_codegen

    p = argparse.ArgumentParser(prog="hil", description="TinyML hardware-in-the-loop harness")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("boards", help="list the board files")
    s.set_defaults(func=_cmd_boards)

    s = sub.add_parser("codegen", help="generate a self-contained C library from a .tflite")
    add_codegen_arguments(s)
    s.set_defaults(func=run_codegen)

    s = sub.add_parser("build", help="build a model's firmware for a board: ELF path, sha256 and footprint")
    s.add_argument("model")
    s.add_argument("--board", required=True)
    s.add_argument("--opt", default="-O2", type=_opt_level, help="optimisation level: --opt=-O2 (default) or --opt Os")
    s.add_argument("--target", default="board",
                   help="kernels: 'board' (the board core's optimized ones), 'portable', or a core name")
    s.set_defaults(func=_cmd_build)
    s = sub.add_parser("run", help="run a model on a board with random vectors and compare with the reference")
    s.add_argument("model")
    s.add_argument("--board", required=True)
    s.add_argument("--data", default=None, metavar="NPZ",
                   help="your test set: x (float, quantized with the model's input scale; or already int8/int16) "
                        "and labels y; prints accuracy (or AUC with --task anomaly) beside the counts")
    s.add_argument("--task", choices=("classification", "anomaly"), default="classification",
                   help="with --data: how y is scored (top-1 accuracy, or AUC of the reconstruction error)")
    s.add_argument("--vectors", type=int, default=None, help="vectors to run (default: 8 random, or all of --data)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--opt", default="-O2", type=_opt_level,
                   help="optimisation level of the firmware: --opt=-O2 (default) or --opt Os (size)")
    s.add_argument("--target", default="board",
                   help="kernels: 'board' (the board core's optimized ones), 'portable', or a core name")
    _add_transport(s)
    s.add_argument("--twin", action="store_true", help=TWIN_HELP)
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
    s.add_argument("--twin", action="store_true", help=TWIN_HELP)
    s.set_defaults(func=_cmd_profile)

    s = sub.add_parser("results", help="table of recorded measurements (one row per point, latest values)")
    s.add_argument("--results-dir", default="results")
    s.add_argument("--last", action="store_true", help="only the most recent run")
    s.add_argument("--run", default=None, help="only this run (id or unique prefix)")
    s.add_argument("--suite", action="append", help="only these suites (repeat or comma-separate)")
    s.add_argument("--board", action="append", help="only these boards")
    s.add_argument("--variant", action="append", help="only these variants")
    s.add_argument("--since", default=None, help="only runs started at or after this UTC date/time (2026-12-01)")
    s.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    s.add_argument("--csv", default=None, metavar="FILE",
                   help="export every selected record with its run's metadata as CSV ('-': stdout)")
    s.set_defaults(func=_cmd_results)

    s = sub.add_parser("sweep", help="run a grid of suites x quantization variants x boards as Dask tasks")
    s.add_argument("--suite", action="append", required=True, help="suite name (repeat or comma-separate)")
    s.add_argument("--variants", action="append", default=[], help="comma-separated variants (default: all six)")
    s.add_argument("--boards", action="append", required=True, help="comma-separated board names or files")
    s.add_argument("-j", "--jobs", type=int, default=None,
                   help="local worker processes, one emulator each (default: CPU cores); ignored with --scheduler")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://HOST:PORT, tls://HOST:PORT; see docs/lab.md); "
                        "default: a local cluster on 127.0.0.1")
    s.add_argument("--results-dir", default="results")
    s.add_argument("--suites-dir", default="suites", help="where <suite>/artifacts/<variant>.tflite live")
    s.add_argument("--vectors", type=int, default=None, help="at most this many test vectors per point")
    s.add_argument("--run-id", default=None)
    s.add_argument("--timeout", type=float, default=60.0, help="device timeout per command, seconds")
    s.add_argument("--strict", action="store_true", help="exit 1 when any point failed")
    _add_transport(s)
    s.add_argument("--twin", action="store_true", help=TWIN_HELP)
    s.set_defaults(func=_cmd_sweep)

    s = sub.add_parser("report", help="Markdown + HTML report with plots of a sweep run, or --trend across runs")
    s.add_argument("--results-dir", default="results")
    s.add_argument("--run", default=None, help="run id (or a unique prefix; default: the latest run)")
    s.add_argument("--trend", action="store_true",
                   help="every metric of every point across runs (one line per board, regressions marked), "
                        "plus trend.csv; filters: --suite/--board/--variant/--since")
    s.add_argument("--suite", action="append", help="--trend: only these suites")
    s.add_argument("--board", action="append", help="--trend: only these boards")
    s.add_argument("--variant", action="append", help="--trend: only these variants")
    s.add_argument("--since", default=None, help="--trend: only runs started at or after this UTC date/time")
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

    s = sub.add_parser("budgets", help="write suites' budget tables from measured runs (headroom rules in "
                                        "harness/budget_writer.py)")
    s.add_argument("suites", nargs="+", help="suite files (hil.toml) or folders holding them")
    s.add_argument("--run", action="append", default=[], help="run id (repeat for several; default: the latest)")
    s.add_argument("--results-dir", default="results")
    s.add_argument("--out", default=None, help="file to write (default: the suite's own `budgets` file)")
    s.add_argument("--keep-tighter", action="store_true",
                   help="where a budget exists, keep the tighter of it and the new one (re-measuring only tightens)")
    s.add_argument("--accept", action="append", default=[], metavar="BOARD/VARIANT:METRIC",
                   help="with --keep-tighter: a deliberate change (say why in the commit); take the new budget")
    s.set_defaults(func=_cmd_budgets)

    s = sub.add_parser("compare", help="compare a run with a baseline; exit 1 on a regression")
    s.add_argument("--baseline", required=True)
    s.add_argument("--results-dir", default="results")
    s.add_argument("--run", default=None, help="run id (default: the latest run, refused when it is partial, "
                   "wrote nothing or is older than the baseline)")
    limits = Thresholds()  # the same defaults as pytest --baseline
    s.add_argument("--count-pct", type=float, default=limits.count_pct,
                   help="allowed growth of count per inference, %% (default %(default)s)")
    s.add_argument("--size-pct", type=float, default=limits.size_pct,
                   help="allowed growth of flash, RAM and arena, %% (default %(default)s)")
    s.add_argument("--stack-pct", type=float, default=limits.stack_pct,
                   help="allowed growth of the stack high-water, %% (default %(default)s)")
    s.add_argument("--acc-drop", type=float, default=limits.accuracy_points / 100.0,
                   help="allowed accuracy/AUC/F1 drop, fraction (default %(default)s = 0.5 pt)")
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
