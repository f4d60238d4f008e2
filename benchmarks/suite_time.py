"""Whole-suite wall time, cold (empty build and codegen caches) and warm (everything cached).

    .venv/bin/python benchmarks/suite_time.py [--suite suites/har] [--board m4]

Prints both times and the ratio. A figure, not a test: wall time depends on the host.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_suite(suite: str, board: str, cache: Path) -> tuple[float, str]:
    env = dict(os.environ, HIL_CACHE_DIR=str(cache))
    cmd = [sys.executable, "-m", "pytest", suite, f"--board={board}", "-q", "-p", "no:cacheprovider", "--no-results"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}{out.stderr[-2000:]}")
    return elapsed, out.stdout.strip().splitlines()[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="suites/har")
    ap.add_argument("--board", default="m4")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hil-suite-time-") as tmp:
        cold, summary = run_suite(args.suite, args.board, Path(tmp))
        warm, _ = run_suite(args.suite, args.board, Path(tmp))
    print(f"{args.suite} on {args.board}: {summary}")
    print(f"cold (codegen + compile + run): {cold:6.1f} s")
    print(f"warm (cached builds, run only): {warm:6.1f} s   ({cold / warm:.1f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
