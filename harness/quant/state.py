"""Tie a recurrent model's state output quantization to its state input's.

Why: an explicit-state cell (inputs x_t, h_{t-1}; outputs h_t, scores) is converted with separate
calibrated ranges for h_{t-1} and h_t, so carrying the state would need a requantization step on
the device (shared/reference/ml.md §7). Giving h_t exactly the (scale, zero point) of h_{t-1} makes
the carry a plain byte copy. It is valid because the op producing h_t requantizes to whatever
output parameters the tensor declares, and the consumers of h_t compute their multipliers from
it too; only the int32/int64 biases of FULLY_CONNECTED/CONV consumers were quantized with the old
input scale, so they are requantized here. The state input's range must cover h_t's (calibrate
it on the state trajectories), else h_t saturates.
"""

from __future__ import annotations

import numpy as np

from harness.errors import UnsupportedModel
from harness.quant import grid

_RESCALE_OK = {"ADD", "SUB", "MUL", "LOGISTIC", "TANH", "FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"}


def tie_state(model: bytes, state_input: int, state_output: int) -> bytes:
    """Return the model with output `state_output` quantized exactly like input `state_input`."""
    fb, m, ops = grid._load(model)
    sg = m.subgraphs[0]
    tin = sg.tensors[sg.inputs[state_input]]
    tout_idx = int(sg.outputs[state_output])
    tout = sg.tensors[tout_idx]
    if tin.type != tout.type or tin.quantization is None or tout.quantization is None:
        raise UnsupportedModel("state input and output must be quantized tensors of the same type")
    old = float(tout.quantization.scale[0])
    new = float(tin.quantization.scale[0])
    for op in sg.operators:
        name = ops.get(max(m.operatorCodes[op.opcodeIndex].builtinCode,
                           m.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode))
        ins = op.inputs.tolist()
        if tout_idx not in ins:
            continue
        if name not in _RESCALE_OK:
            raise UnsupportedModel(f"state output feeds {name}, which needs equal input/output scales")
        if name in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D") and ins[0] == tout_idx \
                and len(ins) > 2 and ins[2] >= 0:
            bias = sg.tensors[ins[2]]
            bdt = np.int32 if bias.type == fb.TensorType.INT32 else np.int64
            bq = np.frombuffer(bytes(m.buffers[bias.buffer].data), bdt).astype(np.float64)
            info = np.iinfo(bdt)
            nb = np.clip(np.round(bq * old / new), info.min, info.max).astype(bdt)
            m.buffers[bias.buffer].data = np.frombuffer(nb.tobytes(), np.uint8).copy()
            bias.quantization.scale = (np.asarray(bias.quantization.scale, np.float64) * new / old
                                       ).astype(np.float32).tolist()
    tout.quantization.scale = list(tin.quantization.scale)
    tout.quantization.zeroPoint = list(tin.quantization.zeroPoint)
    if tout.quantization.min is not None:
        tout.quantization.min, tout.quantization.max = tin.quantization.min, tin.quantization.max
    return grid._save(m)
