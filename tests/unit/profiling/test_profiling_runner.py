"""The runner: programs are checked and run in-process the way python would run them."""

from __future__ import annotations

import sys

import pytest

from perfkit.errors import InputFileError
from perfkit.profiling.runner import ProgramSyntaxError, _exit_status, execute, prepare


def test_missing_directory_binary_and_unknown_module_are_input_errors(tmp_path):
    with pytest.raises(InputFileError, match="script not found"):
        prepare("script", str(tmp_path / "nope.py"))
    with pytest.raises(InputFileError, match="is a directory"):
        prepare("script", str(tmp_path))
    binary = tmp_path / "data.bin"
    binary.write_bytes(b"\x7fELF\x00\x00\x01")
    with pytest.raises(InputFileError, match="not a Python source"):
        prepare("script", str(binary))
    with pytest.raises(InputFileError, match="no module named"):
        prepare("module", "perfkit_no_such_module_xyz")
    with pytest.raises(InputFileError, match="invalid module name"):
        prepare("module", "a..b")


def test_syntax_error_carries_pythons_message(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n    pass\n")
    with pytest.raises(ProgramSyntaxError) as info:
        prepare("script", str(bad))
    assert str(bad) in info.value.formatted
    assert info.value.formatted.rstrip().endswith("SyntaxError: invalid syntax")


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [(None, 0, None), (3, 3, None), (0, 0, None), ("bye", 1, "bye"), (256, 0, None)],
)
def test_exit_status_follows_python(code, status, message):
    assert _exit_status(code) == (status, message)


def test_script_sees_python_semantics_and_state_is_restored(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        "import sys\n"
        "class K: pass\n"
        "RESULT = (sys.argv, __name__, __file__, sys.path[0], sys.modules['__main__'].K is K)\n"
    )
    argv, path0, main = sys.argv, sys.path[0], sys.modules["__main__"]
    program = prepare("script", str(script), ["--flag", "x"])
    result = execute(program, restore=True)
    assert result.exit_status == 0 and result.ended_by == "exit"
    got = result.main_module.RESULT
    assert got == ([str(script), "--flag", "x"], "__main__", str(script), str(tmp_path), True)
    assert (sys.argv, sys.path[0], sys.modules["__main__"]) == (argv, path0, main)


def test_exception_is_returned_without_perfkit_frames(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("def f():\n    raise KeyError('k')\nf()\n")
    result = execute(prepare("script", str(script)), restore=True)
    assert (result.exit_status, result.ended_by) == (1, "exception")
    assert result.exception == "KeyError: 'k'"
    tb = result.exc_info[2]
    files = []
    while tb is not None:
        files.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert files == [str(script), str(script)]


def test_hooks_run_around_the_program_even_on_sys_exit():
    calls = []
    program = prepare("code", "import sys; sys.exit(4)")
    result = execute(
        program, lambda: calls.append("start"), lambda: calls.append("stop"), restore=True
    )
    assert calls == ["start", "stop"] and result.exit_status == 4


def test_keyboard_interrupt_is_reported_as_interrupt():
    result = execute(prepare("code", "raise KeyboardInterrupt"), restore=True)
    assert (result.ended_by, result.exit_status) == ("interrupt", 130)
