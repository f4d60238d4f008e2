"""TinyML hardware-in-the-loop test and benchmarking harness.

The public API is `__all__` below: what a user's test or script imports (`from harness import
load_board, run_model, PointKey`). Names are imported on first use, so `import harness` stays
cheap (the model runner pulls in the TFLM reference runtime). Everything else is internal and
may change.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Board": "harness.boards",
    "load_board": "harness.boards",
    "list_boards": "harness.boards",
    "Count": "harness.counts",
    "COUNT_KINDS": "harness.counts",
    "Device": "harness.device",
    "open_device": "harness.device",
    "ModelRun": "harness.runner",
    "StateWiring": "harness.runner",
    "run_model": "harness.runner",
    "Point": "harness.point",
    "PointKey": "harness.point",
    "SuiteSpec": "harness.suite_file",
    "load_suite": "harness.suite_file",
    "Backend": "harness.backends",
    "Capabilities": "harness.backends",
    "register_backend": "harness.backends",
    **{name: "harness.errors" for name in (
        "HilError", "ConfigError", "ToolchainError", "BuildError", "InvalidModel", "UnsupportedModel", "DoesNotFit",
        "BootError", "ProtocolError", "DeviceTimeout", "DeviceFault", "DeviceError", "EmulatorDied",
        "BudgetExceeded")},
}

__all__ = [  # a literal list, so linters and IDEs read it; tests check it equals _EXPORTS
    "__version__",
    "Board", "load_board", "list_boards",
    "Count", "COUNT_KINDS", "Device", "open_device",
    "ModelRun", "StateWiring", "run_model", "Point", "PointKey", "SuiteSpec", "load_suite",
    "Backend", "Capabilities", "register_backend",
    "HilError", "ConfigError", "ToolchainError", "BuildError", "InvalidModel", "UnsupportedModel", "DoesNotFit",
    "BootError", "ProtocolError", "DeviceTimeout", "DeviceFault", "DeviceError", "EmulatorDied", "BudgetExceeded",
]

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and IDEs
    from harness.backends import Backend, Capabilities, register_backend
    from harness.boards import Board, list_boards, load_board
    from harness.counts import COUNT_KINDS, Count
    from harness.device import Device, open_device
    from harness.errors import (
        BootError,
        BudgetExceeded,
        BuildError,
        ConfigError,
        DeviceError,
        DeviceFault,
        DeviceTimeout,
        DoesNotFit,
        EmulatorDied,
        HilError,
        InvalidModel,
        ProtocolError,
        ToolchainError,
        UnsupportedModel,
    )
    from harness.point import Point, PointKey
    from harness.runner import ModelRun, StateWiring, run_model
    from harness.suite_file import SuiteSpec, load_suite


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
