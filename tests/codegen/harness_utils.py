"""Shared test helpers: generate C for a .tflite, build it with the host compiler, run a batch
of inputs through it in one process, and compare with the TFLM Python runtime."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from harness.codegen import generate

APP_C = r"""
/* Test driver: reads whole input records from stdin, writes output records to stdout. */
#include <stdio.h>
#include <stdint.h>
#include "model.h"

static uint8_t in_buf[HIL_MODEL_INPUT_BYTES + 8] __attribute__((aligned(8)));
static uint8_t out_buf[HIL_MODEL_OUTPUT_BYTES + 8] __attribute__((aligned(8)));

int main(void)
{
    while (fread(in_buf, 1, HIL_MODEL_INPUT_BYTES, stdin) == HIL_MODEL_INPUT_BYTES) {
        if (hil_model_invoke(in_buf, out_buf) != 0) {
            return 3;
        }
        fwrite(out_buf, 1, HIL_MODEL_OUTPUT_BYTES, stdout);
    }
    return 0;
}
"""

NP = {"int8": np.int8, "int16": np.int16, "float32": np.float32, "int32": np.int32, "uint8": np.uint8}


def cc() -> str:
    for c in ("cc", "gcc"):
        if shutil.which(c):
            return c
    raise RuntimeError("no host C compiler")


def build(tflite: Path, work: Path, extra_flags: tuple[str, ...] = (), target: str | None = None) -> tuple[Path, dict]:
    """Generate C for `tflite` (optimized kernels of `target`, default portable) into work/gen and
    build work/run with the host compiler. Returns (exe, manifest)."""
    gen = work / "gen"
    generate(tflite, gen, target=target)
    (work / "app.c").write_text(APP_C)
    exe = work / "run"
    srcs = sorted(str(p) for p in gen.glob("*.c"))
    cmd = [cc(), "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", *extra_flags, "-I", str(gen), *srcs,
           str(work / "app.c"), "-o", str(exe), "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, f"host build failed:\n{' '.join(cmd)}\n{r.stderr}"
    return exe, json.loads((gen / "model.json").read_text())


def make_inputs(manifest: dict, n_random: int, seed: int = 0) -> list[list[np.ndarray]]:
    """Random records plus edge cases: all min, all max, all zero point, alternating min/max."""
    rng = np.random.default_rng(seed)
    records: list[list[np.ndarray]] = []
    specs = manifest["inputs"]

    def each(fn):
        return [fn(s, NP[s["dtype"]], tuple(s["shape"])) for s in specs]

    def lim(dt):
        return (np.iinfo(dt).min, np.iinfo(dt).max) if np.issubdtype(dt, np.integer) else (-1.0, 1.0)

    for _ in range(n_random):
        records.append(each(lambda s, dt, sh: (rng.integers(lim(dt)[0], lim(dt)[1], sh, endpoint=True).astype(dt)
                                              if np.issubdtype(dt, np.integer) else rng.uniform(-1.5, 1.5, sh).astype(dt))))
    records.append(each(lambda s, dt, sh: np.full(sh, lim(dt)[0], dtype=dt)))
    records.append(each(lambda s, dt, sh: np.full(sh, lim(dt)[1], dtype=dt)))
    records.append(each(lambda s, dt, sh: np.full(sh, s["zero_point"] or 0, dtype=dt)))
    records.append(each(lambda s, dt, sh: np.resize(np.array([lim(dt)[0], lim(dt)[1]], dtype=dt), sh)))
    return records


def run_c(exe: Path, manifest: dict, records: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    blob = b"".join(a.tobytes() for rec in records for a in rec)
    r = subprocess.run([str(exe)], input=blob, capture_output=True, timeout=120)
    assert r.returncode == 0, f"generated model exited {r.returncode}: {r.stderr.decode()[:500]}"
    out_bytes = manifest["output_bytes"]
    assert len(r.stdout) == out_bytes * len(records)
    results = []
    for k in range(len(records)):
        chunk = r.stdout[k * out_bytes:(k + 1) * out_bytes]
        results.append([np.frombuffer(chunk, dtype=NP[o["dtype"]], count=int(np.prod(o["shape"])), offset=o["offset"])
                        .reshape(o["shape"]) for o in manifest["outputs"]])
    return results


def run_tflm(tflite: Path, records: list[list[np.ndarray]], n_out: int) -> list[list[np.ndarray]]:
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_file(str(tflite))
    results = []
    for rec in records:
        for k, a in enumerate(rec):
            interp.set_input(a, k)
        interp.invoke()
        results.append([np.array(interp.get_output(k)) for k in range(n_out)])
    return results


def compare(tflite: Path, work: Path, n_random: int = 20, seed: int = 0, atol: float = 0.0,
            target: str | None = None) -> dict:
    """Build, run random + edge-case inputs, and assert agreement with TFLM (bit-exact if atol=0).
    `target` selects a core's optimized kernels (run on the host through their portable C)."""
    exe, manifest = build(tflite, work, target=target)
    records = make_inputs(manifest, n_random, seed)
    got = run_c(exe, manifest, records)
    want = run_tflm(tflite, records, len(manifest["outputs"]))
    mismatches = []
    for k, (g, w) in enumerate(zip(got, want)):
        assert len(g) == len(w)
        for j, (a, b) in enumerate(zip(g, w)):
            b = b.reshape(a.shape)
            if atol == 0.0:
                bad = int(np.count_nonzero(a != b))
            else:
                bad = int(np.count_nonzero(~np.isclose(a, b, atol=atol, rtol=0)))
            if bad:
                diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
                mismatches.append(f"record {k} output {j}: {bad}/{a.size} differ, max |diff| {diff.max()}")
    assert not mismatches, f"{tflite.name}: generated C disagrees with TFLM:\n" + "\n".join(mismatches[:10])
    return manifest
