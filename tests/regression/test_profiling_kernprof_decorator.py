"""Issue 12: a kernprof user's script with ``@profile`` decorators failed with ``NameError``
under ``perfkit profile``. ``@profile`` is now a builtin there (line_profiler's convention) and
the decorated functions get line timings in the report."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
@profile
def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


class Model:
    @profile
    def step(self):
        return sum(range(1000))


print(work(20000), Model().step())
"""


def test_at_profile_gives_line_timings(tmp_path):
    (tmp_path / "kp.py").write_text(SCRIPT)
    res = subprocess.run(
        [sys.executable, "-m", "perfkit", "profile", "--out", "rep", "kp.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "NameError" not in res.stderr
    assert res.stdout.split() == [str(sum(i * i for i in range(20000))), str(sum(range(1000)))]
    assert "Line timings of work" in res.stderr and "Line timings of Model.step" in res.stderr
    body = json.loads((tmp_path / "rep" / "profile.json").read_text())["profile"]
    tables = {t["function"]: t for t in body["line_tables"]}
    assert set(tables) == {"work", "Model.step"}
    hits = {ln["line"]: ln["hits"] for ln in tables["work"]["lines"]}
    assert hits[6] == 20000  # `total += i * i`, once per iteration
    assert hits[5] == 20001  # the for line
    assert any("@profile" in n for n in body["notes"])


def test_programs_without_at_profile_do_not_load_line_profiler(tmp_path):
    code = "import sys, builtins; print(callable(profile), 'line_profiler' in sys.modules)"
    res = subprocess.run(
        [sys.executable, "-m", "perfkit", "profile", "--quiet", "--out", "rep", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True", "False"]
