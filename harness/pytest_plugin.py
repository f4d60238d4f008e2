"""pytest plugin (entry point `pytest11: hil`): suites, boards, model runs, budgets, results.

    pytest suites/ --board=m0plus            # one board
    pytest suites/ --board=m4,m7 --board=m3  # several: every board-using test runs on each
    pytest --board=m4 --strict               # also fail a measured metric that has no budget

Suites: every `hil.toml` under pytest's paths is a suite (harness/suite_file.py), collected into
its task's checks (harness/suite_checks.py) for each variant on each board.
Fixtures: `board` (parametrized over --board), `hil_model` (run your own model and arrays, get a
`Point`), `hil_check` (check measurements against the budgets and record them), `hil` (the run-wide
session). Markers: `cores(...)`, `feature(...)`. Every test that called `hil_check` (or whose model
run failed) leaves one record in `results/runs/<run id>/`, with the failure class of
harness.errors as its status.
Under pytest-xdist (`-n auto`) the controller writes the one run (harness/parallel.py). With
`--baseline`, every point of the baseline is one more reported item (`hil-baseline::<point>`),
failed with the table of its regressions, so JUnit shows each regression once.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from harness.baseline import Comparison

from harness.boards import Board, load_board
from harness.errors import ConfigError, DoesNotFit, HilError
from harness.parallel import is_xdist_worker, physical_board_lock, record_from_report, record_to_report
from harness.point import Point, PointKey
from harness.suite_file import SUITE_FILE

BOARDS_KEY = pytest.StashKey[list]()
SESSION_KEY = pytest.StashKey["HilSession"]()
PENDING_KEY = pytest.StashKey[dict]()

FEATURES = {
    "fpu": lambda b: b.fpu is not None,
    "dsp": lambda b: b.core not in ("cortex-m0", "cortex-m0plus", "cortex-m3"),
    "emulated": lambda b: b.emulated,
    "hardware": lambda b: not b.emulated,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("hil", "TinyML hardware-in-the-loop")
    g.addoption("--board", action="append", default=[], metavar="NAME",
                help="board name (boards/NAME.toml) or board file; repeat or comma-separate for several")
    g.addoption("--twin", action="store_true",
                help="run each --board's hardware ELF on its Renode twin (board file [twin]); counts are exact "
                     "instructions recorded under NAME@twin, never mixed with the board's cycles")
    g.addoption("--results-dir", default=None, help="where run records go (default: <rootdir>/results)")
    g.addoption("--no-results", action="store_true", help="do not write records to results/")
    g.addoption("--budgets", default=None, metavar="TOML",
                help="extra budget file, [suite.model.variant.board] tables, on top of each suite's own budgets; "
                     "every table must match a collected suite")
    # --strict is pytest's own flag (strict markers, config, xfail); the harness reads it too: a measured
    # metric with no budget, and a model that does not fit its board, fail. A suite file can set strict = true.
    g.addoption("--transport", default="auto", choices=("auto", "uart", "memory"),
                help="how vectors reach the device: memory (debugger/emulator writes RAM), uart (frames), "
                     "auto (memory where the backend has it; default)")
    g.addoption("--timeout-multiplier", type=float, default=1.0,
                help="scale every device timeout (slow hosts, real boards at low baud)")
    g.addoption("--baseline", default=None, metavar="CSV",
                help="fail the run when a count, flash or RAM grew, accuracy dropped, or a point or metric "
                     "of this baseline was not measured (results/baselines/<board>.csv; `hil baseline` "
                     "writes one; tolerances: harness.baseline.Thresholds, as `hil compare`)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cores(*cores): run only on boards with one of these cores")
    config.addinivalue_line("markers", f"feature(name): run only on boards with this feature ({', '.join(FEATURES)})")
    names = [n.strip() for opt in config.getoption("board") for n in opt.split(",") if n.strip()]
    try:
        config.stash[BOARDS_KEY] = [load_board(n, twin=config.getoption("twin")) for n in names]
    except ConfigError as exc:  # a clean usage error naming file, line and field, not a traceback
        raise pytest.UsageError(str(exc)) from None
    baseline = config.getoption("baseline")
    if baseline:  # a missing or malformed baseline stops the run before any test, not after all of them
        from harness.baseline import read_baseline

        try:
            read_baseline(baseline)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION_KEY] = HilSession(config)
    config.stash[SESSION_KEY].budgets()  # a named budget file that is missing or wrong stops the run here
    if not is_xdist_worker(config):
        config.pluginmanager.register(RunRecorder(config.stash[SESSION_KEY]), "hil-run-recorder")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name == SUITE_FILE:
        return HilSuiteModule.from_parent(parent, path=file_path)
    return None


class HilSuiteModule(pytest.Module):
    """A `hil.toml` suite file, collected as the test module harness.suite_checks builds for it."""

    def _getobj(self):
        from harness.suite_checks import suite_module
        from harness.suite_file import load_suite

        try:
            spec = load_suite(self.path, extra_boards=[b.name for b in self.config.stash[BOARDS_KEY]])
        except ConfigError as exc:
            raise self.CollectError(f"[config] {exc}") from None
        return suite_module(spec)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Open the run now when boards are given: a run that fails before its first record still
    leaves its folder and manifest, so `hil compare` never mistakes an older run for it."""
    hil = session.config.stash.get(SESSION_KEY, None)
    if hil is not None and session.config.stash[BOARDS_KEY]:
        hil.writer()


@pytest.hookimpl(tryfirst=True)  # before junitxml writes its file, so the baseline items are in it
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    hil = session.config.stash.get(SESSION_KEY, None)
    if hil is None or is_xdist_worker(session.config):
        return
    hil.close("partial" if exitstatus == pytest.ExitCode.INTERRUPTED else "complete")
    baseline = session.config.getoption("baseline")
    if baseline and exitstatus != pytest.ExitCode.INTERRUPTED:
        from harness.baseline import compare

        try:
            result = compare(hil.records, baseline)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        hil.regressions = None if result.ok else result.table()
        _report_baseline_points(session, result)
        if not result.ok and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _report_baseline_points(session: pytest.Session, result: Comparison) -> None:
    """One reported item per baseline point: passed, or failed with its regressions (one line each)."""
    from harness.baseline import point_frame, read_baseline

    problems = result.problems_by_point()
    hook = session.config.hook
    keys = list(point_frame(read_baseline(result.baseline_path)).index)
    for key in keys:
        point = "/".join(key)
        nodeid = f"hil-baseline::{point}"
        lines = problems.get(key, [])
        longrepr = None
        if lines:
            longrepr = f"{point} regressed against {result.baseline_path}:\n" + "\n".join(f"  {ln}" for ln in lines)
        location = (result.baseline_path, None, f"baseline {point}")
        hook.pytest_runtest_logstart(nodeid=nodeid, location=location)
        phases: tuple[tuple[Literal["setup", "call", "teardown"], Literal["passed", "failed"], str | None], ...] = (
            ("setup", "passed", None), ("call", "failed" if lines else "passed", longrepr), ("teardown", "passed", None))
        for when, outcome, text in phases:
            report = pytest.TestReport(nodeid, location, {}, outcome, text, when)
            hook.pytest_runtest_logreport(report=report)
        hook.pytest_runtest_logfinish(nodeid=nodeid, location=location)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "board" in metafunc.fixturenames:
        boards = metafunc.config.stash[BOARDS_KEY]
        if boards:
            metafunc.parametrize("board", boards, ids=[b.name for b in boards], scope="session")
        else:
            metafunc.parametrize("board", [pytest.param(None, marks=pytest.mark.skip(
                reason="no --board given (e.g. --board=m4; `hil boards` lists them)"))], ids=["no-board"],
                scope="session")


def _backend_missing(board: Board) -> str | None:
    """Why this board's backend cannot run on this machine (e.g. Renode not installed), else None."""
    return board.backend_class.missing_reason(board)


def _check_budget_file(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every table of a --budgets file must match a collected suite (its model and variant, for suite
    files) and a known board: a misspelled name would otherwise leave every check unbudgeted."""
    from harness.budgets import WILDCARD, line_of
    from harness.suite_file import known_boards

    budgets = config.stash[SESSION_KEY].budgets()
    if budgets is None:
        return
    suites: dict[str, Any] = {}
    for item in items:
        module = getattr(item, "module", None)
        name = getattr(module, "SUITE", None) or (module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
                                                  if module is not None else None)
        if name:
            suites.setdefault(name, getattr(module, "SPEC", None))
    boards = known_boards(b.name for b in config.stash[BOARDS_KEY])
    text = Path(budgets.path).read_text(encoding="utf-8")
    for key in budgets.entries:
        suite, model, variant, board = key
        spec = suites.get(suite)
        problem = None
        if suite not in suites:
            problem = f"no collected suite is named {suite!r} (collected: {', '.join(sorted(suites)) or 'none'})"
        elif spec is not None and model != spec.model_name:
            problem = f"suite {suite!r} has model {spec.model_name!r}, not {model!r}"
        elif spec is not None and variant not in spec.variants:
            problem = f"suite {suite!r} has no variant {variant!r} (variants: {', '.join(spec.variants)})"
        elif board != WILDCARD and board not in boards:
            problem = f"no board named {board!r} (known: {', '.join(sorted(boards))})"
        if problem:
            line = line_of(text, key)
            raise pytest.UsageError(f"{budgets.path}{':' + str(line) if line else ''}: [{'.'.join(key)}]: {problem}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _check_budget_file(config, items)
    missing: dict[str, str | None] = {}
    for item in items:
        callspec = getattr(item, "callspec", None)
        board = callspec.params.get("board") if callspec is not None else None
        if not isinstance(board, Board):
            continue
        if board.name not in missing:
            missing[board.name] = _backend_missing(board)
        if missing[board.name]:
            item.add_marker(pytest.mark.skip(reason=f"board {board.name}: {missing[board.name]}"))
        for mark in item.iter_markers("cores"):
            if board.core not in mark.args:
                item.add_marker(pytest.mark.skip(reason=f"needs core {'/'.join(mark.args)}; {board.name} is {board.core}"))
        for mark in item.iter_markers("feature"):
            for name in mark.args:
                if name not in FEATURES:
                    raise pytest.UsageError(f"{item.nodeid}: unknown feature {name!r}; known: {', '.join(FEATURES)}")
                if not FEATURES[name](board):
                    item.add_marker(pytest.mark.skip(reason=f"board {board.name} lacks feature '{name}'"))


# --------------------------------------------------------------------------- session


@dataclass
class HilSession:
    """Run-wide state: cached model runs (one emulator pass per model × board), budgets, results."""

    config: pytest.Config
    runs: dict = field(default_factory=dict)
    records: list = field(default_factory=list)
    regressions: str | None = None
    _arrays: dict = field(default_factory=dict)
    _inputs: dict = field(default_factory=dict)
    _writer: Any = None
    _budgets: Any = None
    _closed: bool = False

    @property
    def rootdir(self) -> Path:
        return Path(str(self.config.rootpath))

    @property
    def timeout_multiplier(self) -> float:
        return float(self.config.getoption("timeout_multiplier"))

    def budgets(self):  # -> BudgetFile | None
        """The --budgets file, if one was named: a missing or invalid file is a usage error."""
        from harness.budgets import load_budgets

        if self._budgets is None:
            opt = self.config.getoption("budgets")
            try:
                self._budgets = load_budgets(opt) if opt else False
            except ConfigError as exc:
                raise pytest.UsageError(f"--budgets: {exc}") from None
        return self._budgets or None

    def strict(self, item: pytest.Item | None = None) -> bool:
        spec = getattr(getattr(item, "module", None), "SPEC", None)
        return bool(self.config.getoption("strict") or (spec is not None and spec.strict))

    def writer(self):  # -> ResultsWriter | None
        from harness.results import ResultsWriter, collect_environment, new_run_id

        if self.config.getoption("no_results") or is_xdist_worker(self.config):
            return None  # an xdist worker's records go to the controller with its reports
        if self._writer is None:
            opt = self.config.getoption("results_dir")
            results_dir = Path(opt) if opt else self.rootdir / "results"
            env = collect_environment(self.rootdir)
            boards = self.config.stash.get(BOARDS_KEY, [])
            if boards:  # the manifest names the versions of the backends this run uses
                env["emulator"] = "; ".join(sorted({_backend_version(b.backend) for b in boards}))
            self._writer = ResultsWriter(results_dir, new_run_id(), argv=list(sys.argv), environment=env,
                                         project=self.rootdir)
            self._writer.manifest["transport"] = self.config.getoption("transport")
        return self._writer

    def run_model(self, model_path: Path, inputs: list[bytes], board: Board, *,
                  strict: bool = False, **kwargs: Any):  # -> ModelRun
        """Run once per (model, board, inputs, options) in this session; a failure is cached and
        re-raised. A model that does not fit is a skip, or a failure when `strict`."""
        from harness.runner import run_model

        kwargs = {"opt": "-O2", "target": "board", **kwargs}  # one cache entry whether defaults are spelled or not
        cache_key = (str(model_path), board.name, hash(tuple(inputs)), tuple(sorted(kwargs.items())))
        if cache_key not in self.runs:
            try:
                timeout = 30.0 * self.timeout_multiplier
                with physical_board_lock(board):  # one xdist worker (or pytest run) at a time per device
                    self.runs[cache_key] = run_model(model_path, board, inputs, timeout=timeout,
                                                     transport=self.config.getoption("transport"), **kwargs)
            except HilError as exc:
                self.runs[cache_key] = exc
        result = self.runs[cache_key]
        if isinstance(result, DoesNotFit) and not strict:
            pytest.skip(f"does not fit: {result}")
        if isinstance(result, HilError):
            raise result
        return result

    def suite_point(self, spec, variant: str, board: Board):  # -> SuitePoint
        """Run one variant of a suite file on `board` (test data encoded once per variant)."""
        from harness.suite_checks import SuitePoint, prepare_inputs
        from harness.vectors import load_npz

        if spec.data not in self._arrays:
            self._arrays[spec.data] = load_npz(spec.data)
        arrays = self._arrays[spec.data]
        if (spec.path, variant) not in self._inputs:
            self._inputs[(spec.path, variant)] = prepare_inputs(spec, variant, arrays)
        prepared = self._inputs[(spec.path, variant)]
        key = PointKey(spec.name, spec.model_name, variant)
        run = self.run_model(spec.variants[variant], prepared.raw, board,
                             strict=spec.strict or bool(self.config.getoption("strict")),
                             opt=spec.opt, target=spec.target, **prepared.options)
        return SuitePoint(key, run, labels=prepared.labels, data=arrays, spec=spec, inputs=prepared.encoded)

    def record(self, rec) -> None:  # rec: harness.results.Record
        self.records.append(rec)
        writer = self.writer()
        if writer is not None:
            writer.append(rec)

    def close(self, status: str = "complete") -> None:
        if self._writer is not None and not self._closed:
            self._writer.close(status)
        self._closed = True


@pytest.fixture(scope="session")
def hil(pytestconfig: pytest.Config) -> HilSession:
    """The run-wide session: cached model runs (`run_model`, `suite_point`), the --budgets file, the
    results writer (`writer().run_dir` is this run's folder). A test that takes the `board` argument
    runs once per --board (the plugin parametrizes it with the loaded `harness.Board`)."""
    return pytestconfig.stash[SESSION_KEY]


@pytest.fixture
def hil_check(request: pytest.FixtureRequest, hil: HilSession) -> Callable[..., None]:
    """`hil_check(point, **measured)` (or `hil_check(key, run, **measured)`): record the measurements
    with this test's outcome, then check exactly the measured metrics against their budgets (the
    suite file's, plus --budgets), failing with a measured-vs-budget table. A metric without a budget
    is recorded and skipped, or failed under --strict; `self_checked=True` says the test asserts its
    own verdict (agreement with the reference), so a missing budget does not skip it."""

    def check(point: Point | PointKey, run: Any = None, *, self_checked: bool = False, **measured: Any) -> None:
        from harness.budgets import Budget, check_budget, enforce_budget

        key, run = (point.key, point.run) if isinstance(point, Point) else (point, run)
        request.node.stash[PENDING_KEY] = {"key": key, "run": run, "measured": measured}
        limits: dict[str, Any] = {}
        sources = []
        spec = getattr(request.module, "SPEC", None)
        for budgets in (spec.budgets if spec is not None else None, hil.budgets()):
            found = budgets.lookup(key.suite, key.model, key.variant, run.board.name) if budgets else None
            if found is not None:
                limits.update(found.limits)
                sources.append(found.source)
        relevant = {k: v for k, v in limits.items() if _metric_of(k) in measured}
        unbudgeted = sorted(m for m, v in measured.items()
                            if v is not None and m in _BUDGETABLE and not any(_metric_of(k) == m for k in relevant))
        where = str(spec.path) if spec is not None else "a --budgets file"
        if unbudgeted and hil.strict(request.node):
            pytest.fail(f"--strict: no budget for {', '.join(unbudgeted)} of {key.suite}/{key.model}/{key.variant} "
                        f"on {run.board.name} (measured {_shown(measured)}); add it to {where} "
                        "(`hil budgets` writes budgets from a run)", pytrace=False)
        if not relevant:
            if self_checked:
                return
            # Visible and recorded, never a silent pass: a new board or model has no budget until one is set.
            pytest.skip(f"no budget for {', '.join(unbudgeted)} of {key.suite}/{key.model}/{key.variant} on "
                        f"{run.board.name} (measured {_shown(measured)}); add one to {where} "
                        "(`hil budgets` writes budgets from a run)")
        request.node.stash[PENDING_KEY]["budget"] = check_budget(measured, relevant)
        enforce_budget(measured, Budget((key.suite, key.model, key.variant, run.board.name), relevant,
                                        " + ".join(sources)))

    return check


def _shown(measured: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in measured.items())


@pytest.fixture
def hil_model(request: pytest.FixtureRequest, hil: HilSession, board: Board) -> Callable[..., Point]:
    """`hil_model(model, x, *, labels=None, variant=None, state=None, reset_before=(), target="board",
    opt="-O2") -> Point`: run your own .tflite on the session's board (one test per --board).

    `x` is an array with one vector per row (float: quantized with the model's input scale and zero
    point; int8/int16: used as is), or a list of such arrays, one per model input. The Point holds
    the device's outputs and the TFLM reference's (`outputs(i)`, `dequantized(i)`, `reference(i)`,
    `agreement()`) and what was measured (`count_per_inference`, `footprint`, `run`). Runs are cached
    per session: the same model and vectors run once. Pass the point to `hil_check` to record it."""
    module = request.module
    suite = getattr(module, "SUITE", None) or module.__name__.rsplit(".", 1)[-1].removeprefix("test_")

    def run(model: str | Path, x: Any, *, labels: Any = None, variant: str | None = None,
            strict: bool = False, **options: Any) -> Point:
        import numpy as np

        from harness.vectors import model_inputs

        path = Path(model)
        if not path.is_absolute():
            path = Path(str(request.path)).parent / path
        raw = model_inputs(path, x)
        key = PointKey(suite, path.name.split(".")[0], variant or path.name.split(".")[0])
        result = hil.run_model(path, raw, board, strict=strict or hil.strict(request.node), **options)
        return Point(key, result, labels=None if labels is None else np.asarray(labels))

    return run


@pytest.fixture
def hil_suite(request: pytest.FixtureRequest, hil: HilSession, board: Board) -> Callable[..., Point]:
    """`hil_suite(variant, path="hil.toml") -> SuitePoint`: the run of a suite file's variant on the
    session's board (the same, cached run its own checks use), for a custom check beside it. The
    point also has the test set's `labels`, the suite's arrays (`data`) and its `spec`."""
    from harness.suite_file import load_suite

    def get(variant: str, path: str | Path = SUITE_FILE) -> Point:
        p = Path(path)
        if not p.is_absolute():
            p = Path(str(request.path)).parent / p
        try:
            spec = load_suite(p, extra_boards=[board.name])
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        if variant not in spec.variants:
            raise pytest.UsageError(f"{p}: suite {spec.name!r} has no variant {variant!r} "
                                    f"(variants: {', '.join(spec.variants)})")
        return hil.suite_point(spec, variant, board)

    return get


def _metric_of(limit: str) -> str:
    from harness.budgets import FIELDS

    return FIELDS[limit][0]


def _budgetable() -> frozenset[str]:
    from harness.budgets import FIELDS

    return frozenset(f[0] for f in FIELDS.values())


_BUDGETABLE = _budgetable()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" and not (report.when == "setup" and not report.passed):
        return
    pending = item.stash.get(PENDING_KEY, None)
    hil = item.config.stash.get(SESSION_KEY, None)
    if hil is None:
        return
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    board = params.get("board")
    if pending is None and not isinstance(board, Board):
        return
    rec = _make_record(item, report, call, pending, board)
    if rec is not None:
        record_to_report(report, rec)  # recorded by the run's owner in pytest_runtest_logreport
        for k, v in rec.measurements().items():
            if v is not None:
                item.user_properties.append((k, v))
        item.user_properties.append(("hil_status", rec.failure or rec.status))


class RunRecorder:
    """Records what a test measured, in the process that owns the run (xdist: the controller)."""

    def __init__(self, hil: HilSession) -> None:
        self.hil = hil

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rec = record_from_report(report)
        if rec is not None:
            self.hil.record(rec)


def _make_record(item, report, call, pending, board):
    from harness.results import Record, failure_class

    exc = call.excinfo.value if call.excinfo is not None else None
    if pending is None:
        # The model run itself failed or did not fit (setup phase): still leave a record.
        suite = getattr(item.module, "SUITE", None)
        variant = item.callspec.params.get("point", "")
        if suite is None:
            return None
        model = getattr(item.module, "MODEL", suite)
        base = dict(suite=suite, test=item.name, model=model, variant=str(variant), board=board.name,
                    core=board.core, backend=board.backend, twin=board.hardware is not None)
    else:
        key, run = pending["key"], pending["run"]
        m = pending["measured"]
        base = dict(
            suite=key.suite, test=item.name, model=key.model, variant=key.variant, board=run.board.name,
            model_sha256=run.model_sha256, core=run.board.core, backend=run.board.backend,
            firmware_sha256=run.firmware.sha256, twin=run.board.hardware is not None,
            count_kind=run.count_kind, count_per_inference=run.count_per_inference,
            flash_bytes=run.footprint.flash, ram_bytes=run.footprint.ram_total,
            stack_bytes=run.stack_high_water, arena_bytes=run.arena_bytes,
            accuracy=m.get("accuracy"), bitexact=m.get("bitexact"),
            extra={k: v for k, v in m.items() if k not in ("accuracy", "bitexact") and v is not None}
            | {"count_mean": run.count_mean, "macs": run.macs, "weights_bytes": run.footprint.weights,
               "code_bytes": run.footprint.code, "arena_lower_bound": run.arena_lower_bound,
               "transport": run.transport},
        )
    run_board = pending["run"].board if pending is not None else board
    if isinstance(run_board, Board):
        base["emulator"] = _backend_version(run_board.backend)
    if report.passed:
        return Record(**base, status="ok")
    if report.skipped:
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        status = "does-not-fit" if "does not fit" in reason else "skipped"
        return Record(**base, status=status, message=reason[:500])
    failure = failure_class(exc) if exc is not None else "error"
    return Record(**base, status="failed", failure=failure, message=str(exc)[:2000] if exc else "")


@functools.cache
def _backend_version(backend: str) -> str:
    """The backend's version for the records' `emulator` column (asked once per run)."""
    from harness.backends import backend_class

    return backend_class(backend).version()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    hil = config.stash.get(SESSION_KEY, None)
    if hil is None or not hil.records:
        return
    from harness.report import measurement_table

    terminalreporter.section("HIL measurements")
    terminalreporter.write_line(measurement_table(hil.records))
    if hil._writer is not None:
        terminalreporter.write_line(f"records: {hil._writer.records_path}")
    if hil.regressions:
        terminalreporter.section("regressions against the baseline", red=True)
        terminalreporter.write_line(hil.regressions)
