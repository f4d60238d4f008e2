"""Compile and link inference firmware for a board, cached by content hash.

Why a content-hash cache: a suite run builds the same (board, model, flags) many times and
a rebuild costs seconds; the key covers every input that can change the ELF (sources,
headers, flags, board file, linker script, toolchain version), so a hit is always safe.
Cache entries appear atomically (built in a private temp dir, then renamed), so two
processes building the same key never see a half-written ELF.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.boards import Board, load_board
from harness.errors import BuildError, DoesNotFit, ToolchainError
from harness.firmware.footprint import does_not_fit, shortfalls
from harness.firmware.linker import RAM_OVERFLOW_MARK, linker_script
from harness.resources import data_dir

FIRMWARE_DIR = data_dir("firmware")
GCC = "arm-none-eabi-gcc"
INSTALL_HINT = "apt-get install -y --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi"
# Bump when the build recipe changes in a way the hashed inputs do not capture.
BUILD_SCHEMA = "3"  # 2: no build-dir name in the debug info; 3: nor the firmware/model dirs

COMMON_CFLAGS = (
    "-mthumb", "-masm-syntax-unified", "-ffreestanding", "-ffunction-sections",
    "-fdata-sections", "-g", "-Wall", "-Wextra",
)
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")
LIBS = ("-Wl,--start-group", "-lc", "-lm", "-lgcc", "-Wl,--end-group")
_OPT_RE = re.compile(r"^-O([0-3sgz]|fast)?$")
_DEFINE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HASHED_SUFFIXES = (".c", ".h", ".inc", ".S", ".s")


@dataclass(frozen=True)
class Firmware:
    """A built ELF and what it was built from. `cached` says whether this call compiled."""

    elf: Path
    map_file: Path
    board: Board
    key: str
    log: str
    cached: bool = False
    model_dir: Path | None = None
    opt: str = "-O2"

    @functools.cached_property
    def sha256(self) -> str:
        """sha256 of the ELF file: what a record carries and a flashed board or its twin ran."""
        return hashlib.sha256(self.elf.read_bytes()).hexdigest()


def cache_root() -> Path:
    """Where generated models and firmware builds are kept: `$HIL_CACHE_DIR`, else the user's cache
    directory (`$XDG_CACHE_HOME/tinyml-hil`, default `~/.cache/tinyml-hil`), never the harness's
    checkout, so a user's project and an installed harness work alike. Entries are keyed by
    content hash and written atomically, so projects and processes can share it."""
    env = os.environ.get("HIL_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "tinyml-hil"


def default_cache_dir() -> Path:
    """Firmware builds: `<cache_root()>/builds`."""
    return cache_root() / "builds"


def find_compiler() -> str:
    """Absolute path of arm-none-eabi-gcc, or ToolchainError saying what to install."""
    path = shutil.which(GCC)
    if path is None:
        raise ToolchainError(
            f"{GCC} not found on PATH; install it with: {INSTALL_HINT}", program=GCC, hint=INSTALL_HINT
        )
    return path


@functools.lru_cache(maxsize=8)
def _version_of(path: str, mtime_ns: int) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolchainError(f"{path} --version failed ({exc}); reinstall with: {INSTALL_HINT}", program=path) from exc
    return out.stdout.splitlines()[0].strip() if out.stdout else "unknown"


def toolchain_version(compiler: str | None = None) -> str:
    """First line of `arm-none-eabi-gcc --version` (part of every cache key)."""
    compiler = compiler or find_compiler()
    return _version_of(compiler, os.stat(compiler).st_mtime_ns)


def firmware_sources(board: Board, model_dir: Path, firmware_dir: Path = FIRMWARE_DIR) -> list[Path]:
    """Runtime + the board's UART and counter drivers + every `*.c` of the model dir."""
    runtime = sorted((firmware_dir / "runtime").glob("*.c"))
    if not runtime:
        raise BuildError(
            f"no runtime sources in {firmware_dir / 'runtime'} (expected firmware/runtime/*.c)",
            log="",
        )
    drivers = [firmware_dir / "uart" / f"{board.uart.kind}.c", firmware_dir / "counter" / f"{board.counter.kind}.c"]
    if board.clock is not None:
        drivers.append(firmware_dir / "clock" / f"{board.clock.chip}.c")
    for d in drivers:
        if not d.is_file():
            raise BuildError(
                f"board '{board.name}' needs {d} ({d.parent.name} kind '{d.stem}' from {board.path}), "
                "but it does not exist: write the driver or pick a supported kind in the board file",
                log="",
            )
    model = sorted(model_dir.glob("*.c"))
    if not model:
        raise BuildError(f"model dir {model_dir} has no *.c files (expected model.c implementing model.h)", log="")
    return runtime + drivers + model


def _c_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def board_defines(board: Board) -> dict[str, str]:
    """The HIL_* preprocessor defines the firmware runtime reads (see the board contract)."""
    return {
        "HIL_BOARD_NAME": _c_string(board.name),
        "HIL_CORE": _c_string(board.core),
        "HIL_CLOCK_HZ": str(board.clock_hz),
        "HIL_UART_BASE": f"{board.uart.base:#010x}u",
        "HIL_UART_BAUD": str(board.uart.baud),
        "HIL_COUNTER_KIND": _c_string(board.counter.kind),
        "HIL_COUNTER_BASE": f"{board.counter.base or 0:#010x}u",
        "HIL_COUNTER_HZ": str(board.counter.hz),
        "HIL_STACK_BYTES": str(board.stack_bytes),
        "HIL_SEMIHOSTING": "1" if board.emulated else "0",
        "HIL_UART_CLOCK_HZ": str(board.uart_clock_hz),
        **({"HIL_CLOCK_FULL": "1" if board.clock.source == "full" else "0"} if board.clock is not None else {}),
    }


def _user_defines(defines: Mapping[str, object] | Iterable[str] | None) -> list[str]:
    if defines is None:
        return []
    items: list[tuple[str, object]] = []
    if isinstance(defines, Mapping):
        items = list(defines.items())
    else:
        for d in defines:
            name, sep, raw = str(d).partition("=")
            items.append((name, raw if sep else None))
    flags = []
    for name, value in items:
        if not _DEFINE_NAME_RE.match(str(name)):
            raise BuildError(f"bad define name {name!r}: must be a C identifier", log="")
        if value is None or value is True:
            flags.append(f"-D{name}" if value is None else f"-D{name}=1")
        elif value is False:
            flags.append(f"-D{name}=0")
        else:
            flags.append(f"-D{name}={value}")
    return flags


def _hash_file(h: hashlib._Hash, label: str, path: Path) -> None:
    data = path.read_bytes()
    h.update(f"{label}\0{len(data)}\0".encode())
    h.update(data)


def _build_key(
    board: Board, sources: list[Path], firmware_dir: Path, model_dir: Path, cflags: list[str], ldflags: list[str],
    script: str, version: str,
) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"schema": BUILD_SCHEMA, "toolchain": version, "cflags": cflags, "ldflags": ldflags}).encode())
    h.update(script.encode())
    # The parsed board (covers boards built in code) and its file (covers everything else).
    # (The twin's platform does not change the ELF, and its absolute path would tie the key to the checkout.)
    h.update(repr(dataclasses.replace(board, path=Path("."), twin=None)).encode())
    if board.path.is_file():
        _hash_file(h, "board", board.path)
    inputs = set(sources)
    inputs.update(p for p in firmware_dir.rglob("*") if p.is_file() and p.suffix in (".h", ".inc"))
    inputs.update(p for p in model_dir.iterdir() if p.is_file() and p.suffix in _HASHED_SUFFIXES)
    for p in sorted(inputs):
        _hash_file(h, str(p), p)
    return h.hexdigest()


def _run(cmd: list[str], cwd: Path) -> tuple[int, str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, errors="replace")
    return proc.returncode, "$ " + " ".join(cmd) + "\n" + proc.stdout + proc.stderr


def _first_errors(log: str, limit: int = 6) -> str:
    # ld reports "undefined reference" / "multiple definition" without the word "error".
    keys = ("error", "undefined reference", "multiple definition", "will not fit", "overflowed")
    lines = [ln for ln in log.splitlines() if any(k in ln.lower() for k in keys) and not ln.startswith("$ ")]
    return "\n".join(lines[:limit]) or log.strip()[-1500:]


MEASURE_REGION_BYTES = 0x4000000  # 64 MiB: room to link firmware that does not fit, to measure it


def _measuring_board(board: Board) -> Board:
    """`board` with flash, RAM (and mailbox) large enough to link anything (flash stays below RAM,
    RAM below a mailbox region above it)."""
    flash = max(board.flash.size, min(MEASURE_REGION_BYTES, board.ram.origin - board.flash.origin))
    ram = max(board.ram.size, MEASURE_REGION_BYTES)
    mailbox = board.mailbox
    if mailbox is not None:
        if mailbox.origin > board.ram.origin:
            ram = max(board.ram.size, min(ram, mailbox.origin - board.ram.origin))
        mailbox = dataclasses.replace(mailbox, size=max(mailbox.size, min(MEASURE_REGION_BYTES, 2**32 - mailbox.origin)))
    return dataclasses.replace(board, flash=dataclasses.replace(board.flash, size=flash),
                               ram=dataclasses.replace(board.ram, size=ram), mailbox=mailbox)


def _raise_if_does_not_fit(log: str, board: Board, relink: Callable[[str], tuple[int, Path]]) -> None:
    """After a failed link: if the linker said a region overflowed, link again for a board with
    room to spare and raise DoesNotFit with each region's need, capacity, shortfall and largest
    symbols, measured from that ELF. (The linker's own "overflowed by N bytes" is 0 for RAM: the
    stack is pinned to the top of RAM, so .bss runs into it without leaving the region.)"""
    if not re.search(r"region `\w+' overflowed by \d+ bytes?", log) and RAM_OVERFLOW_MARK not in log:
        return
    rc, elf = relink(linker_script(_measuring_board(board)))
    short = shortfalls(elf, board) if rc == 0 else []
    if not short:  # cannot happen unless the linker counts differently: still no "0 bytes"
        raise DoesNotFit(
            f"firmware does not fit board '{board.name}' (flash {board.flash.size:,} B, RAM {board.ram.size:,} B) "
            f"but could not be measured:\n{_first_errors(log)}", region="unknown", log=log)
    err = does_not_fit("firmware", short, board)
    err.details["log"] = log
    raise err


def build_firmware(
    board: Board | str,
    model_dir: str | os.PathLike[str],
    *,
    opt: str = "-O2",
    defines: Mapping[str, object] | Iterable[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    firmware_dir: str | os.PathLike[str] | None = None,
) -> Firmware:
    """Build runtime + model for `board`; a second call with the same inputs compiles nothing.
    A twin builds its real board's ELF (the same cache entry, the same sha256)."""
    if not isinstance(board, Board):
        board = load_board(board)
    board = board.build_board
    model_path = Path(model_dir).resolve()
    if not model_path.is_dir():
        raise BuildError(f"model dir {model_path} does not exist", log="")
    if not _OPT_RE.match(opt):
        raise BuildError(f"bad optimisation level {opt!r}; use -O0, -O1, -O2, -O3, -Os, -Oz or -Og", log="")
    fw_dir = Path(firmware_dir).resolve() if firmware_dir is not None else FIRMWARE_DIR
    compiler = find_compiler()
    version = toolchain_version(compiler)
    sources = firmware_sources(board, model_path, fw_dir)

    cpu = board.cpu_flags()
    hil_defs = [f"-D{k}={v}" for k, v in board_defines(board).items()]
    cflags = [*cpu, *COMMON_CFLAGS, opt, *hil_defs, *_user_defines(defines),
              f"-I{fw_dir / 'include'}", f"-I{model_path}"]
    ldflags = [*cpu, *LINK_FLAGS, "-Wl,-Map=firmware.map", "-T", "firmware.ld"]
    script = linker_script(board)
    key = _build_key(board, sources, fw_dir, model_path, cflags, ldflags, script, version)

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    final = root / key
    if (final / "firmware.elf").is_file():
        return _firmware(final, board, key, model_path, opt, cached=True)

    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_dirs(root)
    tmp = root / f".tmp-{key[:16]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        (tmp / "firmware.ld").write_text(script)
        (tmp / "obj").mkdir()
        # Object paths are relative to the build dir (the compiler's cwd) to keep the log short.
        objects = [Path("obj") / f"{i:02d}-{src.parent.name}-{src.stem}.o" for i, src in enumerate(sources)]
        # The private build dir's name must not reach the debug info: the same inputs give the
        # same ELF bytes (and sha256) wherever and whenever they are built.
        # Nor may the firmware's or the generated model's location (a checkout, an installed wheel,
        # HIL_CACHE_DIR): a lab's hosts then build the same ELF from the same inputs.
        reproducible = [f"-ffile-prefix-map={tmp}=.", f"-ffile-prefix-map={fw_dir}=firmware",
                        f"-ffile-prefix-map={model_path}=model"]
        jobs = [[compiler, *cflags, *reproducible, "-c", str(src), "-o", str(obj)] for src, obj in zip(sources, objects)]
        with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
            results = list(pool.map(lambda cmd: _run(cmd, tmp), jobs))
        log = "".join(out for _, out in results)
        failed = [src for src, (rc, _) in zip(sources, results) if rc != 0]
        if failed:
            raise BuildError(
                f"compiling {', '.join(str(f) for f in failed)} for board '{board.name}' failed:\n{_first_errors(log)}",
                log=log, board=board.name, files=[str(f) for f in failed],
            )
        rc, out = _run([compiler, *ldflags, *map(str, objects), *LIBS, "-o", "firmware.elf"], tmp)
        log += out
        if rc != 0:
            def relink(measure_script: str) -> tuple[int, Path]:
                (tmp / "measure.ld").write_text(measure_script)
                flags = [f for f in ldflags if f != "-Wl,-Map=firmware.map"]
                flags[flags.index("firmware.ld")] = "measure.ld"
                code, _ = _run([compiler, *flags, *map(str, objects), *LIBS, "-o", "measure.elf"], tmp)
                return code, tmp / "measure.elf"

            _raise_if_does_not_fit(log, board, relink)
            raise BuildError(
                f"linking firmware for board '{board.name}' failed:\n{_first_errors(out)}",
                log=log, board=board.name,
            )
        (tmp / "build.log").write_text(log)
        manifest = {
            "key": key, "board": board.name, "board_file": str(board.path), "model_dir": str(model_path),
            "opt": opt, "toolchain": version, "cflags": cflags, "ldflags": ldflags,
            "sources": [str(s) for s in sources],
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        try:
            os.rename(tmp, final)
        except OSError:
            # Another process finished the same key first: its entry is complete, use it.
            if not (final / "firmware.elf").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            return _firmware(final, board, key, model_path, opt, cached=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _firmware(final, board, key, model_path, opt, cached=False)


STALE_TEMP_SECONDS = 3600


def _remove_stale_temp_dirs(root: Path) -> None:
    """Drop temp dirs left by builds that were killed (an hour old: surely not in progress)."""
    now = time.time()
    for d in root.glob(".tmp-*"):
        try:
            if now - d.stat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def _firmware(d: Path, board: Board, key: str, model_dir: Path, opt: str, *, cached: bool) -> Firmware:
    log_path = d / "build.log"
    log = log_path.read_text() if log_path.is_file() else ""
    return Firmware(elf=d / "firmware.elf", map_file=d / "firmware.map", board=board, key=key, log=log,
                    cached=cached, model_dir=model_dir, opt=opt)
