"""Footprint from the ELF agrees with arm-none-eabi-size and counts weights from symbols."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from harness.boards import MemoryRegion, load_board
from harness.errors import BuildError, DoesNotFit
from harness.firmware.build import build_firmware
from harness.firmware.footprint import check_fits, fit_problems, footprint

DATA = Path(__file__).parent / "data"
MINIFW = DATA / "minifw"
TINY = DATA / "models" / "tiny"


def size_of(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-size", "-B", str(elf)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def nm_sizes(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    return {p[3]: int(p[1], 16) for p in (ln.split() for ln in out.splitlines()) if len(p) == 4}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.mark.parametrize("name", ["m0plus", "m4", "m33"])
def test_matches_arm_none_eabi_size(name: str, cache: Path) -> None:
    fw = build_firmware(name, TINY, firmware_dir=MINIFW, cache_dir=cache)
    fp = footprint(fw.elf)
    size = size_of(fw.elf)
    assert fp.flash == size["text"] + size["data"]
    assert fp.data == size["data"] and fp.ram == size["data"] + (size["bss"] - fp.stack)
    assert fp.stack == fw.board.stack_bytes and fp.ram_total == size["data"] + size["bss"]
    assert fp.flash == fp.vectors + fp.text + fp.rodata + fp.data
    assert fp.vectors == 64 and fp.text > 0 and fp.bss >= fp.arena


def test_weights_and_arena_come_from_symbols(cache: Path) -> None:
    fw = build_firmware("m4", TINY, firmware_dir=MINIFW, cache_dir=cache)
    fp = footprint(fw.elf)
    sizes = nm_sizes(fw.elf)
    assert fp.weights == sizes["hil_w_a"] + sizes["hil_w_b"] == 64 + 200
    assert fp.arena == sizes["hil_arena"] == 512
    assert fp.code == fp.flash - fp.weights - fp.data


def test_more_weights_grow_weights_not_code(tmp_path: Path, cache: Path) -> None:
    base = footprint(build_firmware("m3", TINY, firmware_dir=MINIFW, cache_dir=cache).elf)
    model = tmp_path / "model"
    model.mkdir()
    for f in TINY.iterdir():
        (model / f.name).write_text(f.read_text().replace("hil_w_b[200]", "hil_w_b[4000]"))
    bigger = footprint(build_firmware("m3", model, firmware_dir=MINIFW, cache_dir=cache).elf)
    assert bigger.weights - base.weights == 3800
    assert bigger.code == base.code and bigger.flash - base.flash == 3800


def test_fit_check_against_board(cache: Path) -> None:
    board = load_board("m0plus")
    fp = footprint(build_firmware(board, TINY, firmware_dir=MINIFW, cache_dir=cache).elf)
    assert fit_problems(fp, board) == [] and check_fits(fp, board) is fp
    tiny_board = dataclasses.replace(board, flash=MemoryRegion(0, 1024), ram=MemoryRegion(0x20000000, 2048))
    problems = fit_problems(fp, tiny_board)
    assert len(problems) == 2 and problems[0].startswith(f"flash: {fp.flash} B used")
    with pytest.raises(DoesNotFit, match=rf"over by {fp.flash - 1024} B") as exc:
        check_fits(fp, tiny_board)
    assert exc.value.details["footprint"]["weights"] == fp.weights


def test_unreadable_elf_is_a_build_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"not an elf at all")
    with pytest.raises(BuildError, match="cannot read ELF"):
        footprint(bad)


# ------------------------------------------------------------------ does not fit: the real shortfall

ROOT = Path(__file__).resolve().parent.parent


def _big_activations_model() -> Path:
    """Real int8 conv model whose 48x48 activations need far more RAM than the m0plus has."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "codegen"))
    import cg_models

    return cg_models.model_path("conv_chain", "int8", in_shape=(48, 48, 3))


def _resized(board, region: str, size: int):  # type: ignore[no-untyped-def]
    return dataclasses.replace(board, **{region: dataclasses.replace(getattr(board, region), size=size)})


@pytest.mark.parametrize("case", ["RAM", "flash"])
def test_does_not_fit_names_region_need_capacity_shortfall_and_contributors(case: str) -> None:
    """RAM: an int8 conv model with big activations (the linker itself says "RAM overflowed by 0
    bytes" here: the stack is pinned to the top). Flash: the ad suite's 285 KB of weights. The
    need is exact: the same firmware links for a board with exactly that much, and for one byte
    less it is short by exactly one byte."""
    from harness.runner import generate_cached, run_model

    board = load_board("m0plus")
    model = _big_activations_model() if case == "RAM" else ROOT / "suites" / "ad" / "artifacts" / "int8.tflite"
    with pytest.raises(DoesNotFit) as info:
        run_model(model, board, [])
    msg, d = str(info.value), info.value.details
    capacity = board.ram.size if case == "RAM" else board.flash.size
    assert d["region"] == case.upper() and d["capacity"] == capacity
    assert d["shortfall"] == d["need"] - capacity > 0
    assert f"{case} needs {d['need']:,} B" in msg and f"the board has {capacity:,} B: short by {d['shortfall']:,} B" in msg
    assert "by 0 " not in msg and " 0 bytes" not in msg
    top = d["regions"][case]["largest"]
    assert len(top) == 5 and top == sorted(top, key=lambda s: -s[1])
    if case == "RAM":
        assert top[0][0] == "hil_arena" and "stack 2,048 B" in msg and "arena " in msg and "bss " in msg
    else:
        assert all(name.startswith("hil_w_") for name, _ in top[:2]) and "weights " in msg and "code " in msg
    gm = generate_cached(model, None, None, board.core)
    region = "ram" if case == "RAM" else "flash"
    assert build_firmware(_resized(board, region, d["need"]), gm.out_dir).elf.is_file()
    with pytest.raises(DoesNotFit) as tighter:
        build_firmware(_resized(board, region, d["need"] - 1), gm.out_dir)
    assert tighter.value.details["shortfall"] == 1 and tighter.value.details["need"] == d["need"]


# ------------------------------------------------------------------ the mailbox outside RAM

ECHO = ROOT / "firmware" / "testmodels" / "echo"


def test_a_mailbox_outside_ram_is_neither_ram_nor_flash() -> None:
    """m4 keeps its mailbox (input and output buffers, the memory doorbell) in the board's
    [memory.mailbox] region; linked for m4 without that region they stay in RAM: the RAM use
    differs by the mailbox."""
    from harness.firmware.footprint import region_use

    board = load_board("m4")
    assert board.mailbox is not None
    shared = build_firmware(board, ECHO)
    in_ram_board = dataclasses.replace(board, mailbox=None)
    in_ram = build_firmware(in_ram_board, ECHO)
    fp, fp_ram = footprint(shared.elf), footprint(in_ram.elf)
    syms = nm_sizes(shared.elf)
    assert syms["input_buf"] + syms["output_buf"] == 980  # the echo model: 490 B each way
    assert fp.mailbox >= 980 + syms["doorbell"] and syms["doorbell"] == 48  # struct hil_doorbell: 12 words
    assert fp_ram.mailbox == 0 and fp.flash == fp_ram.flash
    assert fp.mailbox <= fp_ram.bss - fp.bss < fp.mailbox + 8  # in RAM: bss, up to 8-byte alignment
    assert size_of(shared.elf)["bss"] == fp.bss + fp.stack + fp.mailbox  # size counts every NOBITS section
    regions = {r.region: r for r in region_use(shared.elf, board)}
    assert regions["mailbox"].need == fp.mailbox and regions["mailbox"].capacity == board.mailbox.size
    assert {name for name, _ in regions["mailbox"].largest} == {"input_buf", "output_buf", "doorbell"}
    assert regions["RAM"].need < regions["mailbox"].capacity
    assert "input_buf" not in dict(regions["RAM"].largest)
    assert {r.region for r in region_use(in_ram.elf, in_ram_board)} == {"flash", "RAM"}
    assert dict(region_use(in_ram.elf, in_ram_board)[1].largest)["input_buf"] == 490
