"""The magics in terminal IPython (an in-process ``InteractiveShell``): what each option does.

The notebook test (``tests/integration/test_notebook.py``) runs them in a real Jupyter kernel;
here the same magics run where IPython shows the terminal summary instead of HTML, and the
options that test does not reach (``--memory``, ``--cpu tracing``, ``--lines auto``, ``-q``)
are checked on the result they store.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError as IPythonUsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

WORK = (
    "def slow_sum(n):\n"
    "    total = 0\n"
    "    for i in range(n):\n"
    "        total += i * i\n"
    "    return total\n"
)


@pytest.fixture(scope="module")
def shell() -> Iterator[Any]:
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext perfkit", store_history=False).raise_error()
    sh.run_cell(WORK, store_history=False).raise_error()
    yield sh
    InteractiveShell.clear_instance()


def _run(shell: Any, source: str) -> Any:
    result = shell.run_cell(source, store_history=False)
    result.raise_error()
    return result


def test_line_magic_prints_the_terminal_summary(shell: Any, capsys: pytest.CaptureFixture) -> None:
    _run(shell, "%perfkit --interval 0.001 slow_sum(400_000)")
    out = capsys.readouterr().out
    prof = shell.user_ns["_perfkit"]
    assert prof.sample_count > 0
    assert "slow_sum" in out  # the summary's top-functions table, as text, not an HTML dump
    assert "<iframe" not in out and "<table" not in out
    assert prof.program == "%perfkit slow_sum(400_000)"  # the statement, not the options


def test_quiet_cell_keeps_the_result_under_the_name_given(
    shell: Any, capsys: pytest.CaptureFixture
) -> None:
    _run(shell, "%%perfkit -q -o quiet_prof --interval 0.001\nslow_sum(300_000)")
    assert capsys.readouterr().out == ""
    prof = shell.user_ns["quiet_prof"]
    assert prof.program == "%%perfkit cell"
    assert prof.modes == ("sampling",)


def test_memory_option_records_memory(shell: Any) -> None:
    _run(
        shell,
        "%%perfkit -q -o mem_prof --memory --interval 0.001\n"
        "import numpy as np\nbig = np.ones(4_000_000)\nslow_sum(200_000)",
    )
    prof = shell.user_ns["mem_prof"]
    assert "memory" in prof.modes
    assert prof.memory is not None
    assert prof.memory.peak_rss_bytes - prof.memory.start_rss_bytes >= 28_000_000


def test_tracing_option_counts_every_call(shell: Any) -> None:
    _run(shell, "%%perfkit -q -o traced --cpu tracing\nfor _ in range(7):\n    slow_sum(1_000)")
    prof = shell.user_ns["traced"]
    assert prof.modes[0] == "tracing"
    calls = {f.function: f.calls for f in prof.top_functions(50)}
    assert calls.get("slow_sum") == 7


def test_lines_auto_times_the_hottest_notebook_function(shell: Any) -> None:
    _run(shell, "%%perfkit -q -o lines_prof --lines auto --interval 0.001\nslow_sum(400_000)")
    prof = shell.user_ns["lines_prof"]
    assert "lines" in prof.modes
    timed = {table.function for table in prof.line_tables}
    assert "slow_sum" in timed


def test_lines_of_an_unknown_function_is_a_usage_error(shell: Any) -> None:
    result = shell.run_cell("%%perfkit --lines no_such_fn\nslow_sum(10)", store_history=False)
    assert isinstance(result.error_in_exec, IPythonUsageError)
    assert "no_such_fn" in str(result.error_in_exec)


def test_bench_line_form_compares_two_functions(shell: Any) -> None:
    _run(shell, "def fast_sum(n):\n    return sum(i * i for i in range(n))")
    _run(shell, "%perfkit_bench -q -o pair -r 5 -i 20_000 slow_sum fast_sum")
    pair = shell.user_ns["pair"]
    assert pair.status == "passed" and pair.verdict.ok
    _run(shell, "def wrong_sum(n):\n    return slow_sum(n) + 1")
    _run(shell, "%perfkit_bench -q -o bad -r 5 -i 1_000 slow_sum wrong_sum")
    assert shell.user_ns["bad"].status == "failed"  # 332833500 vs 332833501: integers are exact
