"""The set-up installs what the README's commands use: on a machine without the host C compiler,
the Arm toolchain, QEMU or python3-venv, `make system` asks apt for each (here apt is `echo`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _make_system(path: str, python: str) -> str:
    make = shutil.which("make")
    assert make is not None
    out = subprocess.run([make, "-s", "-C", str(ROOT), "system", "APT_GET=echo apt-get", f"PYTHON={python}"],
                         env={**os.environ, "PATH": path}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_bare_machine_gets_every_package(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    no_venv = bare / "python3"
    no_venv.write_text("#!/bin/sh\nexit 1\n")  # a python3 without ensurepip/venv
    no_venv.chmod(0o755)
    out = _make_system(str(bare), str(no_venv))
    install = next(ln for ln in out.splitlines() if " install " in ln).split()
    for pkg in ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm", "gcc", "libc6-dev",
                "python3-venv"):
        assert pkg in install, install
    assert "--no-install-recommends" in install
    assert "apt-get update" in out


def test_complete_machine_installs_nothing() -> None:
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "cc"):
        assert shutil.which(tool), f"{tool} missing: make test's set-up should have installed it"
    assert _make_system(os.environ["PATH"], "python3").strip() == ""
