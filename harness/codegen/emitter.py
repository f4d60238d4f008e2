"""Write the generated C library (model.h, model.c, kernels, model.json) for a planned graph.

Everything is written into a fresh temporary directory next to the target and renamed into
place at the end, so a failure never leaves a half-written DIR behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.codegen.ir import Graph, Tensor, ctype
from harness.codegen.ops import EmitContext, OpCode, c_array, lookup, supported_ops
from harness.codegen.packing import weight_bits_of
from harness.codegen.planner import Plan, plan_memory
from harness.errors import UnsupportedModel

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
ALWAYS = ["hil_fixedpoint.h"]

_NP_CTYPE = {
    np.dtype(np.int8): "int8_t", np.dtype(np.uint8): "uint8_t", np.dtype(np.int16): "int16_t",
    np.dtype(np.int32): "int32_t", np.dtype(np.int64): "int64_t", np.dtype(np.float32): "float",
    np.dtype(np.bool_): "uint8_t", np.dtype(np.uint32): "uint32_t", np.dtype(np.uint16): "uint16_t",
}


@dataclass
class Layer:
    layer: int  # index among non-alias ops (the hook's `layer` argument)
    op_index: int
    op: str
    output_shape: list[int]
    output_dtype: str
    macs: int
    weight_bits: int | None = None  # stored filter width of conv/FC layers (8, or 4/2 when packed)


@dataclass
class Emitted:
    files: dict[str, str]
    manifest: dict
    layers: list[Layer] = field(default_factory=list)


def _ident(s: str, limit: int = 40) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", s.split("/")[-1] if "/" in s else s)
    s = re.sub(r"_+", "_", s).strip("_")
    return s[:limit] or "t"


_ROLES = {1: "filter", 2: "bias"}
_ROLE_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"}


def _const_tensor_name(graph: Graph, t: int) -> str:
    """hil_w_op<i>_<role>: named after the first op that reads it (filter/bias for conv and FC)."""
    for op in graph.ops:
        if t in op.inputs:
            pos = op.inputs.index(t)
            role = _ROLES.get(pos) if op.opcode in _ROLE_OPS else None
            return f"hil_w_op{op.index}_{role or f'in{pos}'}"
    return f"hil_w_t{t}_{_ident(graph.tensor(t).name)}"


def _io_entry(t: Tensor, offset: int) -> dict:
    q = t.quant
    return {
        "name": t.name,
        "tensor": t.index,
        "dtype": t.dtype,
        "shape": list(t.shape),
        "scale": [float(v) for v in q.scale] if q is not None and q.per_channel else (t.scale if q else None),
        "zero_point": [int(v) for v in q.zero_point] if q is not None and q.per_channel else (t.zero_point if q else None),
        "offset": offset,
        "bytes": t.nbytes,
    }


def check_supported(graph: Graph) -> None:
    """Fail before writing anything if an op has no plug-in."""
    for op in graph.ops:
        if lookup(op.opcode) is None:
            raise UnsupportedModel(
                f"model '{graph.name}': op #{op.index} {op.opcode} is not supported by the code generator; "
                f"supported ops: {', '.join(supported_ops())}",
                model=graph.name,
                op=op.opcode,
                index=op.index,
            )
    for t in graph.inputs + graph.outputs:
        if graph.tensor(t).dtype not in ("int8", "int16", "float32", "int32", "uint8"):
            raise UnsupportedModel(
                f"model '{graph.name}': graph input/output tensor #{t} '{graph.tensor(t).name}' has type "
                f"{graph.tensor(t).dtype}; supported: int8, int16, int32, uint8, float32",
                model=graph.name,
            )


def emit(graph: Graph, plan: Plan | None = None, *, pack_weights: bool = True, target: str | None = None,
         in_place: bool = True, prefer: str | None = None) -> Emitted:
    """Produce the file contents (in memory) for `graph`.

    `pack_weights`: conv/FC filters on a 4-/2-bit grid are stored packed (harness/codegen/packing.py).
    `prefer`: "size" (int8-sized weights) or "speed" (optimized.PREFER, DEFAULT_PREFER); a target
    "core:size" says the same."""
    from harness.codegen.optimized import family, resolve_prefer

    family(target)  # unknown target names fail before anything is written
    prefer = resolve_prefer(target, prefer)
    check_supported(graph)
    plan = plan or plan_memory(graph, in_place=in_place)
    const_arrays: dict[str, np.ndarray] = {}
    const_names: dict[int, str] = {}
    used_names: set[str] = set()

    def ptr(t: int) -> str:
        tensor = graph.tensor(t)
        loc = plan.locations[t]
        ct = ctype(tensor.dtype)
        if loc.kind == "const":
            if t not in const_names:
                name = _const_tensor_name(graph, t)
                if name in const_arrays or name in used_names:
                    name = f"{name}_t{t}"
                const_names[t] = name
                data = tensor.data
                assert data is not None, f"tensor {t} planned as a constant without data"
                if tensor.dtype == "bool":
                    data = data.astype(np.uint8)
                const_arrays[name] = np.ascontiguousarray(data).reshape(-1)
            return const_names[t]
        if loc.kind == "arena":
            return f"(({ct} *)(hil_arena + {loc.offset}))"
        if loc.kind == "input":
            return f"((const {ct} *)(hil_in + {loc.offset}))"
        return f"(({ct} *)(hil_out + {loc.offset}))"

    ctx = EmitContext(graph, ptr, {"pack_weights": pack_weights, "target": target, "prefer": prefer},
                      inplace=set(plan.inplace))
    scratch_words = ring_bytes = 0  # the shared buffers: the largest need of any op
    kernels: list[str] = list(ALWAYS)
    blocks: list[str] = []
    layers: list[Layer] = []
    for op in graph.ops:
        spec = lookup(op.opcode)
        assert spec is not None
        out = graph.tensor(op.outputs[0]) if op.outputs else None
        if spec.alias:
            blocks.append(f"    /* op {op.index} {op.opcode}: alias of tensor {op.inputs[0]}, no code */")
            continue
        assert spec.emit is not None, f"{op.opcode}: a non-alias op spec without a plug-in"
        oc: OpCode = spec.emit(op, graph, ctx)
        scratch_words, ring_bytes = max(scratch_words, oc.scratch_words), max(ring_bytes, oc.ring_bytes)
        for name, arr in oc.constants.items():
            if not name.startswith("hil_w_") or name in used_names or name in const_arrays:
                raise ValueError(f"op #{op.index} {op.opcode}: constant name {name!r} must be unique and start hil_w_")
            used_names.add(name)
            const_arrays[name] = np.ascontiguousarray(arr).reshape(-1)
        for k in oc.kernels:
            if k not in kernels:
                kernels.append(k)
        li = len(layers)
        layers.append(Layer(li, op.index, op.opcode, list(out.shape) if out else [], out.dtype if out else "", int(oc.macs),
                            weight_bits_of(op, graph, oc)))
        body = "\n".join("        " + line for line in oc.code.strip().splitlines())
        blocks.append(
            f"    /* layer {li}: op {op.index} {op.opcode} -> {list(out.shape) if out else []} {out.dtype if out else ''} */\n"
            f"    HIL_HOOK({li}, 0);\n    {{\n{body}\n    }}\n    HIL_HOOK({li}, 1);"
        )
    for t, _ in plan.copy_out:
        if plan.locations[t].kind == "const":
            ptr(t)  # a constant graph output: emit its array for the final copy
    for k in kernels:
        if not (KERNEL_DIR / k).is_file():
            raise FileNotFoundError(f"kernel source {k} is missing from {KERNEL_DIR}")

    in_bytes = sum(graph.tensor(t).nbytes for t in graph.inputs)
    out_bytes = sum(graph.tensor(t).nbytes for t in graph.outputs)
    weight_bytes = int(sum(a.nbytes for a in const_arrays.values()))
    ins = [_io_entry(graph.tensor(t), off) for t, off in zip(graph.inputs, plan.input_offsets)]
    outs = [_io_entry(graph.tensor(t), off) for t, off in zip(graph.outputs, plan.output_offsets)]
    files: dict[str, str] = {}
    files["model.h"] = _model_h(graph, ins, outs, in_bytes, out_bytes, plan, len(layers))
    files["model.c"] = _model_c(graph, plan, kernels, const_arrays, blocks, const_names, scratch_words, ring_bytes)
    for k in kernels:
        files[k] = (KERNEL_DIR / k).read_text()
    manifest = {
        "name": graph.name,
        "sha256": graph.sha256,
        "source": graph.path,
        "input_bytes": in_bytes,
        "output_bytes": out_bytes,
        "inputs": ins,
        "outputs": outs,
        "arena_bytes": plan.arena_bytes,
        "arena_lower_bound": plan.lower_bound,
        "weight_bytes": weight_bytes,
        "macs": sum(layer.macs for layer in layers),
        "target": (target or "portable").split(":")[0],
        "prefer": prefer,
        "scratch_bytes": 4 * scratch_words + ring_bytes,
        "inplace_ops": sorted(plan.inplace),
        "num_layers": len(layers),
        "layers": [vars(layer) for layer in layers],
        "files": sorted(files) + ["model.json"],
    }
    files["model.json"] = json.dumps(manifest, indent=2) + "\n"
    return Emitted(files, manifest, layers)


def _doc_io(kind: str, entries: list[dict]) -> list[str]:
    lines = []
    for k, e in enumerate(entries):
        lines.append(
            f" *   {kind} {k}: '{e['name']}' {e['dtype']} shape {e['shape']}, scale {e['scale']}, "
            f"zero point {e['zero_point']}, byte offset {e['offset']}, {e['bytes']} bytes"
        )
    return lines


def _model_h(graph: Graph, ins: list[dict], outs: list[dict], in_bytes: int, out_bytes: int, plan: Plan, n_layers: int) -> str:
    guard = "HIL_MODEL_H"
    doc = [
        "/* Generated by harness.codegen from " + Path(graph.path).name.replace("*/", "") + ". Do not edit.",
        " *",
        f" * Model '{graph.name}', sha256 {graph.sha256}.",
        " * hil_model_invoke(input, output): `input` holds the input tensors and `output` the output",
        " * tensors, raw, in the .tflite's order, concatenated; both 4-byte aligned and not overlapping.",
        " * real value = scale * (q - zero point).",
        *_doc_io("input", ins),
        *_doc_io("output", outs),
        f" * Arena: {plan.arena_bytes} bytes (lower bound {plan.lower_bound}).",
        " * Per-layer timing: compile model.c with -DHIL_MODEL_PROFILE and define",
        " *   void hil_model_layer_hook(int layer, int end);  (end = 0 before, 1 after each layer)",
        " */",
    ]
    return "\n".join(doc) + f"""
#ifndef {guard}
#define {guard}

#ifdef __cplusplus
extern "C" {{
#endif

#define HIL_MODEL_NAME "{graph.name}"
#define HIL_MODEL_HASH "{graph.sha256}"
#define HIL_MODEL_INPUT_BYTES  {in_bytes}
#define HIL_MODEL_OUTPUT_BYTES {out_bytes}
#define HIL_MODEL_ARENA_BYTES  {plan.arena_bytes}
#define HIL_MODEL_NUM_LAYERS   {n_layers}
#define HIL_MODEL_NUM_INPUTS   {len(ins)}
#define HIL_MODEL_NUM_OUTPUTS  {len(outs)}

int  hil_model_invoke(const void *input, void *output);  /* 0 on success */
void hil_model_reset(void);  /* clears internal state; no-op for stateless models */

#ifdef HIL_MODEL_PROFILE
void hil_model_layer_hook(int layer, int end);
#endif

#ifdef __cplusplus
}}
#endif

#endif /* {guard} */
"""


def _model_c(graph: Graph, plan: Plan, kernels: list[str], consts: dict[str, np.ndarray], blocks: list[str],
             const_names: dict[int, str], scratch_words: int = 0, ring_bytes: int = 0) -> str:
    """model.c text. harness/codegen/state.py rewrites the reset/invoke prologue of this text for
    streaming models: keep `void hil_model_reset(void)\n{\n}\n\nint hil_model_invoke(...)\n{` as is."""
    inc = "\n".join(f'#include "{k}"' for k in kernels if k.endswith(".h"))
    arrays = []
    for name, arr in consts.items():
        ct = _NP_CTYPE[arr.dtype]
        n = max(1, arr.size)
        body = c_array(arr) if arr.size else "0"
        arrays.append(f"const {ct} {name}[{n}] __attribute__((aligned(4))) = {{\n    {body}\n}};")
    copy_in = [
        f"    memcpy(hil_arena + {plan.locations[t].offset}, hil_in + {off}, {graph.tensor(t).nbytes});"
        for t, off in plan.copy_in
    ]
    copy_out = []
    for t, off in plan.copy_out:
        loc = plan.locations[t]
        if loc.kind == "const":
            src = f"(const uint8_t *){const_names[t]}"
        else:
            src = {"arena": "hil_arena", "input": "hil_in", "output": "hil_out"}[loc.kind] + f" + {loc.offset}"
        copy_out.append(f"    memcpy(hil_out + {off}, {src}, {graph.tensor(t).nbytes});")
    arena = max(plan.arena_bytes, 4)
    scratch = (f"/* im2col rows of the optimized kernels ({4 * scratch_words} bytes). */\n"
               f"static int32_t hil_scratch[{scratch_words}];\n") if scratch_words else ""
    if ring_bytes:  # in-place convolutions' output rows wait here until their input rows are dead
        scratch += f"static uint8_t hil_ring[{ring_bytes}] __attribute__((aligned(8)));\n"
    decls = "\n".join(f"extern const {_NP_CTYPE[a.dtype]} {n}[{max(1, a.size)}];" for n, a in consts.items())
    return f"""/* Generated by harness.codegen for model '{graph.name}' (sha256 {graph.sha256}). Do not edit. */
#include <stdint.h>
#include <string.h>

#include "model.h"
{inc}

#ifdef HIL_MODEL_PROFILE
#define HIL_HOOK(layer, end) hil_model_layer_hook((layer), (end))
#else
#define HIL_HOOK(layer, end) ((void)0)
#endif

/* Constants (flash). Non-static so their symbols show in the ELF for footprint reports. */
{decls}
{chr(10).join(arrays)}

/* Activations: one statically planned arena ({plan.arena_bytes} bytes, lower bound {plan.lower_bound}). */
static uint8_t hil_arena[{arena}] __attribute__((aligned(8)));
{scratch}
void hil_model_reset(void)
{{
}}

int hil_model_invoke(const void *input, void *output)
{{
    const uint8_t *hil_in = (const uint8_t *)input;
    uint8_t *hil_out = (uint8_t *)output;
    (void)hil_in;
    (void)hil_out;
    (void)hil_arena;
{chr(10).join(copy_in)}
{chr(10).join(blocks)}
{chr(10).join(copy_out)}
    return 0;
}}
"""


def write_atomically(files: dict[str, str], out_dir: str | Path) -> Path:
    """Write `files` into out_dir via a sibling temp dir + rename; out_dir is replaced whole."""
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / "d")
        os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
