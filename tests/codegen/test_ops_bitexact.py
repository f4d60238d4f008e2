"""Every core op x data type x representative option set, generated C vs the TFLM runtime.

Each model is a chain of the op under test with different options (stride 1/2, SAME/VALID,
dilation, depth multiplier 1/2, fused NONE/RELU/RELU6), so one compiled binary covers several
option sets. Inputs: random records plus all-min, all-max, all-zero-point and alternating.
"""

from __future__ import annotations

import pytest
from harness_utils import compare

QUANT = ["int8", "int8_pt", "int16x8"]
CHAINS = ["conv_chain", "dw_chain", "dw3_planes", "dw3_groups", "odd_shapes", "dense_chain", "dense_3d", "pool_chain", "softmax_wide"]


# int8 chains also run through the optimized per-core kernels (their portable C on the host)
TARGETED = [(q, t) for q in QUANT for t in ([None, "cortex-m4", "cortex-m0plus", "cortex-m3"] if q != "int16x8" else [None, "cortex-m4"])]


@pytest.mark.parametrize("quant, target", TARGETED)
@pytest.mark.parametrize("builder", CHAINS)
def test_op_chain_bitexact(builder, quant, target, tflite_model, tmp_path):
    manifest = compare(tflite_model(builder, quant), tmp_path, n_random=12, target=target)
    assert manifest["num_layers"] >= 1


@pytest.mark.parametrize("quant", ["int8", "int16x8"])
@pytest.mark.parametrize("builder", ["dense_chain", "pool_chain"])
def test_float_io_quantize_dequantize_bitexact(builder, quant, tflite_model, tmp_path):
    """Float-I/O models start with QUANTIZE and end with DEQUANTIZE: still bit-exact."""
    manifest = compare(tflite_model(builder, quant, float_io=True), tmp_path, n_random=12)
    ops = [layer["op"] for layer in manifest["layers"]]
    assert ops[0] == "QUANTIZE" and ops[-1] == "DEQUANTIZE"


@pytest.mark.parametrize("builder", ["conv_chain", "dw_chain", "dense_chain", "pool_chain"])
def test_float32_ops_match(builder, tflite_model, tmp_path):
    """float32 kernels: bit-exact on the host (same summation order as TFLM's reference
    kernels); on targets that fuse multiply-adds expect ~1e-6 relative differences."""
    compare(tflite_model(builder, "float32"), tmp_path, n_random=8)
