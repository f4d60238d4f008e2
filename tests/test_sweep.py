"""Sweep: a real 2 variants x 2 boards grid on QEMU with one broken point, data loading, Ctrl-C."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness.errors import ConfigError
from harness.reference import Reference, quantize
from harness.results import load_records, read_manifest
from harness.sweep import load_vectors, plan, run_sweep, split_list

ROOT = Path(__file__).resolve().parent.parent
HAR = ROOT / "suites" / "har" / "artifacts"


def _suite_copy(root: Path, variants: tuple[str, ...] = ("int8", "int8-pt"), suite: str = "har") -> Path:
    """A private suites dir holding committed artifacts (the sweep must not touch the real one)."""
    src = ROOT / "suites" / suite / "artifacts"
    art = root / "suites" / suite / "artifacts"
    art.mkdir(parents=True)
    for v in variants:
        shutil.copy(src / f"{v}.tflite", art)
    shutil.copy(src / "test.npz", art)
    return root / "suites"


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("sweep")
    suites = _suite_copy(root)
    broken = suites / "har" / "artifacts" / "broken.tflite"
    broken.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(range(256)) * 2)  # a header and nonsense
    points = plan(["har"], ["int8", "int8-pt"], ["m0plus", "m4"], suites_dir=suites, max_vectors=4)
    # the deliberately failing point: int8-pt on m0plus gets a corrupt model file
    points = [dataclasses.replace(p, model_path=str(broken)) if (p.variant, p.board) == ("int8-pt", "m0plus") else p
              for p in points]
    log = io.StringIO()
    result = run_sweep(points, results_dir=root / "results", jobs=2, progress=log, argv=["test"])
    return root, result, log.getvalue()


def test_every_point_is_recorded_in_one_complete_run(swept) -> None:
    root, result, log = swept
    assert result.status == "complete"
    assert sorted((r.variant, r.board) for r in result.records) == [
        ("int8", "m0plus"), ("int8", "m4"), ("int8-pt", "m0plus"), ("int8-pt", "m4")]
    on_disk = load_records(root / "results")
    assert {r.run_id for r in on_disk} == {result.run_id}
    assert sorted(r.key for r in on_disk) == sorted(r.key for r in result.records)
    assert read_manifest(result.run_dir)["status"] == "complete"
    assert "[4/4]" in log  # the progress stream (not a terminal here: one line per finished point)
    assert "har/int8-pt/m0plus invalid-model:" in log


def test_failing_point_is_recorded_with_class_and_message(swept) -> None:
    _, result, _ = swept
    failed = [r for r in result.records if r.status != "ok"]
    assert [(r.variant, r.board) for r in failed] == [("int8-pt", "m0plus")]
    assert failed[0].status == "failed" and failed[0].failure == "invalid-model"
    assert "broken.tflite" in failed[0].message


def test_ok_points_carry_the_metrics(swept) -> None:
    _, result, _ = swept
    meta = json.loads((HAR / "meta.json").read_text())
    ok = [r for r in result.records if r.status == "ok"]
    assert len(ok) == 3
    for r in ok:
        assert r.bitexact == 1.0, r  # integer variants match the TFLM reference byte for byte
        assert r.extra["max_abs_diff"] == 0.0
        assert r.count_kind == "instructions" and r.count_per_inference > 0
        assert r.flash_bytes > r.extra["weights_bytes"] > 0
        assert r.ram_bytes > r.arena_bytes > 0 and r.stack_bytes > 0
        assert r.extra["vectors"] == 4
        assert r.accuracy == r.extra["host_accuracy"]  # bit-exact outputs give the same argmax
        assert r.extra["macs"] > 0 and r.model_sha256
    by = {(r.variant, r.board): r for r in ok}
    # the same firmware logic on two cores: same outputs, different instruction counts
    assert by[("int8", "m0plus")].accuracy == by[("int8", "m4")].accuracy
    assert by[("int8", "m0plus")].count_per_inference != by[("int8", "m4")].count_per_inference
    assert by[("int8", "m4")].extra["model_bytes"] == meta["variants"]["int8"]["bytes"]


def test_plan_names_unknown_suite(tmp_path: Path) -> None:
    (tmp_path / "har").mkdir()
    with pytest.raises(ConfigError, match=r"no-such-suite.*known suites: har"):
        plan(["no-such-suite"], ["int8"], ["m4"], suites_dir=tmp_path)


def test_missing_variant_fails_alone_without_an_emulator(tmp_path: Path) -> None:
    suites = _suite_copy(tmp_path, variants=())
    pts = plan(["har"], ["w2a8"], ["m4"], suites_dir=suites)
    result = run_sweep(pts, results_dir=tmp_path / "results", jobs=1, progress=None)
    (r,) = result.records
    assert r.status == "failed" and r.failure == "config" and "w2a8.tflite" in r.message


def test_float_inputs_are_quantized_with_the_model_scale(tmp_path: Path) -> None:
    ref = Reference(HAR / "int8.tflite")
    with np.load(HAR / "test.npz") as z:
        x, y = z["x"][:3], z["y"][:3]
    np.savez(tmp_path / "t.npz", x=x, y=y)  # no pre-encoded x_<variant>
    inputs, labels = load_vectors(tmp_path / "t.npz", "int8", ref.input_details)
    assert inputs == [quantize(x[i], ref.input_details[0]).astype(np.int8).tobytes() for i in range(3)]
    assert list(labels) == list(y)
    np.savez(tmp_path / "bad.npz", x=x[:, :50], y=y)
    with pytest.raises(ConfigError, match="must have 600 values"):
        load_vectors(tmp_path / "bad.npz", "int8", ref.input_details)


def test_split_list() -> None:
    assert split_list(["int8,w4a8", " int8 ,fp32", ""]) == ["int8", "w4a8", "fp32"]


def _descendants(pid: int) -> dict[int, str]:
    """Live processes below `pid` (pid → command line), from /proc."""
    parent: dict[int, int] = {}
    cmd: dict[int, str] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            parent[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            cmd[int(d.name)] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
    out, frontier = {}, [pid]
    while frontier:
        p = frontier.pop()
        for child, par in parent.items():
            if par == p and child not in out:
                out[child] = cmd.get(child, "")
                frontier.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_marks_the_run_partial_and_kills_the_emulators(tmp_path: Path) -> None:
    # fp32 on the soft-float M0+ over 200 digits vectors keeps an emulator busy for seconds
    suites = _suite_copy(tmp_path, ("fp32", "int8"), suite="digits")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sweep", "--suite", "digits", "--variants", "fp32,int8",
         "--boards", "m0plus,m4", "-j", "2", "--suites-dir", str(suites), "--results-dir", str(tmp_path / "results")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    qemus: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 300
        while not qemus and proc.poll() is None and time.monotonic() < deadline:
            qemus = {p: c for p, c in _descendants(proc.pid).items()
                     if "qemu-system-arm" in c and "--version" not in c}  # not the version probe
            time.sleep(0.05)
        assert qemus, "the sweep never started an emulator"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "partial" in err
    (run_dir,) = (tmp_path / "results" / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "partial"
    assert manifest["records"] < 4
    assert not [p for p in qemus if _alive(p)], "an emulator outlived the interrupted sweep"


def test_plan_names_unknown_board() -> None:
    with pytest.raises(ConfigError, match="m9"):
        plan(["har"], ["int8"], ["m4", "m9"])


def test_physical_boards_are_worker_resources() -> None:
    from harness.boards import load_board
    from harness.sweep import point_resources

    assert point_resources(load_board("m4")) is None
    assert point_resources(load_board("nucleo-g071rb")) == {"board:nucleo-g071rb": 1}


def test_physical_board_no_worker_offers_fails_alone_instead_of_waiting(tmp_path: Path) -> None:
    """On an existing cluster whose workers offer no board:<name>, those points fail with how to fix it."""
    from distributed import LocalCluster

    suites = _suite_copy(tmp_path, variants=("int8",))
    pts = plan(["har"], ["int8"], ["nucleo-g071rb"], suites_dir=suites, max_vectors=2)
    with LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        result = run_sweep(pts, results_dir=tmp_path / "results", scheduler=cluster.scheduler_address, progress=None)
    (r,) = result.records
    assert r.status == "failed" and r.failure == "config"
    assert "board:nucleo-g071rb" in r.message and "--resources" in r.message


def test_fp32_agreement_uses_the_suites_tolerance_and_reports_the_largest_difference(tmp_path: Path) -> None:
    """One meaning per column: fp32 outputs differ from TFLM in the last bits (summation order),
    so byte equality would call this point partly wrong; the suites' rule (atol 1e-5, rtol 1e-4) agrees."""
    from harness.sweep import measure_point

    suites = _suite_copy(tmp_path, variants=("fp32",))
    (point,) = plan(["har"], ["fp32"], ["m4"], suites_dir=suites, max_vectors=8)
    rec = measure_point(point)
    assert rec.status == "ok", rec.message
    assert rec.bitexact == 1.0
    assert 0.0 < rec.extra["max_abs_diff"] <= 1e-5  # not byte-identical, within tolerance
