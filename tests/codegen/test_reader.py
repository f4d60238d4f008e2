"""Reading .tflite files into the IR, and the errors for files we cannot use."""

from __future__ import annotations

import hashlib

import cg_models
import numpy as np
import pytest

from harness.codegen.reader import read_tflite, read_tflite_bytes
from harness.errors import InvalidModel, UnsupportedModel


def test_reads_ops_options_and_quantization(tflite_model):
    path = tflite_model("har_cnn1d", "int8")
    g = read_tflite(path)
    assert g.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [op.opcode for op in g.ops] == ["RESHAPE", "CONV_2D", "MAX_POOL_2D", "CONV_2D", "MAX_POOL_2D",
                                           "RESHAPE", "FULLY_CONNECTED", "FULLY_CONNECTED", "SOFTMAX"]
    conv = g.ops[3]
    assert conv.options["strideW"] == 2 and conv.options["fusedActivationFunction"] == 1
    w = g.tensor(conv.inputs[1])
    assert w.dtype == "int8" and w.shape == (24, 1, 5, 16) and w.data.shape == w.shape
    assert w.quant.per_channel and len(w.quant.scale) == 24 and w.quant.quantized_dimension == 0
    assert g.tensor(conv.inputs[2]).dtype == "int32"
    x = g.tensor(g.inputs[0])
    assert x.data is None and x.dtype == "int8" and x.shape == (1, 128, 3)


def test_offset_buffers_read_like_inline_ones(tmp_path, tflite_model):
    """Constants stored after the flatbuffer (buffer offset/size) give the same IR data and the
    same generated outputs (checked against TFLM on the inline original)."""
    from harness_utils import build, make_inputs, run_c, run_tflm

    inline = tflite_model("dense_chain", "int8")
    moved = tmp_path / "offsets.tflite"
    moved.write_bytes(cg_models.to_offset_buffers(inline))
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    bufs = fb.ModelT.InitFromPackedBuf(moved.read_bytes(), 0).buffers
    assert not any(b.data is not None and len(b.data) for b in bufs)
    assert sum(1 for b in bufs if b.offset and b.offset > 1) >= 4
    a, b = read_tflite(inline), read_tflite(moved)
    consts = [t.index for t in a.tensors if t.data is not None]
    assert consts
    for i in consts:
        assert b.tensor(i).data is not None and np.array_equal(a.tensor(i).data, b.tensor(i).data)
    exe, manifest = build(moved, tmp_path / "w")
    records = make_inputs(manifest, 6)
    got, want = run_c(exe, manifest, records), run_tflm(inline, records, 1)
    assert all(np.array_equal(g[0], w[0].reshape(g[0].shape)) for g, w in zip(got, want))


def test_multi_subgraph_model_is_rejected_naming_while():
    with pytest.raises(UnsupportedModel, match=r"3 subgraphs.*WHILE"):
        read_tflite(cg_models.special_path("while_loop"))


def test_non_tflite_file_is_rejected_with_its_name(tmp_path):
    p = tmp_path / "notes.tflite"
    p.write_text("this is not a model")
    with pytest.raises(InvalidModel, match=r"notes\.tflite: not a \.tflite"):
        read_tflite(p)


@pytest.mark.parametrize("cut", [0.3, 0.6])
def test_truncated_file_is_reported_corrupt(tmp_path, tflite_model, cut):
    raw = tflite_model("dense_chain", "int8").read_bytes()
    p = tmp_path / "cut.tflite"
    p.write_bytes(raw[: int(len(raw) * cut)])
    with pytest.raises(InvalidModel, match=r"cut\.tflite: truncated or corrupt"):
        read_tflite(p)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidModel, match=r"absent\.tflite: cannot read the model file"):
        read_tflite(tmp_path / "absent.tflite")


def test_garbage_after_identifier():
    raw = b"\x10\x00\x00\x00TFL3" + bytes(range(256)) * 4
    with pytest.raises(InvalidModel):
        read_tflite_bytes(raw, "garbage")
