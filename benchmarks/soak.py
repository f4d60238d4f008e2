"""Soak: 10,000 inferences on one emulated board, nothing drifts.

One firmware (the har int8 model, generated and built the way `harness.runner` does it), one
QEMU process, one link. Every inference of test vector i must give the same output bytes and
the same instruction count as the first inference of vector i (and the first pass must be
bit-exact with the TFLM reference); the device's own invoke counter must match ours, no frame
may be retried, and the host's RSS must stay flat (printed at start, middle and end).

    .venv/bin/python benchmarks/soak.py [--board m4] [--inferences 10000] [--variant int8]

Measured (m4, har int8, shared 2-core host under heavy load): 10,000 inferences in 784 s
(12.8 vectors/s), outputs and counts (205,820..206,546 instructions per vector) identical
throughout, 0 bad frames, 0 retries, host RSS 49,580 kB at start, middle and end.

Exit status 1 if anything drifted. Why a script and not a test: it takes minutes and its
figures (vectors/s, RSS) are measurements, not assertions about behaviour.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from harness.boards import load_board  # noqa: E402
from harness.device import open_device  # noqa: E402
from harness.firmware.build import build_firmware  # noqa: E402
from harness.reference import Reference  # noqa: E402
from harness.runner import generate_cached  # noqa: E402

HAR = ROOT / "suites" / "har" / "artifacts"


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size from /proc (kB), of this process or of the emulator."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="m4")
    ap.add_argument("--inferences", type=int, default=10_000)
    ap.add_argument("--variant", default="int8")
    args = ap.parse_args()

    board = load_board(args.board)
    model = HAR / f"{args.variant}.tflite"
    with np.load(HAR / "test.npz") as d:
        vectors = [v.tobytes() for v in d[f"x_{args.variant}"]]
    reference = [Reference(model).run_raw(x) for x in vectors]
    gm = generate_cached(model, name=f"har_{args.variant}")
    fw = build_firmware(board, gm.out_dir)
    print(f"soak: {model.relative_to(ROOT)} on board '{board.name}' ({board.core}), {len(vectors)} distinct vectors, "
          f"{args.inferences} inferences; elf {fw.elf}")

    first_out: list[bytes | None] = [None] * len(vectors)
    first_count: list[int | None] = [None] * len(vectors)
    drift: list[str] = []
    rss: list[tuple[str, int, int]] = []
    total_insns = 0
    half = args.inferences // 2
    with open_device(board, fw.elf, timeout=30, expected_hash=gm.sha256) as dev:
        qemu_pid = dev.backend.process.pid
        gc.collect()
        rss.append(("start", rss_kib(), rss_kib(qemu_pid)))
        t0 = time.perf_counter()
        for n in range(args.inferences):
            i = n % len(vectors)
            out, count = dev.invoke(vectors[i])
            total_insns += count.value
            if first_out[i] is None:
                first_out[i], first_count[i] = out, count.value
                if out != reference[i]:
                    drift.append(f"inference {n}: vector {i} differs from the TFLM reference")
            elif out != first_out[i] or count.value != first_count[i]:
                drift.append(f"inference {n}: vector {i} gave output/count {out.hex()[:16]}…/{count.value}, "
                             f"first time {first_out[i].hex()[:16]}…/{first_count[i]}")
            if n + 1 == half:
                gc.collect()
                rss.append(("middle", rss_kib(), rss_kib(qemu_pid)))
        elapsed = time.perf_counter() - t0
        gc.collect()
        rss.append(("end", rss_kib(), rss_kib(qemu_pid)))
        stats = dev.stats()
        retried = dev.session.retried

    print(f"{'point':8} {'host RSS kB':>12} {'qemu RSS kB':>12}")
    for label, host, emu in rss:
        print(f"{label:8} {host:12,d} {emu:12,d}")
    growth = rss[-1][1] - rss[1][1]
    print(f"host RSS growth middle->end: {growth:+,d} kB")
    print(f"inferences: {args.inferences}  wall: {elapsed:.1f} s  vectors/s: {args.inferences / elapsed:.1f}  "
          f"ms/vector: {1e3 * elapsed / args.inferences:.2f}")
    print(f"instructions: total {total_insns:,d}, per inference {min(first_count):,d}..{max(first_count):,d}")
    print(f"device: invokes={stats.invokes} bad_frames={stats.bad_frames} stack high-water "
          f"{stats.stack_high_water}/{stats.stack_size} B; host retries={retried}")
    if stats.invokes != args.inferences:
        drift.append(f"device counted {stats.invokes} invokes, host sent {args.inferences}")
    if stats.bad_frames or retried:
        drift.append(f"{stats.bad_frames} bad frame(s) on the device, {retried} host retries")
    if growth > 4096:
        drift.append(f"host RSS grew by {growth} kB between middle and end")
    for line in drift[:20]:
        print("DRIFT:", line)
    print("soak:", "FAILED" if drift else "OK (identical outputs and counts throughout)")
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main())
