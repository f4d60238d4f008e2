"""Quantization-variant sweep: every (suite, variant, board) point measured on its board, as Dask tasks.

Why Dask: each point is one emulator (or one physical board) plus a TFLM reference, CPU bound
and independent, and a lab outgrows one machine. By default a `LocalCluster` of worker
processes listens on loopback only; `--scheduler tcp://HOST:PORT` (or tls://) uses an
existing cluster. The client reads the model and the test vectors and sends them with the
task, so a worker on another host needs only the harness installed; it builds in its own
HIL_CACHE_DIR and returns a Record, which the client writes to its own results folder.

A physical board is a Dask worker resource `board:<name>` (one unit): only a worker started on
the host with the board (`dask worker ... --resources "board:nucleo-g071rb=1"`) receives its
points, one at a time; a cluster-wide lock per device keeps that true when several workers
offer it (the local cluster). Points of one model on boards of one core share their generated
C, so they hold a cluster-wide lock for it while they run. A point that fails (the generator cannot handle the variant, it
does not fit, the device hangs, its worker is lost) becomes a failed record with its failure
class and message, and the sweep goes on. Ctrl-C (or SIGTERM) cancels the rest; the local
workers are stopped (their emulators die with them) and the run is closed "partial".

Test data of a suite lives in `suites/<suite>/artifacts/test.npz` (`x`/`x_<variant>` and labels
`y`, the suites' rule: harness/vectors.py); the variant's model is `suites/<suite>/artifacts/<variant>.tflite`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from harness.boards import Board
from harness.errors import ConfigError, DoesNotFit, HilError, UnsupportedModel
from harness.results import Record, ResultsWriter, failure_class, new_run_id

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SUITES_DIR = REPO_ROOT / "suites"
TEST = "sweep"


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: a variant's model file and the suite's test data, on one board."""

    suite: str
    variant: str
    board: str  # board name (boards/NAME.toml) or path of a board file
    model_path: str
    data_path: str  # .npz with test inputs and labels
    max_vectors: int | None = None
    transport: str = "auto"  # uart, memory or auto (harness/transport.py)


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs for one point, so it needs no access to the client's files."""

    point: SweepPoint
    board: Board
    model: bytes
    inputs: list[bytes]
    labels: list[int] | None


@dataclass
class SweepResult:
    run_id: str
    run_dir: Path
    status: str  # "complete" or "partial"
    records: list[Record]

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r.status != "ok"]


# --------------------------------------------------------------------------- grid


def plan(
    suites: Sequence[str],
    variants: Sequence[str],
    boards: Sequence[str],
    *,
    suites_dir: str | os.PathLike[str] = DEFAULT_SUITES_DIR,
    max_vectors: int | None = None,
    transport: str = "auto",
) -> list[SweepPoint]:
    """The grid as points. A missing model file is not an error here: that point fails alone."""
    from harness.boards import load_board

    root = Path(suites_dir)
    for board in boards:
        load_board(board)  # a typo fails here, naming the file, not as N failed points
    if not suites or not variants or not boards:
        raise ConfigError("a sweep needs at least one suite, one variant and one board "
                          "(e.g. --suite har --variants int8,w4a8 --boards m4)", file=None, line=None, field=None)
    points = []
    for suite in suites:
        art = root / suite / "artifacts"
        if not (root / suite).is_dir():
            known = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))) \
                if root.is_dir() else []
            raise ConfigError(f"suite {suite!r}: no directory {root / suite}; known suites: {', '.join(known) or 'none'}",
                              file=str(root / suite), line=None, field="suite")
        for variant in variants:
            for board in boards:
                points.append(SweepPoint(suite, variant, board, str(art / f"{variant}.tflite"),
                                         str(art / "test.npz"), max_vectors, transport))
    return points


# --------------------------------------------------------------------------- one point


def load_vectors(data_path: str | os.PathLike[str], variant: str, details: Sequence[Any],
                 max_vectors: int | None = None) -> tuple[list[bytes], np.ndarray | None]:
    """Raw input bytes per vector (in the model's input dtype) and the labels `y`, if any.

    The inputs follow the suites' rule (harness/vectors.py): `x_<variant>` as is when it has the
    model's input dtype, else `x` quantized with the model's input scale. Only single-input
    models are swept (streaming models keep state between vectors).
    """
    from harness.vectors import encoded_inputs, load_npz, to_bytes

    source = str(data_path)
    if len(details) != 1:
        raise ConfigError(f"{source}: the sweep runs single-input models; this one has {len(details)} inputs",
                          file=source, line=None, field="inputs")
    arrays = load_npz(Path(data_path))
    x = encoded_inputs(arrays, variant, details[0], source)
    n = len(x) if max_vectors is None else min(len(x), max_vectors)
    labels = arrays.get("y")
    return to_bytes(x[:n], details[0]), (np.asarray(labels).reshape(-1)[:n] if labels is not None else None)


def _decode(raw: Sequence[bytes], d: Any) -> np.ndarray:
    """First output of each vector as real values, shape (n, values)."""
    from harness.reference import dequantize

    n = int(np.prod(d.shape))
    q = np.stack([np.frombuffer(b[: n * d.dtype.itemsize], d.dtype) for b in raw])
    return dequantize(q, d).astype(np.float64) if d.quantized else q.astype(np.float64)


def _accuracy(values: np.ndarray, labels: np.ndarray | None) -> float | None:
    if labels is None or values.shape[1] < 2:
        return None
    return float(np.mean(np.argmax(values, axis=1) == labels[: len(values)]))


def _bits(variant: str) -> tuple[int | None, int | None]:
    from harness.quant import activation_bits, weight_bits

    try:
        return weight_bits(variant), activation_bits(variant)
    except Exception:  # an ad-hoc variant name: no BOPs, everything else still measured
        return None, None


def _model_name(point: SweepPoint) -> str:
    return re.sub(r"\W", "_", f"{point.suite}_{point.variant}")


def _base(point: SweepPoint, board: Board | None = None) -> dict[str, Any]:
    base: dict[str, Any] = dict(suite=point.suite, test=TEST, model=point.suite, variant=point.variant,
                                board=Path(point.board).stem)
    if board is not None:
        base.update(board=board.name, core=board.core, backend=board.backend, twin=board.hardware is not None)
    return base


def _bits_extra(variant: str) -> dict[str, Any]:
    wbits, abits = _bits(variant)
    return {"weight_bits": wbits, "activation_bits": abits}


def _failed(point: SweepPoint, exc: BaseException, board: Board | None = None,
            extra: dict[str, Any] | None = None) -> Record:
    status = "does-not-fit" if isinstance(exc, DoesNotFit) else "failed"
    return Record(**_base(point, board), extra=_clean({**_bits_extra(point.variant), **(extra or {})}),
                  status=status, failure=failure_class(exc), message=_one_line(exc))


def _reference(model_path: str | os.PathLike[str], point: SweepPoint) -> Any:
    from harness.reference import Reference

    try:
        return Reference(Path(model_path))
    except HilError:
        raise
    except Exception as exc:  # a file the TFLM runtime cannot even parse
        raise UnsupportedModel(f"{point.model_path}: not a model the TFLM reference can load ({exc}); "
                               f"rebuild the {point.variant} artifact of suite {point.suite}",
                               model=point.model_path) from exc


def prepare(point: SweepPoint) -> PointTask | Record:
    """On the client: the task for a point (model bytes, encoded vectors), or its failed record."""
    from harness.boards import load_board

    board = None
    try:
        board = load_board(point.board)
        if not Path(point.model_path).is_file():
            raise ConfigError(f"{point.model_path}: no model for variant {point.variant!r} of suite {point.suite!r}; "
                              f"build it (suites/build_artifacts.py --suite {point.suite})",
                              file=point.model_path, line=None, field="variant")
        ref = _reference(point.model_path, point)
        inputs, labels = load_vectors(point.data_path, point.variant, ref.input_details, point.max_vectors)
    except Exception as exc:
        return _failed(point, exc, board)
    return PointTask(point, board, Path(point.model_path).read_bytes(), inputs,
                     None if labels is None else [int(v) for v in labels])


def _agreement(run: Any, od: Any) -> tuple[float, float]:
    """Share of vectors agreeing with the reference and the largest difference, by the suites'
    rule (suites/_classification.py): integer outputs bit-exact (difference in LSB), fp32
    every element within 1e-5 absolute + 1e-4 relative (difference in output units)."""
    from harness.metrics.agreement import bitexact, within_tolerance

    if np.dtype(od.dtype).kind == "f":
        dev = np.stack([np.frombuffer(o, np.float32) for o in run.outputs])
        ref = np.stack([np.frombuffer(o, np.float32) for o in run.reference])
        agreement = within_tolerance(dev, ref)
        return agreement.fraction, agreement.max_abs_diff
    n = int(np.prod(od.shape))
    first = bitexact(*(np.stack([np.frombuffer(o[: n * od.dtype.itemsize], od.dtype) for o in outs])
                       for outs in (run.outputs, run.reference)))
    return run.bitexact, first.max_abs_diff  # every output's bytes; the difference of the first output


def measure(task: PointTask, timeout: float = 60.0) -> Record:
    """On a worker: build and run one point in this process's HIL_CACHE_DIR; every failure is a record."""
    from harness.firmware.build import default_cache_dir
    from harness.runner import run_model

    point, board = task.point, task.board
    digest = hashlib.sha256(task.model).hexdigest()
    model_path = default_cache_dir() / "sweep-models" / digest[:16] / Path(point.model_path).name
    extra = _bits_extra(point.variant)
    labels = None if task.labels is None else np.asarray(task.labels)
    ref = None
    try:
        if not model_path.is_file():
            model_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = model_path.with_name(f".{model_path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(task.model)
            os.replace(tmp, model_path)
        ref = _reference(model_path, point)
        with _point_lock(board, digest):
            run = run_model(model_path, board, task.inputs, name=_model_name(point), timeout=timeout,
                            transport=point.transport)
    except Exception as exc:
        host = _host_only(ref, task.inputs, labels) if ref is not None else {}
        return _failed(point, exc, board, host)
    od = ref.output_details[0]
    dev, hst = _decode(run.outputs, od), _decode(run.reference, od)
    agree, max_diff = _agreement(run, od)
    fp = run.footprint
    wbits, abits = extra["weight_bits"], extra["activation_bits"]
    extra.update(
        macs=run.macs,
        bops=run.macs * wbits * abits if wbits and abits else None,
        count_mean=run.count_mean,
        peak_ram_bytes=fp.ram + run.stack_high_water,
        weights_bytes=fp.weights,
        code_bytes=fp.code,
        model_bytes=len(task.model),
        vectors=len(task.inputs),
        transport=run.transport,
        host_accuracy=_accuracy(hst, labels),
        max_abs_diff=max_diff,
    )
    return Record(
        **_base(point, board), model_sha256=run.model_sha256, firmware_sha256=run.firmware.sha256,
        count_kind=run.count_kind,
        count_per_inference=run.count_per_inference, flash_bytes=fp.flash, ram_bytes=fp.ram_total,
        stack_bytes=run.stack_high_water, arena_bytes=run.arena_bytes, accuracy=_accuracy(dev, labels),
        bitexact=agree, extra=_clean(extra), status="ok",
    )


def measure_point(point: SweepPoint, timeout: float = 60.0) -> Record:
    """One point in this process, without Dask (the client's preparation, then the worker's run)."""
    task = prepare(point)
    return task if isinstance(task, Record) else measure(task, timeout)


def _in_dask_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def _point_lock(board: Board, model_digest: str) -> Any:
    """What a point holds while it runs, cluster-wide: its physical board (one user per device),
    and its generated-C directory (same model on another board of the same core: one writer).
    Outside a Dask worker, only the device's file lock (harness/parallel.py)."""
    import contextlib

    from harness.parallel import device_id, physical_board_lock

    if not _in_dask_worker():
        return physical_board_lock(board)
    from distributed import Lock

    stack = contextlib.ExitStack()
    stack.enter_context(Lock(f"hil-codegen-{model_digest[:16]}-{board.core}"))
    if not board.emulated:
        stack.enter_context(Lock(f"hil-{device_id(board)}"))
    return stack


def _host_only(ref: Any, inputs: Sequence[bytes], labels: np.ndarray | None) -> dict[str, Any]:
    """Host accuracy for a point whose device run failed: the report can still show it."""
    try:
        outs = [ref.run_raw(x) for x in inputs]
        return {"host_accuracy": _accuracy(_decode(outs, ref.output_details[0]), labels), "vectors": len(inputs)}
    except Exception:
        return {}


def _clean(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if v is not None}


def _one_line(exc: BaseException, limit: int = 400) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- Dask


def _label(p: SweepPoint) -> str:
    return f"{p.suite}/{p.variant}/{Path(p.board).stem}"


def point_resources(board: Board) -> dict[str, float] | None:
    """The Dask worker resource a point needs: its physical board, one unit; emulators none."""
    return None if board.emulated else {f"board:{board.name}": 1}


def _local_cluster(jobs: int, physical: set[str]) -> Any:
    """Worker processes on this machine, listening on loopback only, one thread (emulator) each."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,  # any free port, loopback
                        resources={f"board:{b}": 1 for b in sorted(physical)} or None)


def _offered(client: Any) -> set[str]:
    return {name for w in client.scheduler_info(n_workers=-1)["workers"].values() for name in w.get("resources", {})}


class _Progress:
    """tqdm's bar on a terminal; one line per finished point on any stream (CI logs)."""

    def __init__(self, total: int, stream: TextIO | None) -> None:
        from tqdm import tqdm

        self.total, self.stream, self.done = total, stream, 0
        tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.bar = tqdm(total=total, file=stream, disable=not tty, unit="point", dynamic_ncols=True)

    def finish(self, label: str, rec: Record) -> None:
        self.done += 1
        if self.stream is not None:
            why = "ok" if rec.status == "ok" else f"{rec.failure or rec.status}: {rec.message[:100]}"
            self.bar.write(f"[{self.done}/{self.total}] {label} {why}", file=self.stream)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def run_sweep(
    points: Sequence[SweepPoint],
    *,
    results_dir: str | os.PathLike[str] = "results",
    jobs: int | None = None,
    scheduler: str | None = None,
    run_id: str | None = None,
    argv: Sequence[str] | None = None,
    progress: TextIO | None = sys.stderr,
    timeout: float = 60.0,
) -> SweepResult:
    """Measure every point as a Dask task; record each one as it finishes.

    `scheduler`: address of an existing Dask scheduler (tcp://HOST:PORT, tls://...); None starts
    a LocalCluster of `jobs` worker processes (default: CPU cores) on 127.0.0.1. Returns when
    all points are recorded ("complete"). On KeyboardInterrupt the remaining tasks are cancelled,
    local workers stopped, the run closed "partial", and the KeyboardInterrupt propagates.
    """
    from distributed import Client, as_completed

    writer = ResultsWriter(Path(results_dir), run_id or new_run_id(), argv=list(argv if argv is not None else sys.argv))
    writer.manifest["transport"] = sorted({p.transport for p in points})  # as requested; records say which ran
    bar = _Progress(len(points), progress)
    records: list[Record] = []
    cluster = client = None
    futures: dict[Any, SweepPoint] = {}

    def record(point: SweepPoint, rec: Record) -> None:
        records.append(writer.append(rec))
        bar.finish(_label(point), rec)

    try:
        tasks: list[PointTask] = []
        for point in points:  # the client reads models and vectors; a bad one fails here, alone
            task = prepare(point)
            if isinstance(task, Record):
                record(point, task)
            else:
                tasks.append(task)
        physical = {t.board.name for t in tasks if not t.board.emulated}
        if tasks:
            if scheduler is None:
                jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
                cluster = _local_cluster(jobs, physical)
                client = Client(cluster)
            else:
                client = Client(scheduler, timeout="20s")
            offered = _offered(client)
            for task in tasks:
                need = point_resources(task.board)
                if need and not set(need) <= offered:
                    (name,) = need
                    record(task.point, _failed(task.point, ConfigError(
                        f"no Dask worker of {scheduler} offers resource {name}; start one on the host with the "
                        f"board: dask worker {scheduler} --resources \"{name}=1\"", file=None, line=None,
                        field="resources"), task.board))
                    continue
                fut = client.submit(measure, task, timeout, resources=need, pure=False,
                                    key=f"hil-{_label(task.point).replace('/', '-')}-{new_run_id()}")
                futures[fut] = task.point
            for fut in as_completed(list(futures)):
                point = futures.pop(fut)
                try:
                    rec = fut.result()
                except Exception as exc:
                    rec = _failed(point, HilError(
                        f"no record: the Dask worker was lost or died while measuring this point "
                        f"({type(exc).__name__}); rerun it alone with `hil run {point.model_path} --board "
                        f"{point.board}`; Dask said: {exc}"))
                record(point, rec)
    except BaseException:  # Ctrl-C, SIGTERM of the CLI, or a bug here: stop emulators, keep what was measured
        bar.close()
        _shutdown(client, cluster, list(futures))
        writer.close("partial")
        raise
    bar.close()
    _shutdown(client, cluster, [])
    writer.close("complete")
    return SweepResult(writer.run_id, writer.run_dir, "complete", records)


def _shutdown(client: Any, cluster: Any, pending: list[Any]) -> None:
    """Cancel what is left, then close the client and the local workers (their emulators die with them)."""
    try:
        if client is not None:
            if pending:
                client.cancel(pending, force=True)
            client.close(timeout=10)
    finally:
        if cluster is not None:
            cluster.close(timeout=20)


# --------------------------------------------------------------------------- CLI glue


def split_list(values: Sequence[str] | None) -> list[str]:
    """`--variants a,b --variants c` → [a, b, c], order kept, duplicates dropped."""
    out: list[str] = []
    for v in values or []:
        for item in v.split(","):
            item = item.strip()
            if item and item not in out:
                out.append(item)
    return out


def summary(result: SweepResult) -> str:
    ok = sum(r.status == "ok" for r in result.records)
    lines = [f"sweep {result.run_id}: {ok} ok, {len(result.records) - ok} failed, run {result.status} "
             f"({result.run_dir})"]
    for r in result.failed:
        lines.append(f"  {r.suite}/{r.variant}/{r.board}: [{r.failure}] {r.message[:200]}")
    return "\n".join(lines)
