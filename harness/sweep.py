"""Quantization-variant sweep: every (suite, variant, board) point measured on its board.

Why a pool of processes, not threads: each point is one emulator plus a TFLM reference, CPU
bound, so N workers keep N emulators busy. A point that fails (the generator cannot handle the
variant, it does not fit, the device hangs) becomes a failed record with its failure class and
message, and the sweep goes on. Ctrl-C (or SIGTERM) stops the workers, whose emulator contexts
kill QEMU on the way out (QEMU also dies with its worker, see backends/qemu.py), and the run is
closed as "partial".

Points of the same model file go to one worker, one after the other: `runner.generate_cached`
rewrites the model's generated C directory on every call, so two workers building the same model
at once could see it half-replaced. All points of one physical board share a worker too (one
probe, one serial port).

Test data of a suite lives in `suites/<suite>/artifacts/test.npz` (see `load_vectors` for the
keys it understands); the variant's model is `suites/<suite>/artifacts/<variant>.tflite`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import re
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from harness.errors import ConfigError, DoesNotFit, HilError, UnsupportedModel
from harness.results import Record, ResultsWriter, failure_class, new_run_id

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SUITES_DIR = REPO_ROOT / "suites"
TEST = "sweep"
LABEL_KEYS = ("y", "y_test", "labels", "label")
FLOAT_KEYS = ("x", "x_test", "x_float", "inputs")


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: a variant's model file and the suite's test data, on one board."""

    suite: str
    variant: str
    board: str  # board name (boards/NAME.toml) or path of a board file
    model_path: str
    data_path: str  # .npz with test inputs and labels
    max_vectors: int | None = None


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
                points.append(SweepPoint(suite, variant, board, str(art / f"{variant}.tflite"), str(art / "test.npz"),
                                    max_vectors))
    return points


# --------------------------------------------------------------------------- one point


def load_vectors(data_path: str | os.PathLike[str], variant: str, details: Sequence[Any],
                 max_vectors: int | None = None) -> tuple[list[bytes], np.ndarray | None]:
    """Raw input bytes per vector (in the model's input dtype) and the labels, if any.

    Keys understood in the .npz: labels `y`/`y_test`/`labels`; inputs either already encoded
    for this variant (`x_<variant>` or `x_<dtype>`, e.g. `x_int8`, dtype must match the model
    input) or float (`x`/`x_test`/`x_float`), quantized here with the model's input scale.
    Only single-input models are swept (streaming models keep state between vectors).
    """
    from harness.reference import quantize

    p = Path(data_path)
    if not p.is_file():
        raise ConfigError(f"{p}: test data not found; build the suite's artifacts (suites/build_artifacts.py)",
                          file=str(p), line=None, field=None)
    if len(details) != 1:
        raise ConfigError(f"{p}: the sweep runs single-input models; this one has {len(details)} inputs",
                          file=str(p), line=None, field="inputs")
    d = details[0]
    with np.load(p) as npz:
        keys = set(npz.files)
        labels = next((np.asarray(npz[k]).reshape(-1) for k in LABEL_KEYS if k in keys), None)
        raw_key = next((k for k in (f"x_{variant}", f"x_{variant.replace('-', '_')}", f"x_{np.dtype(d.dtype).name}")
                        if k in keys and np.asarray(npz[k]).dtype == d.dtype), None)
        if raw_key is not None:
            x = np.asarray(npz[raw_key])
        else:
            fkey = next((k for k in FLOAT_KEYS if k in keys), None)
            if fkey is None:
                raise ConfigError(f"{p}: no input array; expected one of {', '.join(FLOAT_KEYS)} (float) or "
                                  f"x_{variant} / x_{np.dtype(d.dtype).name} (encoded); has {', '.join(sorted(keys))}",
                                  file=str(p), line=None, field="x")
            x = np.asarray(npz[fkey], np.float32)
            x = quantize(x, d) if d.quantized else x.astype(d.dtype)
    n = len(x) if max_vectors is None else min(len(x), max_vectors)
    per = int(np.prod(d.shape))
    if x[0].size != per:
        raise ConfigError(f"{p}: one input vector has {x[0].size} values, the model input {tuple(d.shape)} needs {per}",
                          file=str(p), line=None, field="x")
    inputs = [np.ascontiguousarray(x[i], dtype=d.dtype).tobytes() for i in range(n)]
    return inputs, (labels[:n] if labels is not None else None)


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


def measure_point(point: SweepPoint, timeout: float = 60.0) -> Record:
    """Run one point and turn it into a Record; every failure becomes a failed record."""
    from harness.boards import load_board

    base: dict[str, Any] = dict(suite=point.suite, test=TEST, model=point.suite, variant=point.variant,
                                board=Path(point.board).stem)
    wbits, abits = _bits(point.variant)
    extra: dict[str, Any] = {"weight_bits": wbits, "activation_bits": abits}
    host: dict[str, Any] = {}
    try:
        board = load_board(point.board)
        base.update(board=board.name, core=board.core, backend=board.backend, twin=board.hardware is not None)
        from harness.reference import Reference
        from harness.runner import run_model

        if not Path(point.model_path).is_file():
            raise ConfigError(f"{point.model_path}: no model for variant {point.variant!r} of suite {point.suite!r}; "
                              f"build it (suites/build_artifacts.py --suite {point.suite})",
                              file=point.model_path, line=None, field="variant")
        try:
            ref = Reference(point.model_path)
        except HilError:
            raise
        except Exception as exc:  # a file the TFLM runtime cannot even parse
            raise UnsupportedModel(f"{point.model_path}: not a model the TFLM reference can load ({exc}); "
                                   f"rebuild the {point.variant} artifact of suite {point.suite}",
                                   model=point.model_path) from exc
        inputs, labels = load_vectors(point.data_path, point.variant, ref.input_details, point.max_vectors)
        host.update(ref=ref, inputs=inputs, labels=labels)
        run = run_model(point.model_path, board, inputs, name=_model_name(point), timeout=timeout)
    except Exception as exc:
        extra.update(_host_only(host))
        status = "does-not-fit" if isinstance(exc, DoesNotFit) else "failed"
        return Record(**base, extra=_clean(extra), status=status, failure=failure_class(exc),
                      message=_one_line(exc))
    od = ref.output_details[0]
    dev, hst = _decode(run.outputs, od), _decode(run.reference, od)
    fp = run.footprint
    extra.update(
        macs=run.macs,
        bops=run.macs * wbits * abits if wbits and abits else None,
        count_mean=run.count_mean,
        peak_ram_bytes=fp.ram + run.stack_high_water,
        weights_bytes=fp.weights,
        code_bytes=fp.code,
        model_bytes=Path(point.model_path).stat().st_size,
        vectors=len(inputs),
        host_accuracy=_accuracy(hst, labels),
        max_abs_err=float(np.max(np.abs(dev - hst))) if len(dev) else None,
    )
    return Record(
        **base, model_sha256=run.model_sha256, firmware_sha256=run.firmware.sha256, count_kind=run.count_kind,
        count_per_inference=run.count_per_inference, flash_bytes=fp.flash, ram_bytes=fp.ram_total,
        stack_bytes=run.stack_high_water, arena_bytes=run.arena_bytes, accuracy=_accuracy(dev, labels),
        bitexact=run.bitexact, extra=_clean(extra), status="ok",
    )


def _host_only(host: dict[str, Any]) -> dict[str, Any]:
    """Host accuracy for a point whose device run failed: the report can still show it."""
    if "ref" not in host:
        return {}
    try:
        ref, inputs = host["ref"], host["inputs"]
        outs = [ref.run_raw(x) for x in inputs]
        return {"host_accuracy": _accuracy(_decode(outs, ref.output_details[0]), host["labels"]),
                "vectors": len(inputs)}
    except Exception:
        return {}


def _clean(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if v is not None}


def _one_line(exc: BaseException, limit: int = 400) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- pool


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _worker(tasks: Any, results: Any, timeout: float) -> None:
    """Take groups of points until None; report each point's start and its record."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it sends SIGTERM
    signal.signal(signal.SIGTERM, _raise_interrupt)  # → emulator context managers clean up
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: die with the sweep
        except (OSError, AttributeError):
            pass
    pid = os.getpid()
    try:
        while True:
            item = tasks.get()
            if item is None:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)  # no emulator left to clean up
                return
            gid, group = item
            results.put(("group", pid, gid))
            for i, point in enumerate(group):
                results.put(("start", pid, (gid, i)))
                results.put(("done", pid, (gid, i, measure_point(point, timeout))))
    except KeyboardInterrupt:
        return


class Progress:
    """One line, rewritten in place on a terminal; one line per finished point otherwise."""

    def __init__(self, total: int, stream: TextIO | None = sys.stderr, width: int = 24) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.done = self.ok = self.failed = 0
        self.running: list[str] = []
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.t0 = time.monotonic()

    def line(self) -> str:
        filled = self.width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        now = ", ".join(self.running[:3]) + (" …" if len(self.running) > 3 else "")
        return (f"[{bar}] {self.done}/{self.total}  ok {self.ok}  failed {self.failed}  "
                f"{time.monotonic() - self.t0:5.0f}s  {now}")

    def start(self, label: str) -> None:
        self.running.append(label)
        self._draw()

    def finish(self, label: str, rec: Record) -> None:
        if label in self.running:
            self.running.remove(label)
        self.done += 1
        if rec.status == "ok":
            self.ok += 1
        else:
            self.failed += 1
        if self.stream is not None and not self.tty:
            why = "ok" if rec.status == "ok" else f"{rec.failure}: {rec.message[:100]}"
            print(f"[{self.done}/{self.total}] {label} {why}", file=self.stream, flush=True)
        self._draw()

    def _draw(self) -> None:
        if self.tty and self.stream is not None:
            cols = 120
            try:
                cols = os.get_terminal_size(self.stream.fileno()).columns
            except (OSError, ValueError, AttributeError):
                pass
            self.stream.write("\r" + self.line()[: cols - 1].ljust(cols - 1))
            self.stream.flush()

    def close(self) -> None:
        if self.tty and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


def _label(p: SweepPoint) -> str:
    return f"{p.suite}/{p.variant}/{Path(p.board).stem}"


def _groups(points: Sequence[SweepPoint], physical: set[str] = frozenset()) -> list[list[SweepPoint]]:  # type: ignore[assignment]
    """Points that must run one after another: same model file, or the same physical board
    (one probe, one serial port). Emulated boards run in parallel freely."""
    parent = list(range(len(points)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, p in enumerate(points):
        keys = [("model", str(Path(p.model_path).resolve()))]
        if p.board in physical:
            keys.append(("board", p.board))
        for k in keys:
            if k in first:
                parent[find(i)] = find(first[k])
            else:
                first[k] = i
    groups: dict[int, list[SweepPoint]] = {}
    for i, p in enumerate(points):
        groups.setdefault(find(i), []).append(p)
    return list(groups.values())


def _lost(point: SweepPoint, why: str) -> Record:
    return Record(suite=point.suite, test=TEST, model=point.suite, variant=point.variant, board=Path(point.board).stem,
                  status="failed", failure="error", message=why)


def run_sweep(
    points: Sequence[SweepPoint],
    *,
    results_dir: str | os.PathLike[str] = "results",
    jobs: int | None = None,
    run_id: str | None = None,
    argv: Sequence[str] | None = None,
    progress: TextIO | None = sys.stderr,
    timeout: float = 60.0,
) -> SweepResult:
    """Measure every point with `jobs` worker processes; record each one as it finishes.

    Returns when all points are recorded ("complete"). On KeyboardInterrupt the workers are
    stopped, the run is closed "partial" and the KeyboardInterrupt propagates.
    """
    from harness.boards import load_board

    jobs = max(1, min(jobs or os.cpu_count() or 1, len(points) or 1))
    physical = set()
    for name in {p.board for p in points}:
        try:
            if not load_board(name).emulated:
                physical.add(name)
        except HilError:
            pass  # the point fails on its own, with this message
    groups = _groups(points, physical)
    ctx = mp.get_context("spawn")  # no inherited threads or emulator handles
    tasks, results = ctx.Queue(), ctx.Queue()
    for gid, group in enumerate(groups):
        tasks.put((gid, group))
    writer = ResultsWriter(Path(results_dir), run_id or new_run_id(), argv=list(argv if argv is not None else sys.argv))
    bar = Progress(len(points), progress)
    workers = [ctx.Process(target=_worker, args=(tasks, results, timeout), daemon=True, name=f"hil-sweep-{i}")
               for i in range(min(jobs, len(groups)) or 1)]
    for _ in workers:
        tasks.put(None)
    records: list[Record] = []
    held: dict[int, int] = {}  # worker pid → group id it is working on
    pending = {(gid, i) for gid, g in enumerate(groups) for i in range(len(g))}

    def record(gid: int, i: int, rec: Record) -> None:
        pending.discard((gid, i))
        records.append(writer.append(rec))
        bar.finish(_label(groups[gid][i]), rec)

    try:
        for w in workers:
            w.start()
        while pending:
            try:
                kind, pid, payload = results.get(timeout=0.5)
            except queue.Empty:
                for w in workers:  # a worker that died takes its group's unfinished points with it
                    if not w.is_alive() and w.pid in held:
                        gid = held.pop(w.pid)
                        for i, p in enumerate(groups[gid]):
                            if (gid, i) in pending:
                                record(gid, i, _lost(p, f"sweep worker died (exit code {w.exitcode}) while "
                                                        f"measuring this model; rerun the point alone with "
                                                        f"`hil run {p.model_path} --board {p.board}`"))
                if pending and not any(w.is_alive() for w in workers) and results.empty():
                    for gid, i in sorted(pending):
                        record(gid, i, _lost(groups[gid][i], "no sweep worker left to run this point"))
                continue
            if kind == "group":
                held[pid] = payload
            elif kind == "start":
                bar.start(_label(groups[payload[0]][payload[1]]))
            else:
                gid, i, rec = payload
                record(gid, i, rec)
    except BaseException:  # Ctrl-C, SIGTERM of the CLI, or a bug here: stop emulators, keep what was measured
        bar.close()
        _stop(workers)
        writer.close("partial")
        raise
    bar.close()
    _stop(workers, polite=10.0)
    writer.close("complete")
    return SweepResult(writer.run_id, writer.run_dir, "complete", records)


def _stop(workers: Iterable[Any], grace: float = 15.0, polite: float = 0.0) -> None:
    """Wait `polite` s for workers to leave on their own, SIGTERM the rest (each kills its
    emulator on the way out), then SIGKILL stragglers after `grace` s."""
    workers = list(workers)
    deadline = time.monotonic() + polite
    for w in workers:
        if w.pid is not None:
            w.join(max(0.0, deadline - time.monotonic()))
    for w in workers:
        if w.is_alive() and w.pid is not None:
            try:
                os.kill(w.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for w in workers:
        if w.pid is None:
            continue
        w.join(max(0.0, deadline - time.monotonic()))
        if w.is_alive():
            w.kill()
            w.join(5)


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
