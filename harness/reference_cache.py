"""The TFLM reference's outputs for a suite's vectors, computed once and kept on disk.

Why: with the memory transport the device runs a vector in about a millisecond, and the host
reference (a few ms per vector for the suites' models) became the slower half of a run. The
outputs depend only on the model bytes, the vectors and how streaming state is carried, so
they are keyed by (model sha256, vectors hash) and stored under the cache directory, beside
the firmware builds. `start_reference` computes them in a thread while the device runs.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from harness.firmware.build import cache_root


def vectors_hash(inputs: Sequence[bytes], extra: bytes = b"") -> str:
    """sha256 over the vectors (length-prefixed, so splitting them differently differs) and `extra`."""
    h = hashlib.sha256(extra)
    for x in inputs:
        h.update(len(x).to_bytes(8, "little"))
        h.update(x)
    return h.hexdigest()


def cache_path(model_sha256: str, inputs: Sequence[bytes], options: bytes = b"") -> Path:
    return cache_root() / "reference" / f"{model_sha256[:32]}-{vectors_hash(inputs, options)[:32]}.npz"


def load_cached(path: Path, count: int) -> list[bytes] | None:
    """The stored outputs, or None when missing or unreadable (then they are recomputed)."""
    try:
        with np.load(path) as npz:
            flat, ends = npz["flat"], npz["ends"]
    except (OSError, ValueError, KeyError):
        return None
    if len(ends) != count:
        return None
    data = flat.tobytes()
    starts = np.concatenate([[0], ends[:-1]]) if count else ends
    return [data[int(s) : int(e)] for s, e in zip(starts, ends)]


def store(path: Path, outputs: Sequence[bytes]) -> None:
    """Write atomically: a concurrent reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = np.frombuffer(b"".join(outputs), np.uint8)
    ends = np.cumsum([len(o) for o in outputs], dtype=np.int64)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, flat=flat, ends=ends)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def reference_outputs(model_sha256: str, inputs: Sequence[bytes], compute: Callable[[], list[bytes]],
                      options: bytes = b"") -> list[bytes]:
    """`compute()`'s outputs for these vectors, from the cache when they were computed before.
    `options`: whatever else changes them (streaming resets, state wiring)."""
    path = cache_path(model_sha256, inputs, options)
    cached = load_cached(path, len(inputs))
    if cached is not None:
        return cached
    outputs = compute()
    store(path, outputs)
    return outputs


def start_reference(model_sha256: str, inputs: Sequence[bytes], compute: Callable[[], list[bytes]],
                    options: bytes = b"") -> Future[list[bytes]]:
    """`reference_outputs` in a background thread, to run while the device runs the vectors."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hil-reference")
    future = pool.submit(reference_outputs, model_sha256, inputs, compute, options)
    pool.shutdown(wait=False)
    return future
