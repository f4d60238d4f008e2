"""What a measurement counts: executed instructions (emulators, exact) or core cycles (hardware).

The one definition of the count kinds; `Count` carries its kind everywhere so an instruction
budget never judges a cycle count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

CountKind = Literal["instructions", "cycles"]
COUNT_KINDS: tuple[CountKind, ...] = get_args(CountKind)


@dataclass(frozen=True)
class Count:
    """A measurement that carries its kind: emulators count instructions, hardware cycles."""

    value: int
    kind: CountKind

    def __post_init__(self) -> None:
        if self.kind not in COUNT_KINDS:
            raise ValueError(f"count kind {self.kind!r} is not one of {COUNT_KINDS}")
