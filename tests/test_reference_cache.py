"""The TFLM reference's outputs are computed once per (model sha256, vectors) and kept on disk,
and a suite model gives the same counts and outputs over both transports (real QEMU, real TFLM)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.boards import load_board
from harness.reference import Reference
from harness.reference_cache import cache_path, reference_outputs, start_reference
from harness.runner import run_model

HAR = Path(__file__).resolve().parents[1] / "suites" / "har" / "artifacts"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HIL_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_reference_is_computed_once_per_model_and_vectors(cache_dir: Path) -> None:
    ref = Reference(HAR / "int8.tflite")
    rng = np.random.default_rng(1)
    size = sum(d.nbytes for d in ref.input_details)
    inputs = [rng.integers(-128, 128, size, dtype=np.int8).tobytes() for _ in range(4)]
    calls = []

    def compute() -> list[bytes]:
        calls.append(1)
        return [ref.run_raw(x) for x in inputs]

    first = reference_outputs("a" * 64, inputs, compute)
    assert calls == [1] and cache_path("a" * 64, inputs).is_file()
    assert reference_outputs("a" * 64, inputs, compute) == first and calls == [1]  # from disk
    assert start_reference("a" * 64, inputs, compute).result() == first and calls == [1]
    reference_outputs("b" * 64, inputs, compute)  # another model: computed
    reference_outputs("a" * 64, inputs[::-1], compute)  # other vectors: computed
    reference_outputs("a" * 64, inputs, compute, options=b"resets=[2]")  # other state handling: computed
    assert len(calls) == 4
    cache_path("a" * 64, inputs).write_bytes(b"not an npz")  # a damaged entry is recomputed, not trusted
    assert reference_outputs("a" * 64, inputs, compute) == first and len(calls) == 5


def test_suite_model_counts_and_outputs_identical_over_both_transports(cache_dir: Path) -> None:
    with np.load(HAR / "test.npz") as npz:
        x = npz["x_int8"][:5]
    inputs = [np.ascontiguousarray(v).tobytes() for v in x]
    board = load_board("m4")
    runs = {t: run_model(HAR / "int8.tflite", board, inputs, transport=t) for t in ("uart", "memory")}
    assert runs["uart"].transport == "uart" and runs["memory"].transport == "memory"
    assert runs["memory"].outputs == runs["uart"].outputs
    assert [c.value for c in runs["memory"].counts] == [c.value for c in runs["uart"].counts]
    assert runs["memory"].bitexact == runs["uart"].bitexact == 1.0
    assert list(cache_dir.joinpath("reference").glob("*.npz"))  # the second run read the first one's reference


def test_pack_vectors_is_the_per_vector_firmware_layout() -> None:
    from harness.vectors import pack_vectors

    a = np.arange(24, dtype=np.int16).reshape(3, 2, 4)
    b = np.arange(6, dtype=np.int8).reshape(3, 2)
    assert pack_vectors([a, b]) == [a[i].tobytes() + b[i].tobytes() for i in range(3)]
    with pytest.raises(Exception, match="different numbers of vectors"):
        pack_vectors([a, b[:2]])
