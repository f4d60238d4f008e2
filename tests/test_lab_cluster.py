"""`hil sweep --scheduler` on a real Dask cluster started by hand: a scheduler and two `dask worker`
processes, each in its own folder with its own HIL_CACHE_DIR, as in docs/lab.md."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.results import load_records, read_manifest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DASK = str(Path(sys.executable).with_name("dask"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_workers(address: str, n: int, deadline: float = 120.0) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=deadline)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("lab")
    address = f"tcp://127.0.0.1:{_free_port()}"
    # a lost worker fails its point at once instead of being retried elsewhere
    env = dict(os.environ, PYTHONPATH=str(ROOT), DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], cwd=root, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    workers = {}
    for name in ("w1", "w2"):
        folder = root / name
        folder.mkdir()
        workers[name] = folder
        procs.append(subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--name", name, "--no-dashboard"],
                                      cwd=folder, env=dict(env, HIL_CACHE_DIR=str(folder / "cache")),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        _wait_for_workers(address, 2)
        yield {"root": root, "address": address, "workers": workers}
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _suites(root: Path, suite: str, variants: tuple[str, ...]) -> Path:
    art = root / "suites" / suite / "artifacts"
    art.mkdir(parents=True, exist_ok=True)
    for f in (*(f"{v}.tflite" for v in variants), "test.npz"):
        shutil.copy(ROOT / "suites" / suite / "artifacts" / f, art)
    return root / "suites"


def _sweep(lab: dict, client: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harness.cli", "sweep", "--scheduler", lab["address"], *args],
                            cwd=client, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_workers_build_in_their_own_cache_and_results_come_back_to_the_client(lab: dict) -> None:
    client = lab["root"] / "client"
    client.mkdir()
    suites = _suites(client, "har", ("int8", "w4a8"))
    proc = _sweep(lab, client, "--suite", "har", "--variants", "int8,w4a8", "--boards", "m4,m0plus",
                  "--suites-dir", str(suites), "--vectors", "4", "--strict")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    records = load_records(client / "results")
    assert len(records) == 4 and all(r.status == "ok" for r in records), [r.message for r in records]
    (run,) = (client / "results" / "runs").iterdir()
    assert read_manifest(run)["status"] == "complete"
    builds = {name: list((folder / "cache" / "builds").glob("*/firmware.elf")) for name, folder in lab["workers"].items()}
    assert all(builds.values()), builds  # both workers built, each in its own HIL_CACHE_DIR
    assert sum(len(b) for b in builds.values()) >= 4
    assert not (client / ".cache").exists() and not list(lab["workers"]["w1"].glob("results"))


def _qemu_of(folder: Path) -> int | None:
    """pid of a running QEMU whose firmware lies in `folder` (a worker's cache)."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "qemu-system-arm" in cmd and str(folder) in cmd:
                return int(d.name)
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_lost_worker_fails_its_point_and_the_sweep_goes_on(lab: dict) -> None:
    client = lab["root"] / "client-lost"
    client.mkdir()
    suites = _suites(client, "digits", ("fp32", "int8"))  # fp32 on the soft-float M0+: seconds per point
    proc = _sweep(lab, client, "--suite", "digits", "--variants", "fp32,int8", "--boards", "m0plus",
                  "--suites-dir", str(suites))
    victim = None
    deadline = time.monotonic() + 300
    while victim is None and proc.poll() is None and time.monotonic() < deadline:
        for folder in lab["workers"].values():
            qemu = _qemu_of(folder / "cache")
            if qemu is not None:
                victim = int(Path(f"/proc/{qemu}/stat").read_text().rsplit(")", 1)[1].split()[1])  # its worker
                os.kill(victim, 9)
                break
        time.sleep(0.05)
    _, err = proc.communicate(timeout=600)
    assert victim is not None, "no worker ever started an emulator"
    assert proc.returncode == 0, err
    records = {r.variant: r for r in load_records(client / "results")}
    lost = [r for r in records.values() if r.status != "ok"]
    assert len(records) == 2 and len(lost) == 1, [(r.variant, r.status, r.message) for r in records.values()]
    assert lost[0].failure == "error" and "worker was lost" in lost[0].message
