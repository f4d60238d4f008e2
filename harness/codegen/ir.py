"""Graph IR: the plain-data view of one .tflite subgraph that every later stage works on.

The reader fills it, the planner and the op plug-ins only read it. Keeping it free of any
flatbuffer object means ops can be tested and reasoned about without the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# IR dtype name -> (C type, element bytes, numpy dtype). "int4" tensors hold unpacked int8 values.
DTYPES: dict[str, tuple[str, int, Any]] = {
    "float32": ("float", 4, np.float32),
    "int8": ("int8_t", 1, np.int8),
    "uint8": ("uint8_t", 1, np.uint8),
    "int16": ("int16_t", 2, np.int16),
    "int32": ("int32_t", 4, np.int32),
    "int64": ("int64_t", 8, np.int64),
    "bool": ("uint8_t", 1, np.bool_),
    "int4": ("int8_t", 1, np.int8),
}


def ctype(dtype: str) -> str:
    """C element type used for a tensor of this IR dtype."""
    return DTYPES[dtype][0]


def itemsize(dtype: str) -> int:
    """Bytes per element as stored in the arena / flash (int4 is unpacked to 1 byte)."""
    return DTYPES[dtype][1]


@dataclass
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per channel.

    `scale` keeps the float32 values from the file (TFLM computes multipliers from them).
    """

    scale: np.ndarray  # float32, shape (1,) or (channels,)
    zero_point: np.ndarray  # int64, same length as scale
    quantized_dimension: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass
class Tensor:
    """One tensor. `data` is set for constants (weights, biases, shapes), None for activations."""

    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    quant: Quant | None = None
    data: np.ndarray | None = None
    is_variable: bool = False

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        """Number of elements."""
        n = 1
        for d in self.shape:
            n *= int(d)
        return n

    @property
    def nbytes(self) -> int:
        return self.size * itemsize(self.dtype)

    @property
    def ctype(self) -> str:
        return ctype(self.dtype)

    @property
    def scale(self) -> float:
        """Per-tensor scale (first entry); 0.0 when the tensor is not quantized."""
        return float(self.quant.scale[0]) if self.quant is not None and len(self.quant.scale) else 0.0

    @property
    def zero_point(self) -> int:
        """Per-tensor zero point (first entry); 0 when the tensor is not quantized."""
        if self.quant is None or not len(self.quant.zero_point):
            return 0
        return int(self.quant.zero_point[0])


@dataclass
class Op:
    """One operator. Optional inputs that are absent are -1 (as in the .tflite)."""

    index: int
    opcode: str  # builtin name, e.g. "CONV_2D"
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)  # schema field names, e.g. "strideW"
    version: int = 1


@dataclass
class Graph:
    """A whole model: one subgraph plus identity (name and sha256 of the .tflite bytes)."""

    name: str
    sha256: str
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    path: str = ""

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def producers(self) -> dict[int, int]:
        """tensor index -> index of the op that writes it."""
        return {t: op.index for op in self.ops for t in op.outputs if t >= 0}

    def consumers(self) -> dict[int, list[int]]:
        """tensor index -> indices of the ops that read it."""
        out: dict[int, list[int]] = {}
        for op in self.ops:
            for t in op.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(op.index)
        return out
