"""Read a .tflite flatbuffer into the graph IR (no TensorFlow needed).

Uses the object API that ships with `tflite_micro`, so the schema matches the pinned runtime
the generated code is compared against.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from harness.codegen.ir import Graph, Op, Quant, Tensor
from harness.errors import InvalidModel, UnsupportedModel
from harness.modelfile import parse_model

_TYPES = {
    0: "float32", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8", 17: "int4",
}
_NP = {"float32": "<f4", "int32": "<i4", "uint8": "u1", "int64": "<i8", "bool": "u1", "int16": "<i2", "int8": "i1"}


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    return fb


def _names(enum_cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if k.isupper() and isinstance(v, int)}


def _plain(v: object) -> object:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def _unpack_int4(raw: np.ndarray, count: int) -> np.ndarray:
    """Two signed 4-bit values per byte, low nibble first."""
    lo = (raw & 0x0F).astype(np.int8)
    hi = ((raw >> 4) & 0x0F).astype(np.int8)
    vals = np.empty(raw.size * 2, dtype=np.int8)
    vals[0::2], vals[1::2] = lo, hi
    vals = np.where(vals > 7, vals - 16, vals).astype(np.int8)
    return vals[:count]


def model_name_from_path(path: str | Path) -> str:
    """A C-identifier-safe model name from the file name (`kws int8.tflite` -> `kws_int8`)."""
    stem = Path(path).name.split(".")[0]
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem) or "model"
    return name if not name[0].isdigit() else f"m_{name}"


def read_tflite(path: str | Path, name: str | None = None) -> Graph:
    """Parse `path` into a Graph. Raises InvalidModel for an unreadable, truncated or non-tflite
    file, UnsupportedModel for a model the generator cannot represent (several subgraphs, ...)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidModel(f"{path}: cannot read the model file ({e.strerror}); check the path", model=str(path)) from None
    return read_tflite_bytes(raw, name or model_name_from_path(path), str(path))


def read_tflite_bytes(raw: bytes, name: str, path: str = "<bytes>") -> Graph:
    """As read_tflite, from bytes already in memory."""
    fb = _schema()
    m = parse_model(raw, path)
    sg_count = len(m.subgraphs or [])
    ops_by_code = _names(fb.BuiltinOperator)
    op_names = []
    for oc in m.operatorCodes or []:
        code = max(int(oc.builtinCode), int(oc.deprecatedBuiltinCode))
        if code == fb.BuiltinOperator.CUSTOM:
            cname = oc.customCode.decode() if isinstance(oc.customCode, bytes) else str(oc.customCode)
            op_names.append(f"CUSTOM:{cname}")
        else:
            op_names.append(ops_by_code.get(code, f"BUILTIN_{code}"))
    if sg_count != 1:
        flow = [n for n in op_names if n in ("WHILE", "IF", "CALL_ONCE", "STABLEHLO_WHILE")]
        what = f" (control flow op {', '.join(sorted(set(flow)))} is not supported)" if flow else ""
        raise UnsupportedModel(
            f"model '{name}' ({path}) has {sg_count} subgraphs{what}; the generator supports single-subgraph "
            "models: unroll the loop or export one time step with explicit state tensors",
            model=name,
            op=flow[0] if flow else None,
        )
    sg = m.subgraphs[0]
    tensors: list[Tensor] = []
    try:
        for i, t in enumerate(sg.tensors):
            tname = t.name.decode("utf-8", "replace") if isinstance(t.name, bytes) else str(t.name)
            dtype = _TYPES.get(int(t.type))
            if dtype is None:
                tn = _names(fb.TensorType).get(int(t.type), str(t.type))
                raise UnsupportedModel(
                    f"model '{name}': tensor #{i} '{tname}' has type {tn}; supported tensor types: "
                    + ", ".join(sorted(set(_TYPES.values()))),
                    model=name,
                )
            shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
            quant = None
            q = t.quantization
            if q is not None and q.scale is not None and len(q.scale) > 0:
                zp = q.zeroPoint if q.zeroPoint is not None else np.zeros(len(q.scale))
                quant = Quant(
                    scale=np.asarray(q.scale, dtype=np.float32),
                    zero_point=np.asarray(zp, dtype=np.int64),
                    quantized_dimension=int(q.quantizedDimension or 0),
                )
            data = None
            if t.buffer is not None and 0 < int(t.buffer) < len(m.buffers):
                b = m.buffers[t.buffer]
                blob = None
                if b.data is not None and len(b.data) > 0:
                    blob = np.asarray(b.data, dtype=np.uint8)
                elif b.offset is not None and int(b.offset) > 1:
                    off, size = int(b.offset), int(b.size)
                    if off + size > len(raw):
                        raise UnsupportedModel(
                            f"{path} is corrupt: tensor #{i} '{tname}' data at offset {off} size {size} "
                            f"lies beyond the end of the file ({len(raw)} bytes)",
                            model=name,
                        )
                    blob = np.frombuffer(raw, dtype=np.uint8, count=size, offset=off)
                if blob is not None:
                    count = int(np.prod(shape)) if shape else 1
                    if dtype == "int4":
                        data = _unpack_int4(blob, count)
                    else:
                        data = blob.view(np.dtype(_NP[dtype])).copy()
                        if dtype == "bool":
                            data = data.astype(np.bool_)
                    if data.size != count:
                        raise UnsupportedModel(
                            f"{path} is corrupt: tensor #{i} '{tname}' holds {data.size} values for shape {list(shape)}",
                            model=name,
                        )
                    data = data.reshape(shape)
            tensors.append(Tensor(i, tname, dtype, shape, quant, data, bool(t.isVariable)))
        ops: list[Op] = []
        for k, o in enumerate(sg.operators):
            opts = {}
            if o.builtinOptions is not None:
                opts = {key: _plain(v) for key, v in vars(o.builtinOptions).items()}
            oc = m.operatorCodes[o.opcodeIndex]
            ops.append(
                Op(
                    index=k,
                    opcode=op_names[o.opcodeIndex],
                    inputs=[int(x) for x in (o.inputs if o.inputs is not None else [])],
                    outputs=[int(x) for x in (o.outputs if o.outputs is not None else [])],
                    options=opts,
                    version=int(oc.version or 1),
                )
            )
        inputs = [int(x) for x in sg.inputs]
        outputs = [int(x) for x in sg.outputs]
    except UnsupportedModel:
        raise
    except Exception as e:
        raise UnsupportedModel(
            f"{path} is corrupt or uses an unknown schema ({type(e).__name__}: {e}); re-export the model",
            model=name,
        ) from e
    return Graph(
        name=name,
        sha256=hashlib.sha256(raw).hexdigest(),
        tensors=tensors,
        ops=ops,
        inputs=inputs,
        outputs=outputs,
        path=path,
    )
