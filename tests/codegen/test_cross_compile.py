"""The generated library builds for Cortex-M with warnings as errors, using only its own files."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from harness.codegen import generate

CPUS = {
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
}
MODELS = [("har_cnn1d", "int8", False), ("ds_cnn", "int16x8", False), ("conv_chain", "float32", False),
          ("dense_chain", "int8", True), ("softmax_wide", "int16x8", False)]

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")


@pytest.fixture(scope="module")
def generated(tmp_path_factory, tflite_model):
    root = tmp_path_factory.mktemp("xgen")
    return {f"{b}-{q}{'-fio' if f else ''}": generate(tflite_model(b, q, float_io=f), root / f"{b}-{q}-{f}").out_dir
            for b, q, f in MODELS}


@pytest.mark.parametrize("cpu", sorted(CPUS))
def test_cross_compiles_with_werror(cpu, generated, tmp_path):
    for name, d in generated.items():
        srcs = sorted(str(p) for p in d.glob("*.c"))
        variants = ([], ["-DHIL_MODEL_PROFILE"]) if name.startswith("har") else ([],)
        for k, extra in enumerate(variants):
            work = tmp_path / f"{name}-{k}"
            work.mkdir()
            cmd = ["arm-none-eabi-gcc", *CPUS[cpu], "-std=c99", "-Os", "-Wall", "-Wextra", "-Werror",
                   *extra, "-I", str(d), "-c", *srcs]
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
            assert r.returncode == 0, f"{name} for {cpu}:\n{r.stderr[:3000]}"
            assert len(list(work.glob("*.o"))) == len(srcs)
