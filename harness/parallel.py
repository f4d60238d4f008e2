"""Running one HIL session in several processes: pytest-xdist workers, sweeps, several pytest runs.

Why the controller writes the run: under `pytest -n N` every worker measures its share, but the
run is one (one folder, one manifest with the user's argv, one records.parquet). Each worker
attaches its records to its test reports (`report.hil_record`, serialised by xdist), and the
process that owns the session (the controller, or the only process without xdist) writes them.

Why a file lock per physical board: an emulator is private to its worker, but a board behind a
probe is one device; two workers (or two pytest runs on the same host) must take turns.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.boards import Board


def is_xdist_worker(config: pytest.Config) -> bool:
    """True in a pytest-xdist worker process (which must not write the run itself)."""
    return hasattr(config, "workerinput")


def lock_dir() -> Path:
    """`$HIL_LOCK_DIR`, or a folder in the system temp dir shared by every process of this host."""
    env = os.environ.get("HIL_LOCK_DIR")
    path = Path(env) if env else Path(tempfile.gettempdir()) / "hil-board-locks"
    path.mkdir(parents=True, exist_ok=True)
    return path


def device_id(board: Board) -> str:
    """What identifies the physical device: the probe's unique id when the board file pins one."""
    pyocd = getattr(board, "pyocd", None)
    probe = getattr(pyocd, "probe", None) if pyocd is not None else None
    return re.sub(r"[^\w.-]", "_", f"probe-{probe}" if probe else f"board-{board.name}")


@contextlib.contextmanager
def physical_board_lock(board: Board) -> Iterator[None]:
    """Hold the board's lock for the block when it is a physical device; emulators need none.

    flock: released by the kernel when the holder dies, so a crashed worker never wedges the board.
    """
    if board.emulated:
        yield
        return
    path = lock_dir() / f"{device_id(board)}.lock"
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def record_to_report(report: pytest.TestReport, record: Any) -> None:
    """Attach a Record to the report as plain data (xdist sends it to the controller as is)."""
    import json
    from dataclasses import asdict

    data = asdict(record)
    data["extra"] = json.loads(json.dumps(dict(record.extra), default=str))  # plain data for execnet
    report.hil_record = data  # type: ignore[attr-defined]


def record_from_report(report: pytest.TestReport) -> Any:
    """The Record a report carries (see record_to_report), or None."""
    from harness.results import Record

    data = getattr(report, "hil_record", None)
    return Record(**data) if isinstance(data, dict) else None
