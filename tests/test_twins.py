"""Twins: a real board's file names a Renode platform that runs its hardware ELF unchanged.

Always: `NAME@twin` / `--twin` loading, the twin builds exactly the hardware ELF (same cache
entry, same sha256), `hil build` prints that sha256, records carry it. On a real Renode (skipped
with the reason otherwise): the echo firmware of every real board boots on its twin, answers
bit-exactly and counts exact, repeatable instructions.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _device_util import REPO, build, echo_reference

from harness.backends.renode import INSTALL_HINT, RENODE_ENV, find_renode
from harness.boards import TWIN_SUFFIX, list_boards, load_board, twin_board
from harness.device import open_device
from harness.errors import ConfigError, DeviceFault, ToolchainError
from harness.results import Record, read_records_csv, records_to_csv

REAL_BOARDS = [b.name for b in list_boards() if b.twin is not None]
VECTOR = bytes(range(256)) + bytes(range(234))  # the echo model takes 490 bytes


def _renode() -> str | None:
    try:
        return find_renode()
    except ToolchainError:
        return None


needs_renode = pytest.mark.skipif(_renode() is None, reason=f"Renode not found ({RENODE_ENV} unset); {INSTALL_HINT}")


def test_every_real_board_names_a_twin() -> None:
    assert set(REAL_BOARDS) == {"nucleo-l432kc", "nucleo-g071rb", "nucleo-f767zi", "nrf52840-dk"}
    for name in REAL_BOARDS:
        twin = load_board(name + TWIN_SUFFIX)
        assert twin == load_board(name, twin=True)
        assert (twin.name, twin.backend, twin.capabilities.count_kind) == (name + TWIN_SUFFIX, "renode", "instructions")
        assert twin.hardware is not None and twin.hardware.backend == "pyocd"
        assert twin.capabilities.twin and twin_board(twin) is twin
        lines = twin.hardware.twin.platform.read_text().splitlines() if twin.hardware.twin else []
        code = "\n".join(ln for ln in lines if not ln.lstrip().startswith("//"))
        assert "ApplySVD" not in code and "http" not in code, "a twin platform must not reach the network"


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_twin_builds_exactly_the_hardware_elf(name: str, tmp_path: Path) -> None:
    hw = build(name, "echo", cache_dir=tmp_path)
    tw = build(load_board(name, twin=True), "echo", cache_dir=tmp_path)
    assert tw.cached and tw.elf == hw.elf and tw.sha256 == hw.sha256
    assert hw.sha256 == hashlib.sha256(hw.elf.read_bytes()).hexdigest()


def test_board_without_twin_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"m4.*no \[twin\] table.*nucleo-g071rb"):
        load_board("m4@twin")


def test_twin_platform_must_exist(tmp_path: Path) -> None:
    text = (REPO / "boards/nucleo-g071rb.toml").read_text()
    path = tmp_path / "nucleo-g071rb.toml"
    path.write_text(text)  # its relative platform path does not exist next to the copy
    with pytest.raises(ConfigError, match=r"nucleo-g071rb.toml:\d+: field 'twin.platform'"):
        load_board(path)


def test_hil_build_prints_the_elf_and_its_sha256() -> None:
    model = REPO / "suites/har/artifacts/int8.tflite"
    outs = []
    for board in ("nucleo-g071rb", "nucleo-g071rb@twin"):
        out = subprocess.run([sys.executable, "-m", "harness.cli", "build", str(model), "--board", board],
                             capture_output=True, text=True, check=True, cwd=REPO).stdout
        elf = Path(re.search(r"^elf\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
        sha = re.search(r"^sha256\s+([0-9a-f]{64})$", out, re.M).group(1)  # type: ignore[union-attr]
        assert sha == hashlib.sha256(elf.read_bytes()).hexdigest()
        assert re.search(r"^flash\s+[\d,]+ B of 131,072 B", out, re.M)
        outs.append(sha)
    assert outs[0] == outs[1], "the twin's firmware is the hardware build"


def test_records_carry_firmware_sha256_and_twin(tmp_path: Path) -> None:
    rec = Record(suite="har", test="t", model="har", variant="int8", board="nucleo-g071rb@twin",
                 firmware_sha256="ab" * 32, twin=True, count_kind="instructions", count_per_inference=5)
    path = tmp_path / "records.csv"
    path.write_text(records_to_csv([rec, Record(suite="har", test="t", model="har", variant="int8", board="m4")]))
    back = read_records_csv(path)
    assert (back[0].firmware_sha256, back[0].twin, back[1].twin) == ("ab" * 32, True, False)


# -- on a real Renode ------------------------------------------------------------------------------


@needs_renode
@pytest.mark.slow
@pytest.mark.parametrize("name", REAL_BOARDS)
def test_hardware_elf_runs_on_its_twin(name: str) -> None:
    board = load_board(name, twin=True)
    fw = build(board, "echo")
    with open_device(board, fw.elf, timeout=30, boot_timeout=60) as dev:
        assert dev.hello.board == name and dev.count_kind == "instructions"
        results = [dev.invoke(VECTOR) for _ in range(2)]
        assert [out for out, _ in results] == [echo_reference(VECTOR, c) for c in (0, 1)]
        counts = {c.value for _, c in results}
        assert len(counts) == 1 and 490 * 8 < counts.pop() < 490 * 200, "exact, repeatable instruction counts"


@needs_renode
@pytest.mark.slow
def test_fault_on_a_twin_arrives_as_a_fault_frame() -> None:
    """The hardware ELF has no semihosting: the fault handler's FAULT frame and the exit hook
    must still turn a crash into DeviceFault naming the faulting function."""
    board = load_board("nucleo-f767zi", twin=True)
    fw = build(board, "fault")
    with pytest.raises(DeviceFault) as info:
        with open_device(board, fw.elf, timeout=30, boot_timeout=60) as dev:
            dev.invoke(b"\x00\x00\x00\x00")
    assert info.value.details["function"] == "testmodel_fault_udf"


def test_same_inputs_give_the_same_elf_bytes(tmp_path: Path) -> None:
    """A sha256 printed by `hil build` on one machine names the ELF built anywhere from the same
    inputs (the private build directory's name does not reach the debug info)."""
    a = build("nucleo-g071rb", "echo", cache_dir=tmp_path / "a")
    b = build("nucleo-g071rb", "echo", cache_dir=tmp_path / "b")
    assert not a.cached and not b.cached and a.sha256 == b.sha256
