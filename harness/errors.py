"""The failure taxonomy shared by the plugin, the CLI and the results.

Every way a HIL run breaks maps to exactly one class here, and each class has a
`status` string that is recorded in results and JUnit. Messages say what failed,
where, and what to do.
"""

from __future__ import annotations


class HilError(Exception):
    """Base of every harness failure. `status` names the class in results."""

    status = "error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(HilError):
    """A board, budget or suite file is wrong: names the file, line and field."""

    status = "config"


class ToolchainError(HilError):
    """A required program (compiler, emulator) is missing: says what to install."""

    status = "toolchain"


class BuildError(HilError):
    """Compiling or linking failed; `details['log']` keeps the compiler output."""

    status = "build"


class InvalidModel(HilError):
    """The model file is unreadable, truncated or not a TFLite flatbuffer: names the file."""

    status = "invalid-model"


class UnsupportedModel(HilError):
    """The code generator cannot handle the model: names the model, op and index."""

    status = "unsupported"


class DoesNotFit(HilError):
    """The firmware does not fit the board's flash or RAM (with the numbers)."""

    status = "does-not-fit"


class BootError(HilError):
    """The device did not announce itself within the boot timeout."""

    status = "boot"


class ProtocolError(HilError):
    """A corrupt, truncated, out-of-sequence or unexpected frame."""

    status = "protocol"


class DeviceTimeout(HilError):
    """The device stopped answering; names the last command sent."""

    status = "timeout"


class DeviceFault(HilError):
    """The firmware faulted (HardFault etc.); `details` holds the decoded registers."""

    status = "fault"


class DeviceError(HilError):
    """The firmware reported an error frame (bad command, model error)."""

    status = "device-error"


class EmulatorDied(HilError):
    """The emulator process exited unexpectedly (not through a firmware fault)."""

    status = "emulator-died"


class BudgetExceeded(HilError):
    """A measurement missed its budget; the message is a measured-vs-budget table."""

    status = "budget"
