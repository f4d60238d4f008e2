"""Link throughput over both transports, and emulator start-up, on real QEMU with the echo firmware.

Prints two tables. Per board: emulator start-to-BOOT time (Popen to the BOOT frame decoded),
HELLO round trip, and the host CPU an idle emulator burns while the firmware waits. Per board,
transport (uart: LOAD/READ frames; shared: the memory transport through QEMU's machine RAM
shared with the host as a mapped file, QEMU's default on boards with a shared mailbox;
gdbstub: through QEMU's gdbstub m/M packets, the default elsewhere; semihosting: with firmware
built with -DHIL_MAILBOX_FILES=1 reading and writing host files; on Renode boards socket: through
a server inside Renode on a unix socket, Renode's default, and monitor: through monitor sysbus
commands; shared and socket ring the doorbell in memory, the others MEM_INVOKE on the UART) and
input size (490 B, and 27,648 B = a
96x96x3 visual-wake-words image, where the board's RAM holds it): vectors per second through the
device API, and ms per vector split into load / invoke / read.

    .venv/bin/python benchmarks/link_throughput.py [--boards m4 m0plus] [--vectors 100] [--starts 5] [--poll]
    .venv/bin/python benchmarks/link_throughput.py --boards m4-renode m0plus-renode nucleo-l432kc@twin --vectors 100

--poll builds the firmware with -DHIL_UART_SLEEP=0 (busy polling instead of WFI) for comparison.
Renode's UART rows run at most 20 vectors (a 490 B vector takes 40-110 ms there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # _device_util.echo_reference: what the echo model computes

from _device_util import echo_reference  # noqa: E402

from harness.backends.qemu import QemuBackend  # noqa: E402
from harness.backends.renode import RenodeBackend  # noqa: E402
from harness.boards import load_board  # noqa: E402
from harness.device import open_device  # noqa: E402
from harness.errors import DoesNotFit  # noqa: E402
from harness.firmware.build import build_firmware  # noqa: E402
from harness.protocol import DeviceSession  # noqa: E402
from harness.runner import check_model_fits  # noqa: E402

ECHO = ROOT / "firmware" / "testmodels" / "echo"
SIZES = (490, 96 * 96 * 3)
WRAP_HANDLER = 64  # instructions, as tests/test_counts_64bit.py


def start_to_boot(board_name: str, elf: Path) -> float:
    board = load_board(board_name)
    t0 = time.perf_counter()
    with QemuBackend(board, elf) as backend:
        session = DeviceSession(backend.start(), elf=elf)
        session.wait_boot(10.0)
        return time.perf_counter() - t0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def board_row(name: str, elf: Path, starts: int) -> str:
    boots = [start_to_boot(name, elf) * 1e3 for _ in range(starts)]
    with QemuBackend(load_board(name), elf) as backend:
        s = DeviceSession(backend.start(), elf=elf)
        s.wait_boot(10.0)
        assert backend.process is not None
        c0 = cpu_seconds(backend.process.pid)
        time.sleep(1.0)
        idle = (cpu_seconds(backend.process.pid) - c0) * 100
        rtts = []
        for _ in range(20):
            t = time.perf_counter()
            s.hello()
            rtts.append((time.perf_counter() - t) * 1e3)
    return f"{name:8} {statistics.median(boots):15.1f} {statistics.median(rtts):13.2f} {idle:10.0f}"


def transport_row(name: str, elf: Path, transport: str, size: int, vectors: int) -> str:
    """Vectors back to back through Device.transport's load / run / read_output (what
    Device.invoke does), as an accuracy run streams them; each output checked against the echo
    model's (it depends on the call index since RESET_STATE), every count the same. The first
    vector after a UART command is timed apart: the device then sleeps on the UART and the
    memory doorbell's wake byte crosses it (once per run; on Renode 10-200 ms, which would
    otherwise dominate a short row)."""
    x = bytes(i * 7 % 256 for i in range(size))
    load_t = run_t = read_t = first_t = 0.0
    outs, counts = [], set()
    board = load_board(name)
    memory = False if transport == "uart" else transport
    backend = (QemuBackend(board, elf, memory=memory) if board.backend == "qemu"
               else RenodeBackend(board, elf, memory=memory, start_timeout=120.0))
    with open_device(board, elf, transport="memory" if memory else "uart", backend=backend,
                     boot_timeout=60.0) as dev:
        link = dev.transport
        dev.invoke(x)  # warm-up (opens the files / connects the gdbstub)
        dev.reset_state()
        for i in range(vectors + 1):
            if i == 1:
                first_t, load_t, run_t, read_t = load_t + run_t + read_t, 0.0, 0.0, 0.0
            t = time.perf_counter()
            link.load(x)
            t2 = time.perf_counter()
            _, ticks, n = link.run()
            t3 = time.perf_counter()
            out = link.read_output(n)
            t4 = time.perf_counter()
            outs.append(out)
            counts.add(dev.backend.ticks_to_count(ticks))
            load_t += t2 - t
            run_t += t3 - t2
            read_t += t4 - t3
    # a timer wrap inside an inference adds its interrupt's instructions (<= 64) to that count
    if outs != [echo_reference(x, i) for i in range(vectors + 1)] or max(counts) - min(counts) > WRAP_HANDLER:
        raise SystemExit(f"{name} {transport}: wrong outputs, or counts that differ, across {vectors} vectors")
    total = load_t + run_t + read_t
    return (f"{name:8} {transport:11} {size:7d} {vectors / total:10.1f} {total / vectors * 1e3:10.2f} "
            f"{load_t / vectors * 1e3:8.2f} {run_t / vectors * 1e3:9.2f} {read_t / vectors * 1e3:8.2f} "
            f"{first_t * 1e3:8.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--boards", nargs="+", default=["m4", "m0plus"])
    ap.add_argument("--vectors", type=int, default=100)
    ap.add_argument("--uart-vectors-27k", type=int, default=5, help="27 KB vectors over the UART (~1 s each)")
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--transports", nargs="+", default=["uart", "shared", "gdbstub", "semihosting"],
                    choices=["uart", "shared", "gdbstub", "semihosting"],
                    help="QEMU boards (shared where the board has it)")
    ap.add_argument("--renode-transports", nargs="+", default=["uart", "socket"],
                    choices=["uart", "socket", "monitor"], help="Renode boards and twins")
    ap.add_argument("--poll", action="store_true", help="build with -DHIL_UART_SLEEP=0")
    args = ap.parse_args()
    defines = {"HIL_UART_SLEEP": 0} if args.poll else {}

    print(f"{'board':8} {'start->BOOT ms':>15} {'HELLO rtt ms':>13} {'idle cpu %':>10}")
    for name in args.boards:
        if load_board(name).backend != "qemu":
            continue
        print(board_row(name, build_firmware(name, ECHO, defines=defines or None).elf, args.starts))
    print(f"\n{'board':8} {'transport':11} {'bytes':>7} {'vectors/s':>10} {'ms/vector':>10} "
          f"{'load ms':>8} {'invoke ms':>9} {'read ms':>8} {'1st ms':>8}")
    for name in args.boards:
        board = load_board(name)
        transports = args.transports if board.backend == "qemu" else args.renode_transports
        if board.backend == "qemu" and board.mailbox is None:
            transports = [t for t in transports if t != "shared"]
        for size in SIZES:
            for transport in transports:
                files = {"HIL_MAILBOX_FILES": 1} if transport == "semihosting" else {}
                try:
                    fw = build_firmware(name, ECHO, defines={**defines, **files, "HIL_ECHO_BYTES": size})
                    check_model_fits(fw.elf, board, ECHO)
                except DoesNotFit:
                    print(f"{name:8} {'-':11} {size:7d} (does not fit the board's RAM)")
                    break
                n = args.vectors if board.backend == "qemu" or transport != "uart" else min(args.vectors, 20)
                if transport == "uart" and size > 4096:
                    n = args.uart_vectors_27k
                print(transport_row(name, fw.elf, transport, size, n), flush=True)
    print(f"(medians of {args.starts} starts and 20 HELLOs; UART wait: {'poll' if args.poll else 'WFI'}; "
          "vectors back to back after a first one timed apart (1st ms: it wakes the device after RESET_STATE), "
          "outputs checked, counts equal within a wrap interrupt across each row's vectors; "
          f"host load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
