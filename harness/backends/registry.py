"""The backends known to this process, keyed by the name a board file's `backend` field uses.

Built-in backends register when `harness.backends` is imported; another one registers with
`@register_backend` on its class (see docs/design.md, "Add a backend").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.backends.base import Backend

B = TypeVar("B", bound="type[Backend[Any]]")
_BACKENDS: dict[str, type[Backend[Any]]] = {}


def register_backend(cls: B) -> B:
    """Class decorator: make `cls` the backend for board files with `backend = "<cls.name>"`.

    A name registered twice is an error (two classes must not silently replace each other)."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__qualname__} has no `name`; set the board-file backend name as a class attribute")
    if name in _BACKENDS:
        other = _BACKENDS[name]
        raise ValueError(f"backend {name!r} is already registered by {other.__module__}.{other.__qualname__}; "
                         f"cannot register {cls.__module__}.{cls.__qualname__} under the same name")
    for kind in cls.own_counter_kinds:
        owner = counter_owner(kind)
        if owner is not None:
            raise ValueError(f"counter kind {kind!r} is already owned by backend {owner!r}")
    _BACKENDS[name] = cls
    return cls


def unregister_backend(name: str) -> None:
    """Forget a backend (tests that register a throw-away one clean up with this)."""
    _BACKENDS.pop(name, None)


def backend_names() -> tuple[str, ...]:
    """Registered names, sorted (whatever order the modules were imported in)."""
    return tuple(sorted(_BACKENDS))


def backend_class(name: str) -> type[Backend[Any]]:
    """The class registered under `name`; ConfigError listing the known ones otherwise."""
    try:
        return _BACKENDS[name]
    except KeyError:
        raise ConfigError(f"backend {name!r} is not available; known backends: {', '.join(backend_names())}",
                          field="backend", value=name) from None


def counter_owner(kind: str) -> str | None:
    """The backend that alone implements counter kind `kind`, or None for firmware counters."""
    return next((name for name, cls in _BACKENDS.items() if kind in cls.own_counter_kinds), None)
