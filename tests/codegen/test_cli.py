"""`hil codegen MODEL --out DIR` entry points."""

from __future__ import annotations

import argparse
import subprocess
import sys

from harness.codegen import add_codegen_arguments, main, run_codegen


def test_main_generates_and_summarises(tflite_model, tmp_path, capsys):
    model = tflite_model("har_cnn1d", "int8")  # converting it (cold cache) prints TensorFlow's own lines
    capsys.readouterr()
    rc = main([str(model), "--out", str(tmp_path / "o"), "--name", "har"])
    assert rc == 0
    out = capsys.readouterr().out
    assert out.startswith("har: 7 layers") and "arena" in out
    assert (tmp_path / "o" / "model.c").exists()


def test_subcommand_wiring_reports_errors_with_status_2(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_codegen_arguments(parser)
    bogus = tmp_path / "x.tflite"
    bogus.write_bytes(b"nope")
    rc = run_codegen(parser.parse_args([str(bogus), "--out", str(tmp_path / "o")]))
    assert rc == 2
    assert "x.tflite: not a .tflite" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_python_dash_m(tflite_model, tmp_path):
    r = subprocess.run([sys.executable, "-m", "harness.codegen", str(tflite_model("dense_chain", "int8")),
                        "-o", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o" / "model.h").exists()
