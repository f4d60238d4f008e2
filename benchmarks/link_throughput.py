"""Link throughput and emulator start-up, on real QEMU with the echo test firmware.

Prints, per board: emulator start-to-BOOT time (Popen to the BOOT frame decoded), HELLO round
trip, vectors per second for a 490-byte input (LOAD chunks + INVOKE + READ chunks), and the
host CPU an idle emulator burns while the firmware waits for the next command.

    .venv/bin/python benchmarks/link_throughput.py [--boards m4 m0plus] [--vectors 100] [--starts 5] [--poll]

--poll builds the firmware with -DHIL_UART_SLEEP=0 (busy polling instead of WFI) for comparison.
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

from harness.backends.qemu import QemuBackend  # noqa: E402
from harness.boards import load_board  # noqa: E402
from harness.firmware.build import build_firmware  # noqa: E402
from harness.protocol import DeviceSession  # noqa: E402


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", nargs="+", default=["m4", "m0plus"])
    ap.add_argument("--vectors", type=int, default=100)
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--poll", action="store_true", help="build with -DHIL_UART_SLEEP=0")
    args = ap.parse_args()
    defines = {"HIL_UART_SLEEP": 0} if args.poll else None

    print(f"{'board':8} {'start->BOOT ms':>15} {'HELLO rtt ms':>13} {'vectors/s':>10} {'ms/vector':>10} "
          f"{'load ms':>8} {'invoke ms':>9} {'read ms':>8} {'insns/inv':>10} {'idle cpu %':>10}")
    for name in args.boards:
        fw = build_firmware(name, ROOT / "firmware" / "testmodels" / "echo", defines=defines)
        starts = [start_to_boot(name, fw.elf) * 1e3 for _ in range(args.starts)]
        board = load_board(name)
        with QemuBackend(board, fw.elf) as backend:
            s = DeviceSession(backend.start(), elf=fw.elf)
            s.wait_boot(10.0)
            c0 = cpu_seconds(backend.process.pid)
            time.sleep(1.0)
            idle = (cpu_seconds(backend.process.pid) - c0) * 100
            rtts = []
            for _ in range(20):
                t = time.perf_counter()
                s.hello()
                rtts.append((time.perf_counter() - t) * 1e3)
            x = bytes(i * 7 % 256 for i in range(s.boot.input_bytes))
            s.invoke(x)  # warm-up
            load_t = run_t = read_t = 0.0
            seen = set()
            t_all = time.perf_counter()
            for _ in range(args.vectors):
                s.reset_state()  # echo is stateful: keep every output comparable
                t = time.perf_counter()
                s.load(x)
                t2 = time.perf_counter()
                _, ticks, n = s.run()
                t3 = time.perf_counter()
                out = s.read_output(n)
                t4 = time.perf_counter()
                seen.add((out, backend.ticks_to_count(ticks)))
                load_t += t2 - t
                run_t += t3 - t2
                read_t += t4 - t3
            elapsed = time.perf_counter() - t_all
            if len(seen) != 1:
                raise SystemExit(f"{name}: outputs or counts differed across {args.vectors} vectors: {len(seen)} variants")
            insns = backend.ticks_to_count(ticks) - backend.ticks_to_count(s.boot.overhead_ticks)
        n = args.vectors
        print(f"{name:8} {statistics.median(starts):15.1f} {statistics.median(rtts):13.2f} {n / elapsed:10.1f} "
              f"{elapsed / n * 1e3:10.2f} {load_t / n * 1e3:8.2f} {run_t / n * 1e3:9.2f} {read_t / n * 1e3:8.2f} "
              f"{insns:10d} {idle:10.0f}")
    print(f"(medians of {args.starts} starts and 20 HELLOs; {args.vectors} vectors of 490 bytes, "
          "max_payload 256: 2 LOADs + INVOKE + 2 READs (+ RESET_STATE) per vector, outputs and counts identical "
          f"throughout; UART wait: {'poll' if args.poll else 'WFI'}; "
          f"host load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
