"""Generated code on an emulated Cortex-M4 (QEMU): the DSP/SIMD32 kernel paths, which the host
build never compiles, are bit-exact with the TFLM runtime too."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from harness.boards import load_board
from harness.runner import run_model

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
    reason="needs qemu-system-arm and arm-none-eabi-gcc",
)


@pytest.mark.parametrize("builder, quant", [("har_cnn1d", "int8"), ("ds_cnn", "int8_pt"), ("autoencoder", "int8")])
def test_bitexact_on_emulated_m4(builder, quant, tflite_model):
    from harness.codegen.reader import read_tflite

    path = tflite_model(builder, quant)
    g = read_tflite(path)
    t = g.tensor(g.inputs[0])
    rng = np.random.default_rng(11)
    vectors = [rng.integers(-128, 128, t.shape).astype(np.int8) for _ in range(3)]
    vectors += [np.full(t.shape, -128, np.int8), np.full(t.shape, 127, np.int8), np.full(t.shape, t.zero_point, np.int8)]
    run = run_model(path, load_board("m4"), [v.tobytes() for v in vectors])
    assert run.bitexact == 1.0, [(a.hex()[:40], b.hex()[:40]) for a, b in zip(run.outputs, run.reference) if a != b]
    assert run.count_kind == "instructions" and run.count_per_inference > run.macs


@pytest.mark.parametrize("builder, exact", [("conv_chain", True), ("har_cnn1d", False)])
def test_float32_on_emulated_m4_fpu(builder, exact, tflite_model):
    """float kernels are built without fused multiply-add, so convolutions match the host runtime
    bit for bit on an FPU core; softmax goes through the target libm's expf (within 1e-6)."""
    from harness.codegen.reader import read_tflite

    path = tflite_model(builder, "float32")
    g = read_tflite(path)
    t = g.tensor(g.inputs[0])
    rng = np.random.default_rng(12)
    vectors = [rng.uniform(-1, 1, t.shape).astype(np.float32) for _ in range(3)]
    run = run_model(path, load_board("m4"), [v.tobytes() for v in vectors])
    for got, want in zip(run.outputs, run.reference):
        a, b = np.frombuffer(got, np.float32), np.frombuffer(want, np.float32)
        if exact:
            assert got == want
        else:
            assert np.allclose(a, b, rtol=1e-6, atol=1e-7), np.abs(a - b).max()
