"""Firmware build on the real toolchain, checked by running the ELFs on real QEMU.

The firmware here is the mini test runtime in tests/data/minifw (boots, prints one line with
the board's UART, times a fixed 20 000-instruction loop with the board's counter, exits via
semihosting), so these tests check board files + linker script + build independently of the
project runtime in firmware/.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest

from harness.backends.qemu import QemuBackend, QemuSettings
from harness.boards import list_boards, load_board
from harness.errors import BuildError, DoesNotFit, ToolchainError
from harness.firmware.build import build_firmware

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
MINIFW = DATA / "minifw"
TINY = DATA / "models" / "tiny"
BOARDS = [b.name for b in list_boards()]
QEMU_BOARDS = [b.name for b in list_boards() if b.backend == "qemu"]  # the ones this machine can run


def run_qemu(elf: Path, board_name: str) -> tuple[int, str]:
    settings = load_board(board_name).settings
    assert isinstance(settings, QemuSettings)
    cmd = ["qemu-system-arm", "-M", settings.machine, "-display", "none", "-monitor", "none",
           "-serial", "stdio", "-semihosting-config", "enable=on,target=native",
           "-icount", f"shift={settings.icount_shift}", "-kernel", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return proc.returncode, proc.stdout


def copy_model(tmp_path: Path) -> Path:
    dst = tmp_path / "model"
    shutil.copytree(TINY, dst)
    return dst


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.mark.parametrize("name", QEMU_BOARDS)
def test_build_runs_on_qemu_for_every_board(name: str, cache: Path) -> None:
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not installed")
    fw = build_firmware(name, TINY, firmware_dir=MINIFW, cache_dir=cache)
    assert fw.elf.is_file() and fw.map_file.is_file() and not fw.cached
    assert f"-mcpu={fw.board.core}" in fw.log and "-DHIL_BOARD_NAME=\"" + name + '"' in fw.log
    rc, out = run_qemu(fw.elf, name)
    assert rc == 0, out
    m = re.search(r"MINI board=(\S+) core=(\S+) data=(\d+) bss=(\d+) stack_ok=(\d) out=(\d+) fpu=(\d) ticks=(\d+)", out)
    assert m, out
    assert m.group(1) == name and m.group(2) == fw.board.core
    assert m.groups()[2:7] == ("4660", "0", "1", "1573", "1")  # .data copied, .bss zeroed, SP in .stack
    # The board's counter settings are right: ticks map back to the 2n+few instructions of the loop.
    tpi = QemuBackend.ticks_per_count(fw.board)
    insns = math.ceil(Fraction(int(m.group(8))) / tpi)
    assert 20_000 <= insns <= 20_040, (insns, out)


def test_linker_symbols_match_board(cache: Path) -> None:
    fw = build_firmware("m0plus", TINY, firmware_dir=MINIFW, cache_dir=cache)
    nm = subprocess.run(["arm-none-eabi-nm", str(fw.elf)], capture_output=True, text=True, check=True).stdout
    sym = {parts[2]: int(parts[0], 16) for parts in (ln.split() for ln in nm.splitlines()) if len(parts) == 3}
    b = fw.board
    assert sym["_estack"] == b.ram.end and sym["_sstack"] == b.ram.end - b.stack_bytes
    assert sym["_sdata"] == b.ram.origin and sym["_sbss"] >= sym["_edata"] and sym["end"] >= sym["_ebss"]
    assert b.flash.origin < sym["_sidata"] < b.flash.end and sym["mini_vectors"] == b.flash.origin
    first_word = int.from_bytes(_read_at(fw.elf, b.flash.origin, 4), "little")
    assert first_word == sym["_estack"]


def _read_at(elf: Path, addr: int, n: int) -> bytes:
    from elftools.elf.elffile import ELFFile

    with elf.open("rb") as fh:
        for seg in ELFFile(fh).iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_paddr"] <= addr < seg["p_paddr"] + seg["p_filesz"]:
                off = addr - seg["p_paddr"]
                return seg.data()[off:off + n]
    raise AssertionError(f"{addr:#x} not loaded")


def test_second_build_is_a_cache_hit(tmp_path: Path) -> None:
    model = copy_model(tmp_path)
    first = build_firmware("m4", model, firmware_dir=MINIFW, cache_dir=tmp_path / "c")
    stamp = first.elf.stat().st_mtime_ns
    second = build_firmware("m4", model, firmware_dir=MINIFW, cache_dir=tmp_path / "c")
    assert not first.cached and second.cached
    assert second.key == first.key and second.elf == first.elf and second.elf.stat().st_mtime_ns == stamp
    assert second.log == first.log and "arm-none-eabi-gcc" in second.log
    assert [p.name for p in (tmp_path / "c").iterdir()] == [first.key]  # no temp dirs left behind

    # Every input is in the key: a source edit, a header edit, the opt level, a define.
    (model / "model.c").write_text((model / "model.c").read_text() + "\n/* edit */\n")
    keys = {first.key, build_firmware("m4", model, firmware_dir=MINIFW, cache_dir=tmp_path / "c").key}
    (model / "model.h").write_text((model / "model.h").read_text() + "\n/* edit */\n")
    keys.add(build_firmware("m4", model, firmware_dir=MINIFW, cache_dir=tmp_path / "c").key)
    keys.add(build_firmware("m4", model, opt="-Os", firmware_dir=MINIFW, cache_dir=tmp_path / "c").key)
    keys.add(build_firmware("m4", model, defines={"X": 1}, firmware_dir=MINIFW, cache_dir=tmp_path / "c").key)
    keys.add(build_firmware("m3", model, firmware_dir=MINIFW, cache_dir=tmp_path / "c").key)
    bigger_stack = dataclasses.replace(load_board("m3"), stack_bytes=4096)
    keys.add(build_firmware(bigger_stack, model, firmware_dir=MINIFW, cache_dir=tmp_path / "c").key)
    assert len(keys) == 7


def test_stale_temp_dirs_are_removed(tmp_path: Path) -> None:
    stale, fresh = tmp_path / "c" / ".tmp-dead-1-aa", tmp_path / "c" / ".tmp-busy-2-bb"
    stale.mkdir(parents=True)
    fresh.mkdir()
    os.utime(stale, (0, 0))
    build_firmware("m3", copy_model(tmp_path), firmware_dir=MINIFW, cache_dir=tmp_path / "c")
    assert not stale.exists() and fresh.exists()


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIL_CACHE_DIR", str(tmp_path / "envcache"))
    fw = build_firmware("m3", TINY, firmware_dir=MINIFW)
    assert fw.elf.parent.parent == tmp_path / "envcache" / "builds"


def test_cache_is_outside_the_checkout_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's project must not write into the harness's checkout: the default is the user cache."""
    from harness.firmware.build import cache_root

    monkeypatch.delenv("HIL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "tinyml-hil"
    fw = build_firmware("m3", TINY, firmware_dir=MINIFW)
    assert fw.elf.is_relative_to(tmp_path / "xdg" / "tinyml-hil" / "builds")
    assert not fw.elf.is_relative_to(REPO_ROOT)


def test_concurrent_builds_of_one_key_both_succeed(tmp_path: Path) -> None:
    model = copy_model(tmp_path)
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(REPO_ROOT)!r})
        from harness.firmware.build import build_firmware
        fw = build_firmware("m7", {str(model)!r}, firmware_dir={str(MINIFW)!r}, cache_dir={str(tmp_path / 'c')!r})
        print(fw.key, fw.elf.stat().st_size)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0] == outs[1] and outs[0].strip()
    assert len(list((tmp_path / "c").iterdir())) == 1  # the loser's temp dir is gone


def test_c_syntax_error_gives_build_error_with_compiler_output(tmp_path: Path) -> None:
    model = copy_model(tmp_path)
    (model / "model.c").write_text((model / "model.c").read_text().replace("return 0;", "return 0", 1))
    with pytest.raises(BuildError) as exc:
        build_firmware("m4", model, firmware_dir=MINIFW, cache_dir=tmp_path / "c")
    assert "model.c" in str(exc.value) and "error: expected ';'" in str(exc.value)
    assert "error: expected ';'" in exc.value.details["log"]
    assert list((tmp_path / "c").iterdir()) == []  # nothing half-built left in the cache


def test_missing_compiler_gives_toolchain_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match=r"arm-none-eabi-gcc not found.*apt-get install -y --no-install-recommends "
                                              r"gcc-arm-none-eabi libnewlib-arm-none-eabi"):
        build_firmware("m4", TINY, firmware_dir=MINIFW, cache_dir=tmp_path / "c")


def test_weights_too_big_for_flash_give_does_not_fit(tmp_path: Path) -> None:
    model = copy_model(tmp_path)
    (model / "big.c").write_text("#include <stdint.h>\nconst int8_t hil_w_big[300000] = {1};\n"
                                 "const int8_t *keep(void) { return hil_w_big; }\n")
    (model / "model.c").write_text((model / "model.c").read_text().replace(
        "return 0;\n}", "extern const int8_t *keep(void);\n    return keep()[in[0]];\n}", 1))
    with pytest.raises(DoesNotFit, match=r"board 'm0plus': flash needs [\d,]+ B .*short by [1-9][\d,]* B; "
                                         r"largest: hil_w_big 300,000 B"):
        build_firmware("m0plus", model, firmware_dir=MINIFW, cache_dir=tmp_path / "c")


def test_arena_too_big_for_ram_gives_does_not_fit(tmp_path: Path) -> None:
    model = copy_model(tmp_path)
    (model / "model.c").write_text((model / "model.c").read_text().replace("hil_arena[512]", "hil_arena[15000]"))
    with pytest.raises(DoesNotFit, match=r"does not fit board 'm0plus': RAM needs .*short by [1-9][\d,]* B; "
                                         r"largest: hil_arena 15,000 B") as exc:
        build_firmware("m0plus", model, firmware_dir=MINIFW, cache_dir=tmp_path / "c")
    assert exc.value.details["region"] == "RAM"


def test_bad_inputs_are_rejected_before_compiling(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="does not exist"):
        build_firmware("m4", tmp_path / "nope", firmware_dir=MINIFW, cache_dir=tmp_path / "c")
    with pytest.raises(BuildError, match="bad optimisation level"):
        build_firmware("m4", TINY, opt="-O9", firmware_dir=MINIFW, cache_dir=tmp_path / "c")
    with pytest.raises(BuildError, match=r"no \*\.c files"):
        build_firmware("m4", tmp_path, firmware_dir=MINIFW, cache_dir=tmp_path / "c")
    board_file = tmp_path / "odd.toml"
    board_file.write_text((load_board("m4").path.read_text()).replace('"m4"', '"odd"').replace('"cmsdk"', '"pl011"'))
    with pytest.raises(BuildError, match=r"needs .*uart/pl011.c .*does not exist"):
        build_firmware(load_board(board_file), TINY, firmware_dir=MINIFW, cache_dir=tmp_path / "c")


@pytest.mark.skipif(not (REPO_ROOT / "firmware" / "runtime").is_dir()
                    or not (REPO_ROOT / "firmware" / "testmodels" / "echo").is_dir(),
                    reason="project runtime (firmware/) not present yet")
@pytest.mark.parametrize("name", BOARDS)
def test_project_runtime_builds_for_every_board(name: str, cache: Path) -> None:
    fw = build_firmware(name, REPO_ROOT / "firmware" / "testmodels" / "echo", cache_dir=cache)
    assert fw.elf.is_file() and "warning:" not in fw.log, fw.log[-3000:]
