"""Reading one board file: typed field reads whose errors name the file, line and field.

Shared by `harness.boards` (the common fields) and every backend (its own `[<backend>]` table),
so a backend's settings get the same file:line errors as the rest of the board file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from harness.errors import ConfigError

T = TypeVar("T")
U32 = 0xFFFFFFFF
_HEADER_RE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")


class BoardFile:
    """Where we are in a board file, so every error can name file, line and field."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, table: str, key: str | None) -> int | None:
        """Best-effort line number of `key` inside `[table]` (or of the table header)."""
        current = ""
        header_line: int | None = None
        for i, raw in enumerate(self.lines, start=1):
            m = _HEADER_RE.match(raw)
            if m:
                current = m.group(1).replace(" ", "").replace('"', "")
                if current == table and key is None:
                    return i
                if current == table:
                    header_line = i
                continue
            if key is not None and current == table and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", raw):
                return i
            # dotted key at top level, e.g. `uart.kind = "cmsdk"`
            if (key is not None and table and current == ""
                    and re.match(rf"^\s*{re.escape(table)}\s*\.\s*{re.escape(key)}\s*=", raw)):
                return i
        return header_line

    def fail(self, table: str, key: str | None, problem: str) -> ConfigError:
        field = ".".join(p for p in (table, key) if p) or "(top level)"
        line = self.line_of(table, key)
        where = f"{self.path}:{line}" if line else f"{self.path}"
        return ConfigError(f"{where}: field '{field}': {problem}", file=str(self.path), line=line, field=field)

    def section(self, data: dict[str, Any], table: str = "") -> Section:
        return Section(self, table, data)


class Section:
    """One table of a board file (`table` is its dotted name, "" for the top level)."""

    def __init__(self, file: BoardFile, table: str, data: dict[str, Any]) -> None:
        self.file = file
        self.table = table
        self.data = data

    @property
    def path(self) -> Path:
        return self.file.path

    def fail(self, key: str | None, problem: str) -> ConfigError:
        return self.file.fail(self.table, key, problem)

    def check_keys(self, allowed: Iterable[str]) -> None:
        """Unknown fields are errors (a typo must not be silently ignored)."""
        allowed = tuple(allowed)
        for key in self.data:
            if key not in allowed:
                raise self.fail(key, f"unknown field '{key}'; allowed: {', '.join(allowed)}")

    def table_at(self, key: str, *, required: bool) -> Section | None:
        """The sub-table `[<table>.<key>]`, or None when absent and not required."""
        full = f"{self.table}.{key}" if self.table else key
        if key not in self.data:
            if required:
                raise self.fail(None, f"missing table [{full}]")
            return None
        value = self.data[key]
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table [{full}], got {type(value).__name__} {value!r}")
        return Section(self.file, full, value)

    @overload
    def get(self, key: str, kind: type[T], *, required: Literal[True] = True,
            choices: tuple[str, ...] | None = None, minimum: int | None = None,
            maximum: int | None = None) -> T: ...

    @overload
    def get(self, key: str, kind: type[T], *, required: Literal[False],
            choices: tuple[str, ...] | None = None, minimum: int | None = None,
            maximum: int | None = None) -> T | None: ...

    def get(self, key: str, kind: type[T], *, required: bool = True, choices: tuple[str, ...] | None = None,
            minimum: int | None = None, maximum: int | None = None) -> T | None:
        """The field `key`, checked for type, allowed values and range."""
        if key not in self.data:
            if required:
                raise self.fail(key, "missing (required)")
            return None
        value: Any = self.data[key]
        type_ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not type_ok:
            want = {int: "an integer (hex allowed, e.g. 0x20000000)", str: "a string"}.get(kind, kind.__name__)
            raise self.fail(key, f"must be {want}, got {type(value).__name__} {value!r}")
        if choices is not None and value not in choices:
            raise self.fail(key, f"bad value {value!r}; allowed: {', '.join(choices)}")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"bad value {value!r}; must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"bad value {value!r}; must be <= {maximum:#x}")
        return value
