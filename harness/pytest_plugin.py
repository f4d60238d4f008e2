"""pytest plugin (entry point `pytest11: hil`): boards, model runs, budgets, results.

    pytest suites/ --board=m0plus            # one board
    pytest suites/ --board=m4,m7 --board=m3  # several: every board-using test runs on each

Fixtures: `board` (parametrized over --board), `hil` (the run-wide HilSession: cached model
runs, budgets, results), `hil_check` (check a run's measurements against its budget and record
them with the test's outcome). Markers: `cores(...)`, `feature(...)`.
Every test that called `hil_check` (or whose model run failed) leaves one record in
`results/runs/<run id>/records.csv`, with the failure class of harness.errors as its status.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from harness.boards import Board, load_board
from harness.errors import ConfigError, DoesNotFit, HilError

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
    g.addoption("--results-dir", default=None, help="where run records go (default: <rootdir>/results)")
    g.addoption("--no-results", action="store_true", help="do not write records to results/")
    g.addoption("--budgets", default=None, help="budget file (default: suites/budgets.toml under rootdir)")
    g.addoption("--transport", default="auto", choices=("auto", "uart", "memory"),
                help="how vectors reach the device: memory (debugger/emulator writes RAM), uart (frames), "
                     "auto (memory where the backend has it; default)")
    g.addoption("--timeout-multiplier", type=float, default=1.0,
                help="scale every device timeout (slow hosts, real boards at low baud)")
    g.addoption("--baseline", default=None, metavar="CSV",
                help="fail the run when a count, flash or RAM grew or accuracy dropped against this "
                     "baseline (results/baselines/<board>.csv; `hil baseline` writes one)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cores(*cores): run only on boards with one of these cores")
    config.addinivalue_line("markers", f"feature(name): run only on boards with this feature ({', '.join(FEATURES)})")
    names = [n.strip() for opt in config.getoption("board") for n in opt.split(",") if n.strip()]
    try:
        config.stash[BOARDS_KEY] = [load_board(n) for n in names]
    except ConfigError as exc:  # a clean usage error naming file, line and field, not a traceback
        raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION_KEY] = HilSession(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    hil = session.config.stash.get(SESSION_KEY, None)
    if hil is None:
        return
    hil.close("partial" if exitstatus == pytest.ExitCode.INTERRUPTED else "complete")
    baseline = session.config.getoption("baseline")
    if baseline and hil.records:
        from harness.lab_report import check_baseline

        hil.regressions = check_baseline(hil.records, baseline)
        if hil.regressions and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
    """Why this board's backend cannot run on this machine (Renode is optional), else None."""
    if board.backend == "renode":
        from harness.backends.renode import missing_reason

        return missing_reason()
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing: dict[str, str | None] = {}
    for item in items:
        board = getattr(item, "callspec", None) and item.callspec.params.get("board")
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
class PointKey:
    suite: str
    model: str
    variant: str


@dataclass
class HilSession:
    """Run-wide state: cached model runs (one emulator pass per model × board), budgets, results."""

    config: pytest.Config
    runs: dict = field(default_factory=dict)
    records: list = field(default_factory=list)
    regressions: str | None = None
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
        from harness.budgets import load_budgets

        if self._budgets is None:
            opt = self.config.getoption("budgets")
            path = Path(opt) if opt else self.rootdir / "suites" / "budgets.toml"
            self._budgets = load_budgets(path) if path.exists() else False
        return self._budgets or None

    def writer(self):  # -> ResultsWriter | None
        from harness.results import ResultsWriter, new_run_id

        if self.config.getoption("no_results"):
            return None
        if self._writer is None:
            opt = self.config.getoption("results_dir")
            results_dir = Path(opt) if opt else self.rootdir / "results"
            self._writer = ResultsWriter(results_dir, new_run_id(), argv=list(sys.argv))
            self._writer.manifest["transport"] = self.config.getoption("transport")
        return self._writer

    def run_model(self, key: PointKey, model_path: Path, inputs: list[bytes], board: Board,
                  **kwargs: Any):  # -> ModelRun
        """Run once per (model, board, inputs) in this session; a failure is cached and re-raised."""
        from harness.runner import run_model

        cache_key = (str(model_path), board.name, hash(tuple(inputs)), tuple(sorted(kwargs.items())))
        if cache_key not in self.runs:
            try:
                timeout = 30.0 * self.timeout_multiplier
                self.runs[cache_key] = run_model(model_path, board, inputs, name=f"{key.suite}_{key.variant}",
                                                 timeout=timeout, transport=self.config.getoption("transport"),
                                                 **kwargs)
            except HilError as exc:
                self.runs[cache_key] = exc
        result = self.runs[cache_key]
        if isinstance(result, DoesNotFit):
            pytest.skip(f"does not fit: {result}")
        if isinstance(result, HilError):
            raise result
        return result

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
    return pytestconfig.stash[SESSION_KEY]


@pytest.fixture
def hil_check(request: pytest.FixtureRequest, hil: HilSession) -> Callable[..., None]:
    """`hil_check(key, run, **measured)`: record the measurements, then enforce the budget lines
    for exactly the measured metrics (e.g. accuracy=0.93 checks min_accuracy only)."""

    def check(key: PointKey, run, **measured: Any) -> None:
        from harness.budgets import check_budget, enforce_budget

        request.node.stash[PENDING_KEY] = {"key": key, "run": run, "measured": measured}
        budgets = hil.budgets()
        budget = budgets.lookup(key.suite, key.model, key.variant, run.board.name) if budgets else None
        relevant = {k: v for k, v in budget.limits.items() if _metric_of(k) in measured} if budget else {}
        if not relevant:
            # Visible, recorded, never a silent pass: a new board or model has no budget until one is set.
            pytest.skip(f"no budget for {sorted(measured)} of {key.suite}/{key.model}/{key.variant} on "
                        f"{run.board.name} (measured {measured}); set one in suites/budgets.toml "
                        "(suites/make_budgets.py writes them from a run)")
        request.node.stash[PENDING_KEY]["budget"] = check_budget(measured, relevant)
        enforce_budget(measured, type(budget)(budget.key, relevant, budget.source))

    return check


def _metric_of(limit: str) -> str:
    from harness.budgets import FIELDS

    return FIELDS[limit][0]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" and not (report.when == "setup" and not report.passed):
        return
    pending = item.stash.get(PENDING_KEY, None)
    hil = item.config.stash.get(SESSION_KEY, None)
    if hil is None:
        return
    params = getattr(item, "callspec", None) and item.callspec.params or {}
    board = params.get("board")
    if pending is None and not isinstance(board, Board):
        return
    rec = _make_record(item, report, call, pending, board)
    if rec is not None:
        hil.record(rec)
        for k, v in rec.measurements().items():
            if v is not None:
                item.user_properties.append((k, v))
        item.user_properties.append(("hil_status", rec.failure or rec.status))


def _make_record(item, report, call, pending, board):  # type: ignore[no-untyped-def]
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
                    core=board.core, backend=board.backend)
    else:
        key, run = pending["key"], pending["run"]
        m = pending["measured"]
        base = dict(
            suite=key.suite, test=item.name, model=key.model, variant=key.variant, board=run.board.name,
            model_sha256=run.model_sha256, core=run.board.core, backend=run.board.backend,
            count_kind=run.count_kind, count_per_inference=run.count_per_inference,
            flash_bytes=run.footprint.flash, ram_bytes=run.footprint.ram_total,
            stack_bytes=run.stack_high_water, arena_bytes=run.arena_bytes,
            accuracy=m.get("accuracy"), bitexact=m.get("bitexact"),
            extra={k: v for k, v in m.items() if k not in ("accuracy", "bitexact") and v is not None}
            | {"count_mean": run.count_mean, "macs": run.macs, "weights_bytes": run.footprint.weights,
               "code_bytes": run.footprint.code, "arena_lower_bound": run.arena_lower_bound,
               "transport": run.transport},
        )
    if board is not None and getattr(board, "backend", "") == "renode" or (
            pending is not None and pending["run"].board.backend == "renode"):
        base["emulator"] = _renode_version()
    if report.passed:
        return Record(**base, status="ok")
    if report.skipped:
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        status = "does-not-fit" if "does not fit" in reason else "skipped"
        return Record(**base, status=status, message=reason[:500])
    failure = failure_class(exc) if exc is not None else "error"
    return Record(**base, status="failed", failure=failure, message=str(exc)[:2000] if exc else "")


@functools.lru_cache(maxsize=1)
def _renode_version() -> str:
    from harness.backends.renode import renode_version

    try:
        return renode_version()
    except HilError as exc:
        return f"renode (version unknown: {exc})"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
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
