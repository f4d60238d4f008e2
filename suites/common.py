"""What every suite's tests share: its golden artifacts, its device run, its budget checks.

A suite's test module sets `SUITE`, builds the `point` fixture with `point_fixture(SUITE)` and
writes one test per assertion (bit-exact, task metric, count, footprint), each calling
`hil_check(point.key, point.run, metric=value)`, so every check is its own pytest item and its
own record in results/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from harness.pytest_plugin import PointKey
from harness.reference import pack_vectors

SUITES_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Artifacts:
    """A suite's committed golden files: `<variant>.tflite`, `test.npz`, `meta.json`."""

    suite: str

    @property
    def dir(self) -> Path:
        return SUITES_DIR / self.suite / "artifacts"

    @cached_property
    def meta(self) -> dict:
        return json.loads((self.dir / "meta.json").read_text())

    @cached_property
    def data(self) -> dict[str, np.ndarray]:
        with np.load(self.dir / "test.npz") as npz:
            return {k: npz[k] for k in npz.files}

    @property
    def model_name(self) -> str:
        return self.meta["model"]

    def variants(self) -> list[str]:
        return [v for v in self.meta["variants"] if (self.dir / f"{v}.tflite").exists()]

    def model_path(self, variant: str) -> Path:
        return self.dir / f"{variant}.tflite"

    def inputs(self, variant: str) -> list[bytes]:
        """Raw input bytes per inference, already quantized for `variant` (model input order)."""
        x = self.data[f"x_{variant}"]
        if self.streaming:  # (streams, frames, ...) -> one inference per frame
            x = x.reshape(-1, *x.shape[2:])
        return pack_vectors([x])

    @property
    def streaming(self) -> bool:
        return self.meta["task"] == "streaming"

    def output_details(self, variant: str) -> list[dict]:
        return self.meta["variants"][variant]["outputs"]


@dataclass
class Point:
    """One suite × variant × board: its artifacts and what the device did."""

    key: PointKey
    artifacts: Artifacts
    variant: str
    run: object  # harness.runner.ModelRun

    def outputs(self, index: int = 0) -> np.ndarray:
        """Output tensor `index` of every inference, as (N, ...) in its declared dtype."""
        details = self.artifacts.output_details(self.variant)
        offset = sum(int(np.prod(d["shape"])) * np.dtype(d["dtype"]).itemsize for d in details[:index])
        d = details[index]
        count = int(np.prod(d["shape"]))
        return np.stack([np.frombuffer(o, d["dtype"], count, offset) for o in self.run.outputs])

    def dequantized(self, index: int = 0) -> np.ndarray:
        d = self.artifacts.output_details(self.variant)[index]
        y = self.outputs(index).astype(np.float64)
        return y if d["dtype"] == "float32" else (y - d["zero_point"]) * d["scale"]


def point_fixture(suite: str, variants: list[str] | None = None,
                  run_options: Callable[[Artifacts, str], dict] | None = None):  # noqa: ANN201
    """A module-scoped fixture running `suite` for each variant on the session's board.

    `run_options(artifacts, variant)` gives extra `run_model` arguments (streaming state)."""
    art = Artifacts(suite)
    params = variants if variants is not None else art.variants()

    @pytest.fixture(scope="module", params=params)
    def point(request: pytest.FixtureRequest, board, hil) -> Point:  # noqa: ANN001
        variant = request.param
        key = PointKey(suite, art.model_name, variant)
        extra = run_options(art, variant) if run_options else {}
        run = hil.run_model(key, art.model_path(variant), art.inputs(variant), board, **extra)
        return Point(key, art, variant, run)

    return point


def check_footprint(point: Point, hil_check) -> None:  # noqa: ANN001
    run = point.run
    hil_check(point.key, run, flash_bytes=run.footprint.flash, ram_bytes=run.footprint.ram_total,
              stack_bytes=run.stack_high_water)


def check_count(point: Point, hil_check) -> None:  # noqa: ANN001
    run = point.run
    assert run.count_per_inference and run.count_per_inference > 0, "the device reported no count"
    hil_check(point.key, run, **{f"{run.count_kind}_per_inference": run.count_per_inference})


def check_bitexact(point: Point, hil_check) -> None:  # noqa: ANN001
    hil_check(point.key, point.run, bitexact=point.run.bitexact)
