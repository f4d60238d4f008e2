"""Host golden reference: the TFLM Python runtime running a .tflite file.

Why TFLM and not TFLite: TFLM's Python runtime is the same C++ interpreter and reference
kernels that run on the device, so int8/int16 outputs are bit-exact with a correct firmware.
TFLite's XNNPACK and its FULLY_CONNECTED rounding are not (see shared/reference/ml.md §5).
This module needs no TensorFlow: only numpy and `tflite_micro`.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import ConfigError, UnsupportedModel
from harness.modelfile import parse_model, read_model_bytes, schema

__all__ = ["TensorDetails", "Reference", "quantize", "dequantize", "check_tflm_support"]


@dataclass(frozen=True)
class TensorDetails:
    """One model input or output as the firmware sees it (raw dtype and quantization)."""

    index: int
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float  # 0.0 for float tensors
    zero_point: int

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    @property
    def quantized(self) -> bool:
        return self.dtype.kind in "iu" and self.scale != 0.0


def quantize(x: np.ndarray, details: TensorDetails) -> np.ndarray:
    """Float → raw tensor, `clip(round(x / scale) + zero_point)`; float tensors pass through."""
    x = np.asarray(x, dtype=np.float32)
    if not details.quantized:
        return x.astype(details.dtype)
    info = np.iinfo(details.dtype)
    q = np.round(x / np.float32(details.scale)) + details.zero_point
    return np.clip(q, info.min, info.max).astype(details.dtype)


def dequantize(q: np.ndarray, details: TensorDetails, dtype: type = np.float32) -> np.ndarray:
    """Raw tensor → real values, `(q - zero_point) * scale` (float32, or e.g. float64 for metrics);
    float tensors pass through."""
    q = np.asarray(q)
    if not details.quantized:
        return q.astype(dtype)
    if dtype is np.float32:
        return ((q.astype(np.int32) - details.zero_point) * np.float32(details.scale)).astype(np.float32)
    return (q.astype(dtype) - details.zero_point) * dtype(details.scale)





def check_tflm_support(model: bytes, name: str = "model") -> None:
    """Raise UnsupportedModel for variants TFLM cannot run (they stay "host only").

    TFLM silently computes garbage for some of these (offset buffers) or aborts for others
    (hybrid, float16), so they are caught here from the flatbuffer before the runtime sees them.
    """
    fb = schema()
    m = parse_model(model, name)
    ops = {v: k for k, v in vars(fb.BuiltinOperator).items() if k.isupper()}
    types = {v: k for k, v in vars(fb.TensorType).items() if k.isupper()}
    if any((b.offset or 0) > 1 for b in (m.buffers or [])):
        raise UnsupportedModel(
            f"{name}: constant buffers are stored after the flatbuffer (offset buffers); "
            "TFLM computes wrong results on them. Host only: re-pack the buffers inline."
        )
    for sg in m.subgraphs:
        for index, op in enumerate(sg.operators or []):
            oc = m.operatorCodes[op.opcodeIndex]
            opname = ops.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), "?")
            ins = [sg.tensors[i] for i in (op.inputs if op.inputs is not None else []) if i >= 0]
            tnames = [types.get(t.type, "?") for t in ins]
            if "FLOAT16" in tnames:
                raise UnsupportedModel(
                    f"{name}: op {opname} has float16 weights; TFLM does not run float16 models. "
                    "Host only: use the fp32 or an integer variant on the device."
                )
            if opname == "SOFTMAX" and tnames[:1] == ["INT8"]:
                _check_softmax_scale(name, index, ins[0], op.builtinOptions)
            if opname in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D") and len(tnames) > 1:
                if tnames[0] == "FLOAT32" and tnames[1] in ("INT8", "INT4"):
                    raise UnsupportedModel(
                        f"{name}: op {opname} is hybrid (float activations, {tnames[1]} weights); "
                        "TFLM does not run dynamic-range models. Host only: use a full-integer variant."
                    )
                w = ins[1]
                if tnames[1] == "INT4" and opname == "FULLY_CONNECTED":
                    scales = w.quantization.scale if w.quantization is not None else None
                    if scales is not None and len(scales) > 1:
                        raise UnsupportedModel(
                            f"{name}: FULLY_CONNECTED has per-channel INT4 weights; TFLM does not run "
                            "them. Host only: use per-tensor int4 FC or the w4a8 variant (int8 on a 4-bit grid)."
                        )


def _check_softmax_scale(name: str, index: int, tensor, options) -> None:
    """TFLM's int8 SOFTMAX needs beta x input scale x 2^26 > 1 (PreprocessSoftmaxScaling); below
    that its runtime aborts the whole process (a failed check, no exception, no message). Such a
    scale means the logits' range is ~1e-8: the activations before it have collapsed to zero."""
    beta = float(options.beta) if options is not None else 1.0  # a beta of 0 is TFLM's abort too
    q = tensor.quantization
    scale = float(q.scale[0]) if q is not None and q.scale is not None and len(q.scale) else 0.0
    if beta * scale * 2.0**26 <= 1.0:
        raise UnsupportedModel(
            f"{name}: op {index} SOFTMAX: input tensor {tensor.name.decode()!r} has scale {scale:.3g} "
            f"(beta {beta:g}); TFLM needs beta x scale > 2^-26 = {2.0**-26:.3g} and aborts the process "
            "otherwise. The logits' range is ~0: the activations before it collapsed (an untrained or "
            "badly calibrated model). Host only.")


_ARENA_RE = re.compile(r"Arena allocation total (\d+) bytes")


def _capture_fd2(fn) -> str:
    """Run fn() and return what C++ code wrote to file descriptor 2 (print_allocations)."""
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode(errors="replace")


class Reference:
    """The TFLM interpreter for one model, with raw-tensor I/O in model order.

    `run_raw` uses the same byte layout as the firmware's `hil_model_invoke`: the inputs'
    raw bytes concatenated in model input order, and the outputs likewise, so a device
    response can be compared byte for byte.
    """

    def __init__(self, model: Path | str | bytes, arena_size: int | None = None) -> None:
        if isinstance(model, (str, Path)):
            self.name = str(model)
            data = read_model_bytes(model)
        else:
            self.name = "<bytes>"
            data = bytes(model)
        self.model = data
        check_tflm_support(data, self.name)
        from tflite_micro.python.tflite_micro import runtime

        try:
            self._interp = runtime.Interpreter.from_bytes(data, arena_size=arena_size)
        except Exception as exc:  # the runtime raises RuntimeError with TFLM's log text
            raise UnsupportedModel(
                f"{self.name}: the TFLM runtime cannot load this model ({exc}). Host only."
            ) from exc
        m = parse_model(data, self.name)
        sg = m.subgraphs[0]
        self.input_details = [self._details(sg, i, self._interp.get_input_details(i))
                              for i in range(len(sg.inputs))]
        self.output_details = [self._details(sg, i, self._interp.get_output_details(i))
                               for i in range(len(sg.outputs))]
        self.input_names = [sg.tensors[t].name.decode() for t in sg.inputs]
        self.output_names = [sg.tensors[t].name.decode() for t in sg.outputs]

    @staticmethod
    def _details(sg, i: int, d: dict) -> TensorDetails:
        qp = d["quantization_parameters"]
        scale = float(qp["scales"][0]) if len(qp["scales"]) else 0.0
        zp = int(qp["zero_points"][0]) if len(qp["zero_points"]) else 0
        return TensorDetails(i, tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"]), scale, zp)

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """One invocation on raw tensors (already quantized); returns raw output tensors."""
        if len(inputs) != len(self.input_details):
            raise ConfigError(
                f"{self.name}: got {len(inputs)} input tensors, the model has {len(self.input_details)}"
            )
        for d, x in zip(self.input_details, inputs):
            x = np.asarray(x)
            if x.dtype != d.dtype or x.size != int(np.prod(d.shape)):
                raise ConfigError(
                    f"{self.name}: input {d.index} ({self.input_names[d.index]}) must be {d.dtype} "
                    f"{d.shape}, got {x.dtype} {x.shape}; quantize floats with harness.reference.quantize"
                )
            self._interp.set_input(np.ascontiguousarray(x.reshape(d.shape)), d.index)
        self._interp.invoke()
        return [np.array(self._interp.get_output(d.index)).reshape(d.shape).astype(d.dtype)
                for d in self.output_details]

    def run_raw(self, input_bytes: bytes) -> bytes:
        """Like `run`, on the concatenated raw bytes of all inputs (firmware wire layout)."""
        need = sum(d.nbytes for d in self.input_details)
        if len(input_bytes) != need:
            raise ConfigError(f"{self.name}: raw input is {len(input_bytes)} bytes, the model needs {need}")
        xs, off = [], 0
        for d in self.input_details:
            xs.append(np.frombuffer(input_bytes, d.dtype, int(np.prod(d.shape)), off).reshape(d.shape))
            off += d.nbytes
        return b"".join(np.ascontiguousarray(y).tobytes() for y in self.run(xs))

    def run_float(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Quantize float inputs, run, dequantize outputs (for accuracy, not for bit-exactness)."""
        raw = self.run([quantize(x, d) for x, d in zip(inputs, self.input_details)])
        return [dequantize(y, d) for y, d in zip(raw, self.output_details)]

    def run_stream(self, frames: np.ndarray, state_input: int, state_output: int,
                   h0: np.ndarray | None = None) -> tuple[list[list[np.ndarray]], np.ndarray]:
        """Run an explicit-state cell frame by frame, carrying the state as the firmware does.

        `frames`: raw inputs for the other input, one row per frame. The state output's raw bytes
        are fed back unchanged, so the model's state output must be quantized like its state
        input (`harness.quant.state.tie_state`); this is checked. `h0` defaults to the raw zero
        state. Returns (raw outputs per frame, final raw state).
        """
        if len(self.input_details) != 2:
            raise ConfigError(f"{self.name}: run_stream needs a 2-input cell (frame, state)")
        din, dout = self.input_details[state_input], self.output_details[state_output]
        if (din.dtype, din.shape, din.scale, din.zero_point) != (dout.dtype, dout.shape, dout.scale, dout.zero_point):
            raise ConfigError(
                f"{self.name}: state output {state_output} is not quantized like state input "
                f"{state_input}; carrying it needs a requantization step (tie them with "
                "harness.quant.state.tie_state)"
            )
        dx = self.input_details[1 - state_input]
        h = quantize(np.zeros(din.shape, np.float32), din) if h0 is None else np.asarray(h0, din.dtype).reshape(din.shape)
        out = []
        for frame in np.asarray(frames):
            ins: list[np.ndarray] = [h, h]
            ins[1 - state_input] = np.asarray(frame, dx.dtype).reshape(dx.shape)
            ys = self.run(ins)
            h = ys[state_output]
            out.append(ys)
        return out, h

    def reset(self) -> None:
        """Reset TFLM variable tensors (stateful ops); explicit-state models carry state outside."""
        self._interp.reset()

    def arena_bytes(self) -> int:
        """Arena the TFLM allocator used on this (64-bit) host, from its allocation recording."""
        text = _capture_fd2(self._interp.print_allocations)
        m = _ARENA_RE.search(text)
        if not m:
            raise UnsupportedModel(f"{self.name}: TFLM printed no arena total: {text[:200]!r}")
        return int(m.group(1))
