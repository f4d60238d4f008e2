"""Fixtures for the code generator tests: cached quantized models and a work dir per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cg_models


@pytest.fixture(scope="session")
def tflite_model():
    """tflite_model(builder, quant="int8", float_io=False) -> Path of the cached .tflite."""

    def get(builder: str, quant: str = "int8", float_io: bool = False, **params) -> Path:
        return cg_models.model_path(builder, quant, float_io=float_io, **params)

    return get
