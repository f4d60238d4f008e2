"""Quantization variants (fp32 … w2a8) from one Keras model, plus sub-byte weight packing.

TensorFlow is imported lazily: `packing` and the bit-width helpers work without it.
"""

from harness.quant.packing import pack, packed_size, unpack
from harness.quant.variants import CALIBRATIONS, VARIANTS, activation_bits, make_variant, weight_bits

__all__ = ["VARIANTS", "CALIBRATIONS", "make_variant", "weight_bits", "activation_bits",
           "pack", "unpack", "packed_size"]
