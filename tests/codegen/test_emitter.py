"""The generated library's contract: model.h API, manifest, profiling hook, symbol names,
errors that name the op, and nothing written on failure."""

from __future__ import annotations

import json
import re
import subprocess

import cg_models
import numpy as np
import pytest
from harness_utils import build, make_inputs, run_c

from harness.codegen import generate
from harness.errors import UnsupportedModel


def _defines(text: str) -> dict[str, str]:
    return dict(re.findall(r"#define (HIL_MODEL_\w+)\s+(.+)", text))


def test_model_h_api_and_manifest(tflite_model, tmp_path):
    path = tflite_model("ds_cnn", "int8")
    gm = generate(path, tmp_path / "out", name="kws_int8")
    h = (tmp_path / "out" / "model.h").read_text()
    d = _defines(h)
    assert d["HIL_MODEL_NAME"] == '"kws_int8"'
    assert d["HIL_MODEL_HASH"] == f'"{gm.sha256}"' and len(gm.sha256) == 64
    assert int(d["HIL_MODEL_INPUT_BYTES"]) == 490 == gm.input_bytes
    assert int(d["HIL_MODEL_OUTPUT_BYTES"]) == 12 == gm.output_bytes
    assert int(d["HIL_MODEL_ARENA_BYTES"]) == gm.arena_bytes
    assert int(d["HIL_MODEL_NUM_LAYERS"]) == gm.num_layers == len(gm.layers)
    assert "int  hil_model_invoke(const void *input, void *output);" in h
    assert "void hil_model_reset(void);" in h
    assert "shape [1, 49, 10, 1]" in h and "zero point" in h
    m = json.loads((tmp_path / "out" / "model.json").read_text())
    assert m["inputs"][0]["shape"] == [1, 49, 10, 1] and m["inputs"][0]["offset"] == 0
    assert m["outputs"][0]["dtype"] == "int8" and m["outputs"][0]["bytes"] == 12
    assert m["arena_lower_bound"] <= m["arena_bytes"] <= 1.1 * m["arena_lower_bound"]
    assert m["weight_bytes"] > 0 and m["macs"] == sum(layer["macs"] for layer in m["layers"]) > 0
    # aliases (RESHAPE) are not layers; every other op is one
    assert [layer["op"] for layer in m["layers"]].count("RESHAPE") == 0
    assert {"model.h", "model.c", "hil_fixedpoint.h", "conv.h", "model.json"} <= set(m["files"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(m["files"])


def test_profile_hook_brackets_every_layer(tflite_model, tmp_path):
    path = tflite_model("har_cnn1d", "int8")
    hook = tmp_path / "hook.c"
    hook.write_text("""
#include <stdio.h>
void hil_model_layer_hook(int layer, int end) { fprintf(stderr, "%d %d\\n", layer, end); }
""")
    exe, manifest = build(path, tmp_path, extra_flags=("-DHIL_MODEL_PROFILE", str(hook)))
    records = make_inputs(manifest, 1)[:1]
    blob = b"".join(a.tobytes() for a in records[0])
    r = subprocess.run([str(exe)], input=blob, capture_output=True, check=True)
    calls = [tuple(map(int, line.split())) for line in r.stderr.decode().splitlines()]
    n = manifest["num_layers"]
    assert calls == [(k, e) for k in range(n) for e in (0, 1)]
    # without the define there is no reference to the hook at all
    assert "hil_model_layer_hook((layer), (end))" in (tmp_path / "gen" / "model.c").read_text()
    plain, _ = build(path, tmp_path / "plain")
    assert run_c(plain, manifest, records)[0][0].tobytes() == r.stdout


def test_unsupported_op_names_model_op_index_and_leaves_dir_alone(tflite_model, tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(cg_models.with_opcode(tflite_model("dense_chain", "int8"), "SOFTMAX", "CUMSUM"))
    out = tmp_path / "out"
    with pytest.raises(UnsupportedModel, match=r"model 'bad': op #3 CUMSUM is not supported.*supported ops: .*CONV_2D"):
        generate(bad, out)
    assert not out.exists()
    out.mkdir()
    (out / "keep.txt").write_text("previous build")
    with pytest.raises(UnsupportedModel):
        generate(bad, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tflite", "out"]  # no temp dirs left


def test_unsupported_option_names_what_is_supported(tflite_model, tmp_path):
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromPackedBuf(tflite_model("conv_chain", "int8").read_bytes(), 0)
    m.subgraphs[0].operators[1].builtinOptions.fusedActivationFunction = fb.ActivationFunctionType.TANH
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    bad = tmp_path / "tanh_conv.tflite"
    bad.write_bytes(bytes(b.Output()))
    with pytest.raises(UnsupportedModel, match=r"op #1 CONV_2D: fused activation code 4; supported: .*RELU6") as e:
        generate(bad, tmp_path / "out")
    assert e.value.details["index"] == 1 and e.value.details["op"] == "CONV_2D"
    assert not (tmp_path / "out").exists()


def test_regenerating_replaces_the_directory(tflite_model, tmp_path):
    out = tmp_path / "out"
    generate(tflite_model("dense_chain", "int8"), out)
    (out / "stale.c").write_text("int stale;")
    gm = generate(tflite_model("pool_chain", "int8"), out)
    assert not (out / "stale.c").exists()
    assert "pooling.h" in gm.files and (out / "pooling.h").exists()


def test_weight_and_arena_symbols_visible_in_target_object(tflite_model, tmp_path):
    """Footprint code tells weights from code by the hil_w_ prefix and finds hil_arena."""
    gm = generate(tflite_model("har_cnn1d", "int8"), tmp_path / "g")
    obj = tmp_path / "model.o"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-Os", "-ffunction-sections",
                    "-fdata-sections", "-I", str(gm.out_dir), "-c", str(gm.out_dir / "model.c"), "-o", str(obj)],
                   check=True)
    nm = subprocess.run(["arm-none-eabi-nm", "-S", str(obj)], capture_output=True, text=True, check=True).stdout
    syms = {line.split()[-1]: line.split() for line in nm.splitlines() if len(line.split()) == 4}
    weights = {k: v for k, v in syms.items() if k.startswith("hil_w_")}
    assert sum(int(v[1], 16) for v in weights.values()) == gm.weight_bytes
    assert all(v[2] in "Rr" for v in weights.values())  # read-only data (flash)
    assert "hil_arena" in syms and int(syms["hil_arena"][1], 16) == gm.arena_bytes


def test_int16_output_and_multiple_records_are_independent(tflite_model, tmp_path):
    """The same input gives the same output whatever ran before (no hidden state)."""
    exe, manifest = build(tflite_model("har_cnn1d", "int16x8"), tmp_path)
    recs = make_inputs(manifest, 3, seed=5)
    outs = run_c(exe, manifest, recs + recs[:1])
    assert np.array_equal(outs[0][0], outs[-1][0])


def test_an_op_registered_twice_is_an_error() -> None:
    from harness.codegen.ops import register, supported_ops

    assert "CONV_2D" in supported_ops()  # the plug-ins are loaded
    with pytest.raises(ValueError, match="CONV_2D is already registered"):
        register("CONV_2D")(lambda op, graph, ctx: None)
