"""Where the harness's non-Python files are: the firmware sources and the board files.

In a checkout (and an editable install) they are the top-level `firmware/` and `boards/`
folders beside `harness/`. A wheel (a plain `pip install`, e.g. into a team's own repository's
environment) carries copies under `harness/_data/` (setup.py copies them at build time), so the
installed harness builds firmware without the checkout.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
DATA_DIRS = ("firmware", "boards")  # what setup.py copies into the wheel


def data_dir(name: str) -> Path:
    """The folder `name` (one of DATA_DIRS): the wheel's copy if installed, else the checkout's."""
    if name not in DATA_DIRS:
        raise ValueError(f"unknown data folder {name!r}; one of {', '.join(DATA_DIRS)}")
    packaged = _PACKAGE / "_data" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name
