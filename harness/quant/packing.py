"""Pack and unpack sub-byte (int4, int2) weights into bytes.

Why: the code generator stores w4a8/w2a8 weights packed in flash (2 or 4 values per byte, as in
seed 000's "(2,2,2,2) in an INT8") and its C kernels unpack them; this module is the single
definition of that layout, shared by the emitter and the tests.

Layout (little-endian within a byte, same as TFLite's packed INT4 buffers): value i of the
flattened (C-order) array goes to byte i // k at bit offset (i % k) * bits, where k = 8 // bits,
stored as the `bits`-bit two's-complement pattern. The last byte is zero-padded.
Ranges: int4 -8..7, int2 -2..1.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pack", "unpack", "packed_size", "value_range"]


def value_range(bits: int) -> tuple[int, int]:
    """Two's-complement range of a `bits`-bit signed value."""
    _check_bits(bits)
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def packed_size(count: int, bits: int) -> int:
    """Bytes needed for `count` values of `bits` bits."""
    _check_bits(bits)
    per = 8 // bits
    return (count + per - 1) // per


def pack(values: np.ndarray, bits: int) -> bytes:
    """Pack signed integers (any shape, C order) into bytes; raises if a value is out of range."""
    _check_bits(bits)
    v = np.asarray(values).reshape(-1).astype(np.int64)
    lo, hi = value_range(bits)
    if v.size and (v.min() < lo or v.max() > hi):
        raise ValueError(f"values outside the int{bits} range [{lo}, {hi}]: min {v.min()}, max {v.max()}")
    per = 8 // bits
    mask = (1 << bits) - 1
    pad = (-v.size) % per
    u = (np.concatenate([v, np.zeros(pad, np.int64)]) & mask).reshape(-1, per)
    shifts = np.arange(per, dtype=np.int64) * bits
    return (u << shifts).sum(axis=1).astype(np.uint8).tobytes()


def unpack(data: bytes, bits: int, count: int) -> np.ndarray:
    """Inverse of `pack`: the first `count` values as int8."""
    _check_bits(bits)
    per = 8 // bits
    if len(data) < packed_size(count, bits):
        raise ValueError(f"{len(data)} bytes hold fewer than {count} int{bits} values")
    b = np.frombuffer(bytes(data), np.uint8).astype(np.int16)
    shifts = np.arange(per, dtype=np.int16) * bits
    u = ((b[:, None] >> shifts) & ((1 << bits) - 1)).reshape(-1)[:count]
    sign = 1 << (bits - 1)
    return ((u ^ sign) - sign).astype(np.int8)


def _check_bits(bits: int) -> None:
    if bits not in (1, 2, 4):
        raise ValueError(f"bits must be 1, 2 or 4, got {bits}")
