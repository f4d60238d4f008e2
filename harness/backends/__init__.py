"""Backends run a firmware ELF on a board and return a link to it (see base.Backend).

Importing this package registers the backends of its modules (QEMU, Renode, pyOCD); the
board file's `backend` field picks one by name (registry.backend_class).
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.backends.base import Backend, BackendSettings, Capabilities
from harness.backends.registry import backend_class, backend_names, register_backend, unregister_backend

# Every module of this package is imported, so a backend module registers itself
# (@register_backend) just by being here: adding a built-in backend is adding one file.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

if TYPE_CHECKING:
    from harness.boards import Board


def make_backend(board: Board, elf: str | Path, **options: Any) -> Backend[Any]:
    """The backend named by the board file's `backend` field, constructed with `options`.

    An option that backend does not take (e.g. `connect_via` on pyOCD) is a ConfigError."""
    return backend_class(board.backend).create(board, elf, **options)


__all__ = [
    "Backend",
    "BackendSettings",
    "Capabilities",
    "backend_class",
    "backend_names",
    "make_backend",
    "register_backend",
    "unregister_backend",
]
