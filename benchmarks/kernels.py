"""Benchmark: optimized per-core kernels vs the portable reference kernels (issue 8).

    .venv/bin/python benchmarks/kernels.py [--models dscnn,har,kws,ad] [--boards m4,m7,m0plus]
                                           [--opts=-O2,-Os]

Per model x board x kernels (portable, the core's optimized) x optimisation level: instructions
per inference of the firmware as shipped (exact, QEMU icount), instructions per MAC overall and
per layer type (from a second build with the per-layer hooks, whose calls shift gcc's register
allocation a little: "profiled" column), the model's own code bytes (.text of the generated C,
weights excluded), the firmware's code bytes, arena bytes, bit-exactness vs TFLM on every
inference, and the ratio to the portable kernels.
Then the figures against the issue's targets.

Models: the MLPerf-Tiny keyword-spotting DS-CNN at full width (conv 64 10x4 stride 2, four
depthwise-separable blocks of 64, average pool, FC 12; 49x10x1 int8, ~2.66 M MACs), built in
Keras here with random weights (weights do not change the counts), and the suites' har/kws/ad
int8 models. "m0plus" runs Cortex-M0+ code; the DS-CNN's 16 KB arena does not fit the micro:bit's
16 KB of RAM (nor ad's 290 KB of weights its 256 KB of flash), so for those the same
-mcpu=cortex-m0plus firmware runs on QEMU's MPS2 AN385
(Cortex-M3 core, 4 MB RAM) as board "m0plus-big": an ARMv6-M program executes the same
instruction stream there, so its instruction count is the same as on an M0.
A script, not a test: it prints figures and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.boards import Board, load_board  # noqa: E402
from harness.profile import Profile, profile_model  # noqa: E402
from harness.runner import generate_cached, run_model  # noqa: E402

CACHE = REPO / ".cache" / "bench"
# too big for the micro:bit (DS-CNN: 16 KB arena in 16 KB RAM; ad: 290 KB of weights in 256 KB flash)
BIG_FOR_MICROBIT = {"dscnn", "ad"}
SUITE_MODELS = {"har": "suites/har/artifacts/int8.tflite", "kws": "suites/kws/artifacts/int8.tflite",
                "ad": "suites/ad/artifacts/int8.tflite"}
TFLM = {  # the measurements of TFLM on the same QEMU machines, DS-CNN
    "cortex-m4": {"reference": 42.2e6, "cmsis-nn": 7.58e6},
    "cortex-m0plus": {"reference": 72.1e6, "cmsis-nn": 29.0e6},
    "arena": 22.8 * 1024,
}


def dscnn_model() -> Path:
    """The MLPerf-Tiny KWS DS-CNN (width 64), int8 with int8 I/O, random weights; cached."""
    out = CACHE / "dscnn64_int8.tflite"
    if out.is_file():
        return out
    import tensorflow as tf

    model = dscnn_keras(tf)
    rng = np.random.default_rng(0)

    def rep():
        for _ in range(32):
            yield [rng.standard_normal((1, 49, 10, 1)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(conv.convert())
    tmp.rename(out)
    return out


def dscnn_keras(tf):
    """The DS-CNN's Keras model (seeded random weights), before quantization."""
    tf.keras.utils.set_random_seed(0)
    L = tf.keras.layers
    x = inp = L.Input((49, 10, 1), batch_size=1)
    x = L.Conv2D(64, (10, 4), strides=2, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    for _ in range(4):
        x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = L.Conv2D(64, 1, use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.AveragePooling2D((25, 5))(x)
    x = L.Flatten()(x)
    x = L.Dense(12)(x)
    x = L.Softmax()(x)
    return tf.keras.Model(inp, x)


def bench_board(name: str) -> Board:
    if name == "m0plus-big":
        b = load_board("m3")
        return dataclasses.replace(b, name="m0plus-big", core="cortex-m0plus", fpu=None,
                                   description="Cortex-M0+ code on QEMU mps2-an385 (4 MB RAM)")
    return load_board(name)


def model_code_bytes(board: Board, model_dir: Path, opt: str) -> int:
    """.text bytes of the generated C alone (kernels + hil_model_invoke), weights excluded."""
    from elftools.elf.elffile import ELFFile

    from harness.firmware.build import COMMON_CFLAGS, find_compiler

    total = 0
    with tempfile.TemporaryDirectory() as d:
        for src in sorted(model_dir.glob("*.c")):
            obj = Path(d) / (src.stem + ".o")
            subprocess.run([find_compiler(), *board.cpu_flags(), *COMMON_CFLAGS, opt, f"-I{model_dir}", "-c",
                            str(src), "-o", str(obj)], check=True, capture_output=True)
            with obj.open("rb") as fh:
                total += sum(s["sh_size"] for s in ELFFile(fh).iter_sections() if s.name.startswith(".text"))
    return total


def shipping_run(path: Path, board: Board, opt: str, kern: str):
    """The whole-inference count of the firmware as shipped (no per-layer hooks: their calls in
    hil_model_invoke change its register allocation), on two random vectors, checked vs TFLM."""
    import json

    gm = generate_cached(path, None, None, None if kern == "portable" else board.core)
    nbytes = json.loads((gm.out_dir / "model.json").read_text())["input_bytes"]
    rng = np.random.default_rng(1)
    vectors = [rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes() for _ in range(2)]
    return run_model(path, board, vectors, opt=opt, target=kern)


def per_type(p: Profile, ksz: dict[int, int]) -> dict[str, float | None]:
    """insn/MAC per layer type: 1x1 conv, other conv, depthwise, FC."""
    groups: dict[str, list[int]] = {"conv1x1": [0, 0], "conv": [0, 0], "dw": [0, 0], "fc": [0, 0]}
    for lc in p.layers:
        key = {"DEPTHWISE_CONV_2D": "dw", "FULLY_CONNECTED": "fc"}.get(lc.op)
        if lc.op == "CONV_2D":
            key = "conv1x1" if ksz.get(lc.layer) == 1 else "conv"
        if key:
            groups[key][0] += lc.count
            groups[key][1] += lc.macs
    return {k: (c / m if m else None) for k, (c, m) in groups.items()}


def _conv_kernel_sizes(model: Path) -> dict[int, int]:
    """layer index -> k_h*k_w of CONV_2D layers (to tell 1x1 convolutions apart)."""
    from harness.codegen.ops import is_alias
    from harness.codegen.reader import read_tflite

    g = read_tflite(model)
    out, li = {}, 0
    for op in g.ops:
        if is_alias(op.opcode):
            continue
        if op.opcode == "CONV_2D":
            w = g.tensor(op.inputs[1])
            out[li] = int(w.shape[1] * w.shape[2])
        li += 1
    return out


def run(models: list[str], boards: list[str], opts: list[str]) -> list[dict]:
    rows = []
    for mname in models:
        path = dscnn_model() if mname == "dscnn" else REPO / SUITE_MODELS[mname]
        ksz = _conv_kernel_sizes(path)
        for bname in boards:
            if bname == "m0plus" and mname in BIG_FOR_MICROBIT:
                bname = "m0plus-big"
            board = bench_board(bname)
            for opt in opts:
                base = None
                for kern in ("portable", "board"):
                    p = profile_model(path, board, opt=opt, target=kern)
                    plain = shipping_run(path, board, opt, kern)
                    gm = generate_cached(path, None, None, None if kern == "portable" else board.core)
                    insn = plain.count_per_inference
                    row = {"model": mname, "board": bname, "kernels": p.target, "opt": opt, "insn": insn,
                           "insn_profiled": p.total, "macs": p.macs, "per_mac": insn / p.macs, **per_type(p, ksz),
                           "model_code": model_code_bytes(board, gm.out_dir, opt), "fw_code": p.code_bytes,
                           "arena": p.arena_bytes, "scratch": int(gm_scratch(gm)),
                           "bitexact": p.bitexact and plain.outputs == plain.reference,
                           "kind": p.kind}
                    if kern == "portable":
                        base = row
                    row["speedup"] = base["insn"] / row["insn"] if base else None
                    rows.append(row)
                    print(_fmt_row(row), flush=True)
    return rows


def gm_scratch(gm) -> int:
    import json

    return json.loads((Path(gm.out_dir) / "model.json").read_text()).get("scratch_bytes", 0)


HEAD = ("model", "board", "kernels", "opt", "insn/inf", "insn/MAC", "profiled", "1x1", "conv", "dw", "fc", "model code B",
        "fw code B", "arena B", "scratch B", "exact", "vs portable")


def _f(v: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def _fmt_row(r: dict) -> str:
    cells = (r["model"], r["board"], r["kernels"], r["opt"], f"{r['insn']:,}", _f(r["per_mac"]),
             f"{r['insn_profiled']:,}", _f(r["conv1x1"]),
             _f(r["conv"]), _f(r["dw"]), _f(r["fc"]), f"{r['model_code']:,}", f"{r['fw_code']:,}", f"{r['arena']:,}",
             f"{r['scratch']:,}", "yes" if r["bitexact"] else "NO", _f(r["speedup"], "{:.2f}x"))
    return " | ".join(cells)


def targets(rows: list[dict]) -> list[str]:
    out = []

    def pick(model: str, board_prefix: str, kernels_prefix: str, opt: str) -> dict | None:
        for r in rows:
            if (r["model"] == model and r["board"].startswith(board_prefix) and r["kernels"].startswith(kernels_prefix)
                    and r["opt"] == opt):
                return r
        return None

    m4 = pick("dscnn", "m4", "cortex", "-O2")
    if m4:
        out.append(f"DS-CNN on M4: {m4['per_mac']:.2f} insn/MAC (target <= 1.4; TFLM reference 15.9, CMSIS-NN 2.85) "
                   f"-> {'MET' if m4['per_mac'] <= 1.4 else 'NOT met'}; {m4['insn'] / 1e6:.2f} M insn vs CMSIS-NN 7.58 M")
    m0 = pick("dscnn", "m0plus", "cortex", "-O2")
    if m0:
        out.append(f"DS-CNN on M0+ code: {m0['per_mac']:.2f} insn/MAC (target <= 5; TFLM reference 27.1, CMSIS-NN 10.9) "
                   f"-> {'MET' if m0['per_mac'] <= 5 else 'NOT met'}")
    any_ds = m4 or m0
    if any_ds:
        lim = 0.6 * TFLM["arena"]
        out.append(f"DS-CNN arena: {any_ds['arena']:,} B + {any_ds['scratch']:,} B im2col scratch (target <= "
                   f"{lim:,.0f} B = 0.6 x TFLM's 22.8 KB) -> {'MET' if any_ds['arena'] + any_ds['scratch'] <= lim else 'NOT met'}")
    for board in ("m4", "m0plus"):
        har = pick("har", board, "cortex", "-Os")
        if har:
            out.append(f"HAR code at -Os on {board}: model {har['model_code']:,} B (target <= 4,096 B) -> "
                       f"{'MET' if har['model_code'] <= 4096 else 'NOT met'}; whole firmware .text {har['fw_code']:,} B")
    exact = all(r["bitexact"] for r in rows)
    out.append(f"bit-exact vs TFLM on every inference: {'yes' if exact else 'NO'}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="dscnn,har,kws,ad")
    ap.add_argument("--boards", default="m4,m7,m0plus")
    ap.add_argument("--opts", default="-O2,-Os")
    args = ap.parse_args(argv)
    print(" | ".join(HEAD))
    rows = run(args.models.split(","), args.boards.split(","), args.opts.split(","))
    print()
    for line in targets(rows):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
