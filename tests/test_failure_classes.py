"""One test per failure class of harness.errors, on real parts, each asserting the class, its
`status` and what the message must name.

Most classes already have their test next to the code that raises them; `COVERAGE` points at
those (and the first test below checks that every class in harness.errors has at least one
test, that each named test exists, and that no two classes share a status). The tests in this
file fill the gaps: a board-file typo seen through the plugin, a stack overflow on an M4
caught by the runner's guard-zone check, an op the code generator lacks in a real model.
"""

from __future__ import annotations

import csv
import inspect
import io
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness.errors as errors
from harness.boards import load_board
from harness.errors import ConfigError, DeviceFault, HilError, UnsupportedModel
from harness.results import FIELD_NAMES, read_records_csv
from harness.runner import run_model

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
HAR = ROOT / "suites" / "har" / "artifacts"

# status -> tests that raise it on real parts and check its message ("file::test").
COVERAGE: dict[str, list[str]] = {
    "config": [
        "test_boards.py::test_toml_syntax_error_names_file_and_line",  # file:line, "syntax"
        "test_boards.py::test_unknown_field_names_file_field_and_line",
        "test_budgets.py::test_invalid_files_name_file_line_and_field",
        "test_failure_classes.py::test_config_board_typo_stops_the_run_naming_file_line_and_field",
    ],
    "toolchain": [
        "test_build.py::test_missing_compiler_gives_toolchain_error",  # names the apt packages
        "test_device_faults.py::test_missing_emulator_is_a_toolchain_error",  # qemu-system-arm off PATH
        "test_plugin_recovery.py::test_crashed_device_does_not_fail_the_rest_and_every_class_is_its_own_status",
    ],
    "build": ["test_build.py::test_c_syntax_error_gives_build_error_with_compiler_output"],  # log kept
    "invalid-model": [
        "codegen/test_reader.py::test_truncated_file_is_reported_corrupt",  # names the file
        "test_user_project.py::test_truncated_model_is_one_line_without_traceback",  # one line, CLI and pytest
    ],
    "unsupported": [
        "codegen/test_emitter.py::test_unsupported_op_names_model_op_index_and_leaves_dir_alone",
        "test_failure_classes.py::test_unsupported_op_in_a_real_model_names_model_op_and_index",
    ],
    "does-not-fit": [
        "test_runner.py::test_model_too_big_for_the_board_does_not_fit",
        "test_build.py::test_weights_too_big_for_flash_give_does_not_fit",
        "test_build.py::test_arena_too_big_for_ram_gives_does_not_fit",
    ],
    "boot": [
        "test_device_faults.py::test_silent_firmware_is_a_boot_error",  # wrong UART for the machine
        "test_device_faults.py::test_firmware_for_another_board_is_a_boot_error",
    ],
    "protocol": [
        "test_flipproxy.py::test_persistent_corruption_gives_protocol_error_naming_the_command",
        "test_flipproxy.py::test_single_corruption_is_detected_and_recovered",
    ],
    "timeout": [
        "test_device_faults.py::test_hang_times_out_naming_the_command_and_is_reaped",
        "test_flipproxy.py::test_hung_device_still_times_out_naming_the_command",
    ],
    "fault": [
        "test_device_faults.py::test_undefined_instruction_is_a_classified_fault",  # PC/LR/CFSR, function
        "test_device_faults.py::test_bus_fault_reports_the_faulting_address",
        "test_device_faults.py::test_stack_overflow_on_v8m_faults_at_the_limit",  # m33 MSPLIM -> STKOF
        "test_link_qemu.py::test_counts_are_exact_linear_and_stack_grows_with_depth",  # m4 guard zone, device
        "test_failure_classes.py::test_stack_overflow_on_m4_fails_the_run_as_a_fault",  # m4 guard zone, runner
        "test_device_faults.py::test_lockup_is_a_device_fault_with_qemu_register_dump",
    ],
    "device-error": ["test_link_qemu.py::test_profile_without_profiling_build_is_a_device_error"],
    "emulator-died": ["test_device_faults.py::test_emulator_killed_mid_run_is_emulator_died"],
    "budget": [
        "test_budgets.py::test_miss_raises_a_readable_table",  # the measured-vs-budget table
        "test_plugin_recovery.py::test_crashed_device_does_not_fail_the_rest_and_every_class_is_its_own_status",
    ],
}


def _failure_classes() -> dict[str, type[HilError]]:
    return {cls.__name__: cls for _, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, HilError) and cls is not HilError}


def test_every_failure_class_has_its_own_status_and_a_test() -> None:
    classes = _failure_classes()
    statuses = [cls.status for cls in classes.values()]
    assert len(set(statuses)) == len(statuses), f"two classes share a status: {statuses}"
    assert set(statuses) == set(COVERAGE), "a failure class without a test (or a stale COVERAGE entry)"
    for status, refs in COVERAGE.items():
        assert refs, status
        for ref in refs:
            file, name = ref.split("::")
            text = (TESTS / file).read_text()
            assert re.search(rf"^def {name}\(", text, re.M), f"{ref} (covering '{status}') does not exist"


# --------------------------------------------------------------------------- config


def test_config_board_typo_stops_the_run_naming_file_line_and_field(pytester: pytest.Pytester, child_pytest) -> None:
    """A typo in a board file given to --board: the run stops before any test, and the output
    names the file, the line and the field (as a usage error, not a traceback)."""
    boards = pytester.mkdir("myboards")
    text = (ROOT / "boards" / "m4.toml").read_text()
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("clock_hz"))
    (boards / "m4.toml").write_text(text.replace("clock_hz = 25_000_000", 'clock_hz = "25 MHz"'))
    pytester.makepyfile(test_x="def test_x(board):\n    pass\n")
    res = child_pytest(f"--board={boards / 'm4.toml'}", timeout=120)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    out = res.stdout.str() + res.stderr.str()
    assert f"m4.toml:{line}: field 'clock_hz'" in out and "'25 MHz'" in out
    assert "test_x PASSED" not in out and "1 passed" not in out


# --------------------------------------------------------------------------- stack overflow (m4)


def _har_inputs(n: int) -> list[bytes]:
    with np.load(HAR / "test.npz") as d:
        return [d["x_int8"][i].tobytes() for i in range(n)]


@pytest.mark.slow
def test_stack_overflow_on_m4_fails_the_run_as_a_fault(tmp_path: Path) -> None:
    """ARMv7-M has no stack limit register: the firmware paints a guard zone below the stack and
    reports the high-water mark. The har model needs ~380 B of stack; on a board file giving it
    the minimum 256 B, the run's outputs still come back, but the runner fails it as a fault."""
    board_file = tmp_path / "m4.toml"
    text = (ROOT / "boards" / "m4.toml").read_text()
    board_file.write_text(text.replace("stack_bytes = 8192", "stack_bytes = 256"))
    board = load_board(board_file)
    assert board.stack_bytes == 256
    with pytest.raises(DeviceFault) as info:
        run_model(HAR / "int8.tflite", board, _har_inputs(2))
    err = info.value
    assert err.status == "fault"
    d = err.details
    assert d["stack_size"] == 256 and d["stack_high_water"] > 256
    msg = str(err)
    assert f"{d['stack_high_water']} B used of a 256 B stack" in msg and "guard zone" in msg
    assert str(board_file) in msg and "stack_bytes" in msg  # where to fix it
    # The same model on the shipped board (8 KiB stack) is fine: the check is not trigger-happy.
    ok = run_model(HAR / "int8.tflite", load_board("m4"), _har_inputs(2))
    assert ok.bitexact == 1.0 and ok.stack_high_water == d["stack_high_water"]


# --------------------------------------------------------------------------- unsupported model


def _swap_op(src: Path, old: str, new: str) -> bytes:
    """The .tflite with every `old` builtin op code replaced by `new` (via the schema's object API)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    model = fb.ModelT.InitFromPackedBuf(src.read_bytes(), 0)
    old_code, new_code = getattr(fb.BuiltinOperator, old), getattr(fb.BuiltinOperator, new)
    for oc in model.operatorCodes:
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == old_code:
            oc.builtinCode, oc.deprecatedBuiltinCode = new_code, min(new_code, 127)
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_unsupported_op_in_a_real_model_names_model_op_and_index(tmp_path: Path) -> None:
    """The har model with its MEAN (op #7) turned into CUMSUM: the run stops at code generation,
    before any build or emulator, naming the model, the op, its index and what is supported."""
    bad = tmp_path / "har_cumsum.tflite"
    bad.write_bytes(_swap_op(HAR / "int8.tflite", "MEAN", "CUMSUM"))
    with pytest.raises(UnsupportedModel) as info:
        run_model(bad, load_board("m4"), _har_inputs(1))
    assert info.value.status == "unsupported"
    msg = str(info.value)
    assert re.search(r"op #7 CUMSUM is not supported", msg), msg
    assert "har" in msg and "supported ops:" in msg and "MEAN" in msg


def _shrink_softmax_input(src: Path, scale: float) -> bytes:
    """The .tflite with the quantization scale of its SOFTMAX's input set to `scale`."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    model = fb.ModelT.InitFromPackedBuf(src.read_bytes(), 0)
    sg = model.subgraphs[0]
    for op in sg.operators:
        oc = model.operatorCodes[op.opcodeIndex]
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == fb.BuiltinOperator.SOFTMAX:
            sg.tensors[op.inputs[0]].quantization.scale = [scale]
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_softmax_scale_tflm_would_abort_on_is_an_unsupported_model(tmp_path: Path) -> None:
    """TFLM's runtime aborts the whole process (SIGABRT, no message) loading an int8 SOFTMAX whose
    input scale is below 2^-26 (a model whose activations collapsed to zero); the reference
    refuses it first, naming the file, the op, its index and the tensor. Just above the limit it
    loads and runs: the check is TFLM's own condition, not a stricter one."""
    from harness.reference import Reference

    bad = tmp_path / "har_collapsed.tflite"
    bad.write_bytes(_shrink_softmax_input(HAR / "int8.tflite", 1.2e-8))
    with pytest.raises(UnsupportedModel) as info:
        Reference(bad)
    msg = str(info.value)
    assert str(bad) in msg and re.search(r"op \d+ SOFTMAX", msg) and "1.2e-08" in msg, msg
    ok = tmp_path / "har_small.tflite"
    ok.write_bytes(_shrink_softmax_input(HAR / "int8.tflite", 1.6e-8))
    ref = Reference(ok)
    assert len(ref.run_raw(bytes(sum(d.nbytes for d in ref.input_details)))) > 0


# --------------------------------------------------------------------------- fuzzing: results loader

# The protocol decoder (tests/test_protocol.py, tests/test_flipproxy.py), board files
# (tests/test_boards.py) and budget files (tests/test_budgets.py) are fuzzed next to their code;
# a baseline/records CSV is the remaining file a user hands the harness.


_REQUIRED = ["suite", "test", "model", "variant", "board"]
_cells = st.one_of(st.sampled_from(["", "ok", "failed", "fault", "instructions", "cycles", "1", "-3", "0.5", "nan",
                                    "{}", '{"a": 1}', "{", "x,y", '"', "null"]), st.text(max_size=8))


@st.composite
def _csv_texts(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.text(max_size=120))
    optional = draw(st.lists(st.sampled_from(FIELD_NAMES[5:] + ["junk"]), max_size=8, unique=True))
    header = draw(st.permutations(_REQUIRED + optional)) if draw(st.integers(0, 4)) else optional
    rows = draw(st.lists(st.lists(_cells, min_size=len(header), max_size=len(header) + 1), max_size=4))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


@given(text=_csv_texts())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_results_csv_only_raises_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "baseline.csv"
    path.write_text(text)
    try:
        records = read_records_csv(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
        return
    for r in records:  # what a loaded baseline is used for must work too
        assert r.status in ("ok", "failed", "skipped", "does-not-fit")
        r.measurements()


def test_results_csv_extra_must_be_an_object(tmp_path: Path) -> None:
    path = tmp_path / "baseline.csv"
    path.write_text("suite,test,model,variant,board,extra\nhar,t,m,int8,m4,[1]\n")
    with pytest.raises(ConfigError) as exc:
        read_records_csv(path)
    assert f"{path}:2" in str(exc.value) and "extra" in str(exc.value)
