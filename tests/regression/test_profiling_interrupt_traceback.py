"""Bug: Ctrl-C printed a traceback that started in perfkit's runner (the trimmed traceback was
not stored on the exception, and ``sys.excepthook`` used the exception's own)."""

from __future__ import annotations

from perfkit.profiling.runner import execute, prepare


def test_keyboard_interrupt_traceback_has_no_runner_frames():
    result = execute(prepare("code", "def f():\n    raise KeyboardInterrupt\nf()"), restore=True)
    exc = result.exc_info[1]
    tb, files = exc.__traceback__, []
    while tb is not None:
        files.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert files == ["<string>", "<string>"]
