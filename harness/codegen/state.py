"""Streaming models: keep an explicit-state model's state inside the generated C.

A recurrent cell converted with explicit state tensors (inputs `x_t`, `h_{t-1}`; outputs the
scores and `h_t`) is stateless to the converter. For on-device streaming the generated library
carries the state itself: `hil_model_invoke(input, output)` takes only the non-state inputs,
runs one step with the stored state, and stores the state output for the next call;
`hil_model_reset()` restores the initial state. Outputs still include the state output, so the
host can check it bit for bit.

The carry is a byte copy, so each state output must have the shape, type and quantization of its
state input (the suites' builders tie them; a requantizing carry would be another kernel).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from harness.codegen.ir import Graph
from harness.errors import UnsupportedModel

_RESET_AND_INVOKE = """void hil_model_reset(void)
{
}

int hil_model_invoke(const void *input, void *output)
{"""


@dataclass(frozen=True)
class StatePair:
    input: int   # index among the model's inputs
    output: int  # index among the model's outputs


def _check(graph: Graph, pairs: list[StatePair], init: bytes | None) -> list[bytes]:
    """Validate the wiring; return each state's initial bytes (default: its zero point)."""
    inits: list[bytes] = []
    offset = 0
    for p in pairs:
        if not (0 <= p.input < len(graph.inputs) and 0 <= p.output < len(graph.outputs)):
            raise UnsupportedModel(
                f"{graph.name}: state wiring input {p.input} <- output {p.output} is out of range "
                f"({len(graph.inputs)} inputs, {len(graph.outputs)} outputs)", model=graph.name)
        ti, to = graph.tensor(graph.inputs[p.input]), graph.tensor(graph.outputs[p.output])
        qi, qo = ti.quant, to.quant
        same_q = (ti.dtype == "float32" or (qi is not None and qo is not None  # unquantized non-float: unsupported
                                             and np.allclose(qi.scale, qo.scale, rtol=0, atol=0)
                                             and np.array_equal(qi.zero_point, qo.zero_point)))
        if ti.dtype != to.dtype or list(ti.shape) != list(to.shape) or not same_q:
            raise UnsupportedModel(
                f"{graph.name}: state output {p.output} ('{to.name}' {to.dtype} {list(to.shape)}, scale "
                f"{to.scale}, zero point {to.zero_point}) cannot feed state input {p.input} ('{ti.name}' "
                f"{ti.dtype} {list(ti.shape)}, scale {ti.scale}, zero point {ti.zero_point}) by a byte copy; "
                "give both the same shape, type and quantization (see harness.quant.state)", model=graph.name)
        if init is not None:
            chunk = init[offset:offset + ti.nbytes]
            if len(chunk) != ti.nbytes:
                raise UnsupportedModel(f"{graph.name}: initial state is {len(init)} bytes, the states need "
                                       f"{sum(graph.tensor(graph.inputs[q.input]).nbytes for q in pairs)}",
                                       model=graph.name)
            inits.append(chunk)
            offset += ti.nbytes
        else:
            zp = 0 if ti.dtype == "float32" else int(ti.zero_point)
            inits.append(np.full(ti.size, zp, dtype=np.dtype(ti.dtype)).tobytes())
    return inits


def _c_bytes(data: bytes) -> str:
    return ", ".join(str(b) for b in data) or "0"


def add_state(files: dict[str, str], manifest: dict, graph: Graph, pairs: list[StatePair],
              init: bytes | None = None) -> tuple[dict[str, str], dict]:
    """Rewrite the emitted `model.c`, `model.h` and `model.json` of `graph` into a stateful model."""
    inits = _check(graph, pairs, init)
    inputs = manifest["inputs"]
    state_inputs = {p.input for p in pairs}
    full_bytes = manifest["input_bytes"]
    external = [dict(e) for i, e in enumerate(inputs) if i not in state_inputs]
    ext_offsets, off = [], 0
    for e in external:
        ext_offsets.append((e["offset"], off, e["bytes"]))
        e["offset"] = off
        off += e["bytes"]
    ext_bytes = off

    c = files["model.c"]
    if _RESET_AND_INVOKE not in c:
        raise RuntimeError("harness.codegen.state: the emitter's invoke/reset layout changed; update state.py")
    copies_in = "\n".join(f"    memcpy(hil_state_in + {full}, in + {ext}, {n});" for full, ext, n in ext_offsets)
    carry, reset, inits_c = [], [], []
    for k, p in enumerate(pairs):
        i_off, o_off = inputs[p.input]["offset"], manifest["outputs"][p.output]["offset"]
        n = inputs[p.input]["bytes"]
        inits_c.append(f"static const uint8_t hil_state_init{k}[{n}] = {{ {_c_bytes(inits[k])} }};")
        carry.append(f"    memcpy(hil_state_in + {i_off}, (const uint8_t *)output + {o_off}, {n});")
        reset.append(f"    memcpy(hil_state_in + {i_off}, hil_state_init{k}, {n});")
    stateful = "\n".join([
        "/* Streaming: the state inputs live here between calls (see harness/codegen/state.py). */",
        f"static uint8_t hil_state_in[{full_bytes}] __attribute__((aligned(8)));",
        *inits_c,
        "static int hil_model_step(const void *input, void *output);",
        "",
        "void hil_model_reset(void)",
        "{",
        *reset,
        "}",
        "",
        "int hil_model_invoke(const void *input, void *output)",
        "{",
        "    static int started;",
        "    const uint8_t *in = (const uint8_t *)input;",
        "    if (!started) {",
        "        hil_model_reset();",
        "        started = 1;",
        "    }",
        copies_in,
        "    int status = hil_model_step(hil_state_in, output);",
        *carry,
        "    return status;",
        "}",
        "",
        "static int hil_model_step(const void *input, void *output)",
        "{",
    ])
    files = dict(files)
    files["model.c"] = c.replace(_RESET_AND_INVOKE, stateful)

    h = files["model.h"]
    old = f"#define HIL_MODEL_INPUT_BYTES  {full_bytes}"
    if old not in h:
        raise RuntimeError("harness.codegen.state: model.h lacks the input-bytes define; update state.py")
    doc = "".join(f"\n * State: input {p.input} is carried from output {p.output} between calls; "
                  f"hil_model_invoke takes only the other inputs ({ext_bytes} bytes, offsets renumbered); "
                  "hil_model_reset() restores the initial state." for p in pairs)
    h = h.replace(" * Per-layer timing:", doc.lstrip("\n") + "\n * Per-layer timing:", 1)
    h = h.replace(old, f"#define HIL_MODEL_INPUT_BYTES  {ext_bytes}\n#define HIL_MODEL_STATEFUL     1")
    files["model.h"] = h

    manifest = dict(manifest, inputs=external, input_bytes=ext_bytes,
                    state=[{"input": p.input, "output": p.output, "bytes": inputs[p.input]["bytes"],
                            "init": inits[k].hex()} for k, p in enumerate(pairs)])
    files["model.json"] = json.dumps(manifest, indent=2) + "\n"
    return files, manifest
