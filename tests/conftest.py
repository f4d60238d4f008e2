"""The harness's own tests: no emulator may outlive the session that started it.

Every emulator this session starts is found at the end, however far it wandered: the session
puts a marker in its environment (`HIL_TEST_SESSION`), which QEMU/Renode inherit from the
harness, from a pytester child run, or from a script the tests spawn, even once the process is
reparented to init; processes that descend from this one are caught too. Unrelated emulators on
the machine (other users, other sessions) carry neither and do not count. A survivor is killed, listed loudly, and fails the session.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # tests import their helpers (flipproxy, _device_util) by name
    sys.path.insert(0, str(HERE))

MARKER = "HIL_TEST_SESSION"
_EMULATOR_NAMES = ("qemu-system", "renode", "mono")
_STATE = pytest.StashKey[dict]()


@dataclass(frozen=True)
class Leftover:
    pid: int
    ppid: int
    state: str
    cmdline: str


def _stat(pid: str) -> tuple[str, str, int] | None:
    try:
        stat = Path("/proc", pid, "stat").read_text()
    except OSError:
        return None
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    return comm, state, int(ppid)


def _is_emulator(comm: str, cmdline: str) -> bool:
    if comm.lower().startswith(_EMULATOR_NAMES[:2]):
        return True
    return comm == "mono" and "renode" in cmdline.lower()  # Renode's mono-based packages


def _markers_of(pid: int) -> list[str]:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:  # gone, or a zombie
        return []
    prefix = f"{MARKER}=".encode()
    for item in environ:
        if item.startswith(prefix):
            return item[len(prefix):].decode(errors="replace").split(",")
    return []


def find_leftovers(marker: str, root_pid: int) -> list[Leftover]:
    """Emulator processes carrying `marker` in their environment or descending from `root_pid`."""
    procs: dict[int, tuple[str, str, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(entry)) is not None:
            procs[int(entry)] = st
    found = []
    for pid, (comm, state, ppid) in procs.items():
        if pid == root_pid or state in ("Z", "X"):  # dead; an unreaped child is reaped by Popen later
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            cmdline = ""
        if not _is_emulator(comm, cmdline):
            continue
        ours = marker in _markers_of(pid)
        up, seen = ppid, set()
        while not ours and up > 1 and up not in seen:
            seen.add(up)
            ours = up == root_pid
            up = procs.get(up, ("", "", 0))[2]
        if ours:
            found.append(Leftover(pid, ppid, state, cmdline or f"[{comm}]"))
    return found


def pytest_configure(config: pytest.Config) -> None:
    marker = f"{os.getpid()}-{secrets.token_hex(4)}"
    previous = os.environ.get(MARKER)
    config.stash[_STATE] = {"marker": marker, "previous": previous}
    # Appended, not replaced: a session run inside another (pytester) is still the outer one's.
    os.environ[MARKER] = f"{previous},{marker}" if previous else marker


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    if state["previous"] is None:
        os.environ.pop(MARKER, None)
    else:
        os.environ[MARKER] = state["previous"]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash[_STATE]
    # Give emulators that are already going away (SIGKILL of their parent, PDEATHSIG) a moment.
    deadline = time.monotonic() + 3.0
    while (leftovers := find_leftovers(state["marker"], os.getpid())) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not leftovers:
        return
    for p in leftovers:  # clean up, but still fail: something let them escape
        try:
            os.kill(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    lines = [f"  pid {p.pid} (parent {p.ppid}, state {p.state}): {p.cmdline[:200]}" for p in leftovers]
    text = (f"LEFTOVER EMULATORS: {len(leftovers)} emulator process(es) started by this test session were still "
            f"there at its end (now killed). A backend was not stopped: use it as a context manager.\n"
            + "\n".join(lines))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.section("leftover emulators", sep="!", red=True, bold=True)
        reporter.write_line(text, red=True)
    else:
        print(text, file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _hil_plugin_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.value == "harness.pytest_plugin" for ep in entry_points(group="pytest11"))


@pytest.fixture
def child_pytest(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Callable[..., pytest.RunResult]:
    """`child_pytest(*args)`: pytest in a child process on the pytester directory, with the hil
    plugin loaded whether the project is installed (entry point) or a plain checkout."""
    root = str(HERE.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    plugin = [] if _hil_plugin_installed() else ["-p", "harness.pytest_plugin"]

    def run(*args: str, timeout: float = 300) -> pytest.RunResult:
        return pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider", *args, timeout=timeout)

    return run
