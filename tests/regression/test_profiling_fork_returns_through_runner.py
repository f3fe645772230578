"""Regression: a raw ``os.fork()`` child that returns through perfkit's runner hung forever.

The forked copy ran the runner's stop hook: the sampler's stop waited for a sampler thread that
does not exist after a fork (``--no-subprocesses`` or not), and a copy that got past it would
have written its own report over the parent's. Now the copy ends as it would under python (its
traceback or exit status), writes no report, and, when children are followed, its samples reach
the parent's report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = textwrap.dedent(
    """
    import os
    import sys


    def work():
        return sum(i * i % 7 for i in range(200_000))


    pid = os.fork()
    if pid == 0:
        work()
        if sys.argv[1] == "raise":
            raise ValueError("from the fork")
        sys.exit(7)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status))
    """
)


@pytest.mark.parametrize("follow", [True, False])
@pytest.mark.parametrize(("how", "child_status"), [("exit", 7), ("raise", 1)])
def test_forked_copy_ends_like_python(
    tmp_path: Path, follow: bool, how: str, child_status: int
) -> None:
    (tmp_path / "prog.py").write_text(PROGRAM)
    flags = [] if follow else ["--no-subprocesses"]
    proc = subprocess.run(
        [sys.executable, "-m", "perfkit", "profile", "--quiet", "--format", "json"]
        + ["--out", "out", *flags, "prog.py", how],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"child {child_status}\n"
    if how == "raise":
        assert "ValueError: from the fork" in proc.stderr
        assert proc.stderr.count("Traceback") == 1
    body = json.loads((tmp_path / "out" / "profile.json").read_text())["profile"]
    assert body["exit_status"] == 0  # the parent's report, not the copy's
    roles = [p["role"] for p in body["processes"]]
    assert roles == (["main", "fork child"] if follow else [])
