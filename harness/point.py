"""One measured point: a model (one variant of a suite) run on one board, as numpy arrays.

This is what a user's own test gets from the `hil_model` fixture (and what the suite checks use):
the device's outputs beside the TFLM reference's, raw and dequantized, and everything measured.

    def test_top2(hil_model, hil_check):
        point = hil_model("model/wine_int8.tflite", x_test)   # x: float, quantized here
        top2 = (np.argsort(point.dequantized(), axis=1)[:, -2:] == y[:, None]).any(axis=1).mean()
        hil_check(point, top2_accuracy=float(top2))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.metrics.agreement import Agreement, agreeing_vectors, agreement
from harness.reference import TensorDetails, dequantize

if TYPE_CHECKING:
    from harness.firmware.footprint import Footprint
    from harness.runner import ModelRun


@dataclass(frozen=True)
class PointKey:
    """What a point is, independent of the test that looked at it: budgets, records and baselines
    are keyed by it (plus the board and the metric)."""

    suite: str
    model: str
    variant: str


@dataclass
class Point:
    """`key` run on `run.board`; `labels` and `data` are the test set's (when the point came from one)."""

    key: PointKey
    run: ModelRun
    labels: np.ndarray | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def _decode(self, raw: list[bytes], index: int) -> np.ndarray:
        details = self.run.output_details
        if not 0 <= index < len(details):
            raise IndexError(f"output {index}: the model has {len(details)} output(s)")
        d = details[index]
        offset = sum(x.nbytes for x in details[:index])
        shape = d.shape[1:] if len(d.shape) > 1 and d.shape[0] == 1 else d.shape
        return np.stack([np.frombuffer(o, d.dtype, int(np.prod(d.shape)), offset).reshape(shape) for o in raw])

    def outputs(self, index: int = 0) -> np.ndarray:
        """Output tensor `index` of every vector, (N, ...) in its raw dtype (batch axis of 1 dropped)."""
        return self._decode(self.run.outputs, index)

    def reference(self, index: int = 0) -> np.ndarray:
        """The TFLM reference's output `index` for the same vectors, like `outputs`."""
        return self._decode(self.run.reference, index)

    def dequantized(self, index: int = 0) -> np.ndarray:
        """Output `index` in real units (float64): (q - zero_point) * scale; float outputs as they are."""
        return dequantize(self.outputs(index), self.output_details[index], np.float64)

    @property
    def output_details(self) -> list[TensorDetails]:
        return self.run.output_details

    def agreement(self) -> Agreement:
        """Device vs reference over every output: a vector agrees when all its outputs do (integer:
        bit-exact; float: within the harness's tolerance)."""
        n = len(self.run.outputs)
        ok = np.ones(n, bool)
        parts = []
        for i in range(len(self.output_details)):
            dev, ref = self.outputs(i).reshape(n, -1), self.reference(i).reshape(n, -1)
            parts.append(agreement(dev, ref))
            ok &= agreeing_vectors(dev, ref)
        return Agreement(vectors=n, matching_vectors=int(ok.sum()),
                         elements=sum(p.elements for p in parts),
                         mismatched_elements=sum(p.mismatched_elements for p in parts),
                         max_abs_diff=max((p.max_abs_diff for p in parts), default=0.0))

    @property
    def exact_outputs(self) -> bool:
        """True when every output tensor is an integer tensor (so agreement means bit-exact)."""
        return all(d.dtype.kind in "iu" for d in self.output_details)

    # The measurements, so a custom test needs nothing but the point.
    @property
    def count_per_inference(self) -> int | None:
        return self.run.count_per_inference

    @property
    def count_kind(self) -> str:
        return self.run.count_kind

    @property
    def footprint(self) -> Footprint:
        return self.run.footprint

    def measurements(self) -> dict[str, Any]:
        """Count, flash, RAM and stack, named as budgets name them."""
        run = self.run
        return {f"{run.count_kind}_per_inference": run.count_per_inference, "flash_bytes": run.footprint.flash,
                "ram_bytes": run.footprint.ram_total, "stack_bytes": run.stack_high_water}
