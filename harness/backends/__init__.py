"""Backends run a firmware ELF on a board and return a link to it (see base.Backend)."""

from __future__ import annotations

from pathlib import Path

from harness.backends.base import Backend
from harness.boards import Board
from harness.errors import ConfigError


def make_backend(board: Board, elf: str | Path, **options: object) -> Backend:
    """The backend named by the board file's `backend` field."""
    if board.backend == "qemu":
        from harness.backends.qemu import QemuBackend

        return QemuBackend(board, elf, **options)  # type: ignore[arg-type]
    raise ConfigError(
        f"board '{board.name}' ({board.path}) uses backend '{board.backend}', which is not implemented yet; "
        "use a qemu board", field="backend", value=board.backend,
    )


__all__ = ["Backend", "make_backend"]
