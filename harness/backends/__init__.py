"""Backends run a firmware ELF on a board and return a link to it (see base.Backend)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from harness.backends.base import Backend
from harness.boards import Board
from harness.errors import ConfigError

# board file `backend` -> (module, class); modules are imported only when used.
BACKENDS = {
    "qemu": ("harness.backends.qemu", "QemuBackend"),
    "renode": ("harness.backends.renode", "RenodeBackend"),
    "pyocd": ("harness.backends.pyocd", "PyocdBackend"),
}


def make_backend(board: Board, elf: str | Path, **options: object) -> Backend:
    """The backend named by the board file's `backend` field.

    Options a backend's constructor does not take (e.g. `boot_timeout`) are dropped, so
    callers can pass the common ones to every backend.
    """
    try:
        module_name, class_name = BACKENDS[board.backend]
        cls = getattr(importlib.import_module(module_name), class_name)
    except (KeyError, ImportError, AttributeError) as exc:
        raise ConfigError(
            f"board '{board.name}' ({board.path}) uses backend '{board.backend}', which is not available "
            f"({exc}); known backends: {', '.join(BACKENDS)}", field="backend", value=board.backend,
        ) from exc
    params = inspect.signature(cls).parameters.values()
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        names = {p.name for p in params}
        options = {k: v for k, v in options.items() if k in names}
    return cls(board, elf, **options)


__all__ = ["Backend", "BACKENDS", "make_backend"]
