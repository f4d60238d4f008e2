"""Reading a .tflite file: the one place that turns a bad file into `InvalidModel`.

The code generator, the TFLM reference, the runner and the CLI all read models through here, so a
truncated, empty or foreign file is one error class everywhere, naming the file, never a
`struct.error` traceback from the flatbuffer library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import InvalidModel


def schema() -> Any:
    """The TFLite flatbuffer schema that ships with the pinned tflite-micro runtime."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    return fb


def read_model_bytes(path: str | Path) -> bytes:
    """The file's bytes, after checking it parses as a TFLite model (InvalidModel otherwise)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InvalidModel(f"{p}: cannot read the model file ({exc.strerror})", model=str(p)) from None
    parse_model(raw, str(p))
    return raw


def parse_model(raw: bytes, path: str = "<bytes>") -> Any:
    """The flatbuffer's object tree (`ModelT`); InvalidModel for anything that is not a whole model."""
    if len(raw) < 8 or raw[4:8] != b"TFL3":
        raise InvalidModel(
            f"{path}: not a .tflite model (no 'TFL3' identifier at byte 4; {len(raw)} bytes); "
            "export it with tf.lite.TFLiteConverter", model=path)
    try:
        model = schema().ModelT.InitFromPackedBuf(bytearray(raw), 0)
    except Exception:  # the flatbuffer library raises struct.error, IndexError, ... on garbage
        raise InvalidModel(
            f"{path}: truncated or corrupt .tflite ({len(raw):,} bytes; the flatbuffer cannot be parsed); "
            "re-export or re-download the model", model=path) from None
    if not model.subgraphs:
        raise InvalidModel(f"{path}: the .tflite holds no subgraph", model=path)
    return model
