"""Benchmark: the four MLPerf Tiny reference architectures on the QEMU boards (issue 18).

    .venv/bin/python benchmarks/mlperf_tiny.py [--models kws,vww,ic,ad] [--boards m0plus,m3,m4,m7]
                                               [--opt=-O2] [--quant int8|int16x8]

The trained files are not in the repository, so each model is built here from its published
layer list with seeded random weights and quantized int8 (per-channel weights, int8 I/O) by the
project's quantizer (harness.quant.variants.make_variant); weights do not change the counts:
- KWS DS-CNN: conv 64 10x4 stride 2, four depthwise-separable blocks of 64, average pool, FC 12
  (benchmarks/kernels.py's DS-CNN), 49x10x1 input;
- VWW MobileNetV1 width 0.25: conv 8 3x3 stride 2, 13 depthwise-separable blocks (16 .. 256
  channels, strides as MobileNetV1), average pool, FC 2, 96x96x3 input;
- IC ResNet-8: conv 16, three residual stacks (16, 32, 64 channels; the 32 and 64 stacks stride 2
  with a 1x1 projection shortcut and a residual ADD), average pool, FC 10, 32x32x3 input;
- AD autoencoder: FC 640 -> 128 x4 -> 8 -> 128 x4 -> 640.
Per model x board: instructions per inference of the shipping firmware (QEMU icount: exact
INSTRUCTIONS, not cycles), per MAC, the model's constants bytes (weights, biases, multipliers,
shifts, tables) against the portable build's, arena + scratch bytes, bit-exactness vs TFLM, and
the issue's targets against the best published MLPerf Tiny results (cycles = latency x clock).
Instructions are a lower bound on cycles on these in-order cores, so meeting a target is the
necessary condition for beating that result on silicon, not proof of it.
--quant int16x8: the same architectures quantized int16x8 (int16 activations, int8 weights; the
DSP cores' int16x8 kernels); the published results and targets are int8 ones and are not applied.
"m0plus" runs Cortex-M0+ code on QEMU's MPS2 AN385 (as kernels.py's "m0plus-big": the
micro:bit's 16 KB of RAM holds none of these arenas). A script, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernels import CACHE, bench_board, dscnn_keras, dscnn_model, shipping_run

from harness.runner import generate_cached

# best published MLPerf Tiny closed-division results (v1.1-v1.3) as cycles per inference, issue 18
PUBLISHED = {  # model: (Cortex-M4 cycles, engine), (Cortex-M0+ cycles, engine)
    "kws": ((5.18e6, "X-CUBE-AI 9.0"), (30.4e6, "Bosch HALE")),
    "vww": ((10.67e6, "X-CUBE-AI 9.0"), (90.5e6, "Bosch HALE")),
    "ic": ((19.8e6, "X-CUBE-AI 9.0"), (97.4e6, "Bosch HALE")),
    "ad": ((0.486e6, "Plumerai"), (2.62e6, "Bosch HALE")),
}
TARGET_FACTOR = {"m4": 0.8, "m0plus": 0.5}  # instructions <= factor x the published cycles
CONSTANTS_LIMIT = 1.05  # constants <= 1.05 x the portable build's


def _vww(tf):
    L = tf.keras.layers
    x = inp = L.Input((96, 96, 3), batch_size=1)

    def bn_relu(t):
        return L.ReLU(6.0)(L.BatchNormalization()(t))

    # He initialisation (fan-in 9 taps for the depthwise kernels, which Keras counts as 9 x channels):
    # with Keras' defaults the untrained activations shrink 2-5x per layer and are all zero after
    # about 15 layers (scale 7.8e-9), which TFLM's SOFTMAX refuses
    he = {"kernel_initializer": "he_normal"}
    dw_he = tf.keras.initializers.RandomNormal(stddev=(2 / 9) ** 0.5)
    x = bn_relu(L.Conv2D(8, 3, strides=2, padding="same", use_bias=False, **he)(x))
    blocks = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 + [(256, 2), (256, 1)]
    for filters, stride in blocks:
        x = bn_relu(L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False,
                                      depthwise_initializer=dw_he)(x))
        x = bn_relu(L.Conv2D(filters, 1, use_bias=False, **he)(x))
    x = L.Flatten()(L.AveragePooling2D(x.shape[1:3])(x))
    return tf.keras.Model(inp, L.Softmax()(L.Dense(2)(x))), (96, 96, 3)


def _ic(tf):
    L = tf.keras.layers
    x = inp = L.Input((32, 32, 3), batch_size=1)

    def conv_bn(t, f, k=3, s=1):
        return L.BatchNormalization()(L.Conv2D(f, k, strides=s, padding="same")(t))

    x = L.ReLU()(conv_bn(x, 16))
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = conv_bn(L.ReLU()(conv_bn(x, filters, s=stride)), filters)
        shortcut = x if stride == 1 else L.Conv2D(filters, 1, strides=stride)(x)
        x = L.ReLU()(L.Add()([y, shortcut]))
    x = L.Flatten()(L.AveragePooling2D(x.shape[1:3])(x))
    return tf.keras.Model(inp, L.Softmax()(L.Dense(10)(x))), (32, 32, 3)


def _ad(tf):
    L = tf.keras.layers
    x = inp = L.Input((640,), batch_size=1)
    for units in (128,) * 4 + (8,) + (128,) * 4:
        x = L.ReLU()(L.BatchNormalization()(L.Dense(units)(x)))
    return tf.keras.Model(inp, L.Dense(640)(x)), (640,)


BUILDERS = {"vww": _vww, "ic": _ic, "ad": _ad, "kws": lambda tf: (dscnn_keras(tf), (49, 10, 1))}
QUANTS = ("int8", "int16x8")
BUILD_TAG = {"vww": "_he9"}  # a builder changed: its cached files get a new name


def model_path(name: str, quant: str = "int8") -> Path:
    """The `quant` .tflite of `name`, built and quantized once (cached under .cache/bench)."""
    if name == "kws" and quant == "int8":
        return dscnn_model()
    out = CACHE / f"mlperf_{name}_{quant}{BUILD_TAG.get(name, '')}.tflite"
    if out.is_file():
        return out
    import tensorflow as tf

    from harness.quant.variants import make_variant

    tf.keras.utils.set_random_seed(0)
    model, shape = BUILDERS[name](tf)
    calib = np.random.default_rng(0).standard_normal((16, *shape)).astype(np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(make_variant(model, calib, quant))
    tmp.rename(out)
    return out


def _manifest(path: Path, core: str | None) -> dict:
    return json.loads((generate_cached(path, None, None, core).out_dir / "model.json").read_text())


def measure(name: str, board_name: str, opt: str, prefer: str, quant: str = "int8") -> dict:
    """One row: the shipping firmware of `name` on `board_name` with the generator's `prefer`."""
    path = model_path(name, quant)
    board = bench_board("m0plus-big" if board_name == "m0plus" else board_name)
    target = f"{board.core}:{prefer}"
    fast, portable = _manifest(path, target), _manifest(path, None)
    run = shipping_run(path, board, opt, target)
    insn, exact = run.count_per_inference, run.outputs == run.reference
    row = {"model": name, "quant": quant, "board": board_name, "kernels": fast["target"], "prefer": prefer, "opt": opt, "insn": insn,
           "insn/MAC": insn / fast["macs"], "MACs": fast["macs"], "constants B": fast["weight_bytes"],
           "portable constants B": portable["weight_bytes"],
           "constants ratio": fast["weight_bytes"] / portable["weight_bytes"],
           "arena B": fast["arena_bytes"], "scratch B": fast["scratch_bytes"],
           "bit-exact": exact}
    if board_name in TARGET_FACTOR and quant == "int8":
        cycles, _engine = PUBLISHED[name][0 if board_name == "m4" else 1]
        row["published cycles"] = cycles
        row["target insn"] = TARGET_FACTOR[board_name] * cycles
        row["speed target"] = "met" if insn <= row["target insn"] else "NOT met"
    row["constants target"] = "met" if row["constants ratio"] <= CONSTANTS_LIMIT else "NOT met"
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="kws,vww,ic,ad")
    ap.add_argument("--boards", default="m0plus,m3,m4,m7")
    ap.add_argument("--opt", default="-O2")
    ap.add_argument("--quant", default="int8", choices=QUANTS)
    args = ap.parse_args(argv)
    rows = []
    for name in args.models.split(","):
        for board in args.boards.split(","):
            # the preference only changes the DSP cores' kernels
            for prefer in ("speed", "size") if board in ("m4", "m7") else ("speed",):
                rows.append(measure(name, board, args.opt, prefer, args.quant))
                print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
