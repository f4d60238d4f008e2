"""Whole models: activity-recognition 1D-CNN, keyword-spotting DS-CNN, dense autoencoder."""

from __future__ import annotations

import pytest
from harness_utils import compare

# Optimized per-core kernels (harness/codegen/optimized.py, optimized_s16.py) cover int8 and (DSP)
# int16x8: the same comparison runs
# on them through their portable C (the Arm-only instructions are checked on QEMU in
# tests/test_optimized_kernels.py).
# :speed = 16-bit weight pairs; the bare core: int8 weights (prefer size)
TARGETS = [None, "cortex-m4", "cortex-m4:speed", "cortex-m0plus", "cortex-m3"]
CASES = [(q, t) for q in ["int8", "int8_pt", "int16x8"] for t in (TARGETS if q != "int16x8" else [None, "cortex-m4"])]


@pytest.mark.parametrize("quant, target", CASES)
@pytest.mark.parametrize("builder", ["har_cnn1d", "ds_cnn", "autoencoder"])
def test_model_bitexact(builder, quant, target, tflite_model, tmp_path):
    manifest = compare(tflite_model(builder, quant), tmp_path, n_random=16, seed=7, target=target)
    # the memory plan target: arena within 10 % of the live-tensor lower bound
    assert manifest["arena_bytes"] <= 1.1 * manifest["arena_lower_bound"]


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m4:speed"])
def test_matrix_kernel_shapes(target, tflite_model, tmp_path):
    """Every path of the DSP matrix kernels (cg_models.mm8_shapes), per-channel and per-tensor."""
    for quant in ("int8", "int8_pt"):
        compare(tflite_model("mm8_shapes", quant), tmp_path / quant, n_random=12, seed=5, target=target)


def test_har_float32(tflite_model, tmp_path):
    compare(tflite_model("har_cnn1d", "float32"), tmp_path, n_random=8)


@pytest.mark.parametrize("target", [None, "cortex-m4", "cortex-m0plus"])
def test_wide_residual_add(target, tflite_model, tmp_path):
    """A residual ADD of 2,048 elements: the optimized targets tabulate both inputs' terms
    (arith_addsub_lut_s8.c), the portable build keeps hil_add_s8; both bit-exact."""
    compare(tflite_model("residual_block", "int8", in_shape=(16, 16, 8)), tmp_path, n_random=6, seed=11, target=target)
    uses_lut = "hil_addsub_lut_s8(" in (tmp_path / "gen" / "model.c").read_text()
    assert uses_lut == (target is not None)
