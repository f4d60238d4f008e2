"""A plain (non-editable) install works without the checkout: the wheel carries the firmware
sources and board files (setup.py, harness/resources.py), and the firmware it builds is the
very ELF the checkout builds (no install or cache path reaches the debug info)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "examples" / "wine" / "model" / "wine_int8.tflite"


def _build_elf(tmp: Path, pythonpath: str | None, cache: Path) -> tuple[Path, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HIL_CACHE_DIR"] = str(cache)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    code = ("import harness, sys; from harness.cli import main; print('HARNESS', harness.__file__); "
            f"sys.exit(main(['build', {str(MODEL)!r}, '--board', 'm4']))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    where = next(line.split(None, 1)[1] for line in out.stdout.splitlines() if line.startswith("HARNESS"))
    elf = Path(next(line.split()[1] for line in out.stdout.splitlines() if line.startswith("elf")))
    return elf, where


@pytest.mark.slow
def test_wheel_builds_the_same_firmware_as_the_checkout(tmp_path: Path) -> None:
    src = tmp_path / "src"  # build from a copy: pip writes build/ and *.egg-info beside the sources
    for name in ("harness", "firmware", "boards"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "_data"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(site)
    assert "harness/_data/firmware/runtime/main.c" in names and "harness/_data/boards/m4.toml" in names
    shutil.rmtree(src)  # nothing may fall back to the copy's folders

    user = tmp_path / "user-repo"
    user.mkdir()
    installed, where = _build_elf(user, str(site), tmp_path / "cache-a")
    assert Path(where).is_relative_to(site)
    checkout, where = _build_elf(user, None, tmp_path / "cache-b")
    assert Path(where).is_relative_to(REPO)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (installed, checkout)]
    assert digest[0] == digest[1]
