"""The declared public API (`harness.__all__`): every name resolves to its defining module's
object, and `import harness` alone stays cheap (no model runner, no TFLM, no pytest)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import harness

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", [n for n in harness.__all__ if n != "__version__"])
def test_every_public_name_resolves_to_its_definition(name: str) -> None:
    obj = getattr(harness, name)
    assert obj is getattr(importlib.import_module(harness._EXPORTS[name]), name)


def test_all_lists_exactly_the_exports() -> None:
    assert sorted(harness.__all__) == sorted(["__version__", *harness._EXPORTS])
    assert len(harness.__all__) == len(set(harness.__all__))


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'run_modle'"):
        harness.run_modle  # noqa: B018


def test_import_is_lazy() -> None:
    code = ("import sys, harness; heavy = [m for m in ('harness.runner', 'harness.boards', 'pytest', 'tflite_micro') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"
