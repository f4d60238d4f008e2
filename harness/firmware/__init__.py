"""Firmware build (compile + link + content-hash cache) and footprint (ELF sections, symbols)."""

from harness.firmware.build import Firmware, build_firmware, default_cache_dir, toolchain_version
from harness.firmware.linker import linker_script

__all__ = ["Firmware", "build_firmware", "default_cache_dir", "linker_script", "toolchain_version"]
