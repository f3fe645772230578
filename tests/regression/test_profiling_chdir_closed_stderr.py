"""Issue 12: the report lands where ``--out`` (or the default) said at start, even after the
program calls ``os.chdir()``; the exit status is exactly python's when the program closes
``sys.stderr`` or fd 2 (perfkit exited 1, and wrote no report when ``sys.stderr`` was closed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def perfkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "perfkit", "profile", *args], cwd)


@pytest.mark.parametrize("out", ["rel/out", None])
def test_report_lands_where_out_said_after_chdir(tmp_path, out):
    (tmp_path / "elsewhere").mkdir()
    code = "import os; os.chdir('elsewhere'); print(os.getcwd())"
    res = perfkit(
        *(["--out", out] if out else []), "--format", "json,html", "-c", code, cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    if out:
        folder = tmp_path / out
    else:
        (folder,) = (tmp_path / "reports" / "profiles").iterdir()
    assert (folder / "profile.json").is_file() and (folder / "index.html").is_file()
    assert not (tmp_path / "elsewhere" / "rel").exists()
    assert not (tmp_path / "elsewhere" / "reports").exists()
    shown = res.stderr.strip().splitlines()[-1]
    assert shown.startswith("perfkit: report written to ")
    assert (tmp_path / shown.removeprefix("perfkit: report written to ")).resolve() == folder


@pytest.mark.parametrize(
    "code",
    [
        "import sys; sys.stderr.close()",
        "import os; os.close(2)",
        "import sys, os; os.close(2); sys.exit(3)",
        "import sys; sys.stderr.close(); sys.exit(7)",
        "import sys; sys.stderr.close(); raise ValueError('x')",
    ],
)
def test_exit_status_is_pythons_when_the_program_closes_stderr(tmp_path, code):
    plain = _run([sys.executable, "-c", code], tmp_path)
    res = perfkit("--out", "rep", "--format", "json", "-c", code, cwd=tmp_path)
    assert res.returncode == plain.returncode
    assert (tmp_path / "rep" / "profile.json").is_file()
    assert 'Traceback (most recent call last):\n  File "' not in res.stderr.replace(
        plain.stderr, ""
    )


def test_a_file_that_reuses_fd_2_gets_none_of_perfkits_output(tmp_path):
    code = "import os; os.close(2); f = open('mine.txt', 'w'); f.write('mine'); f.flush()"
    res = perfkit("--out", "rep", "-c", code, cwd=tmp_path)
    assert res.returncode == 0
    assert (tmp_path / "mine.txt").read_text() == "mine"
    assert (tmp_path / "rep" / "profile.json").is_file()
