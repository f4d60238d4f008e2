"""Code generator figures per model: MACs, weight bytes, code bytes, arena vs lower bound.

    .venv/bin/python benchmarks/codegen_size.py                 # the standard test models
    .venv/bin/python benchmarks/codegen_size.py a.tflite b.tflite

Code bytes are the .text sections of the generated kernels and model glue compiled for
cortex-m4 (-Os, hard float, -ffunction-sections), summed from `arm-none-eabi-size -A` over the
objects; constants the ops need beyond the weights (parameter structs, tables) are shown
separately as "rodata"; weights (hil_w_* arrays) are excluded from both. A printout, not a test.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.codegen import generate  # noqa: E402

CFLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os", "-std=c99",
          "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra", "-Werror"]
STANDARD = [("har_cnn1d", "int8"), ("har_cnn1d", "int8_pt"), ("har_cnn1d", "int16x8"), ("ds_cnn", "int8"),
            ("ds_cnn", "int16x8"), ("autoencoder", "int8"), ("autoencoder", "int16x8"), ("har_cnn1d", "float32")]


def sections(obj: Path) -> list[tuple[str, int]]:
    out = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            rows.append((parts[0], int(parts[1])))
    return rows


def measure(model: Path, work: Path) -> dict:
    gm = generate(model, work / "gen")
    text = rodata = 0
    for src in sorted(gm.out_dir.glob("*.c")):
        obj = work / (src.stem + ".o")
        subprocess.run(["arm-none-eabi-gcc", *CFLAGS, "-I", str(gm.out_dir), "-c", str(src), "-o", str(obj)], check=True)
        for name, size in sections(obj):
            if name.startswith(".text"):
                text += size
            elif name.startswith(".rodata") and not name.startswith(".rodata.hil_w_"):
                rodata += size
    label = f"{model.parent.parent.name}/{model.name}" if model.parent.name == "artifacts" else gm.name
    return {"model": label, "layers": gm.num_layers, "macs": gm.macs, "weights": gm.weight_bytes,
            "code": text, "rodata": rodata, "arena": gm.arena_bytes, "lower": gm.arena_lower_bound}


def main(argv: list[str]) -> int:
    if argv:
        models = [Path(a) for a in argv]
    else:
        sys.path.insert(0, str(ROOT / "tests" / "codegen"))
        import cg_models

        models = [cg_models.model_path(b, q) for b, q in STANDARD]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, m in enumerate(models):
            w = Path(tmp) / str(k)
            w.mkdir()
            rows.append(measure(m, w))
    head = (f"{'model':<40} {'layers':>6} {'MACs':>10} {'weights B':>10} {'code B':>7} {'rodata B':>8} "
            f"{'arena B':>8} {'bound B':>8} {'ratio':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = r["arena"] / r["lower"] if r["lower"] else 1.0
        print(f"{r['model'][:40]:<40} {r['layers']:>6} {r['macs']:>10} {r['weights']:>10} {r['code']:>7} "
              f"{r['rodata']:>8} {r['arena']:>8} {r['lower']:>8} {ratio:>6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
