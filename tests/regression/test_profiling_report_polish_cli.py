"""Issue 12, report polish through the CLI: the speedscope file of an empty program validates
against speedscope's schema (it was ``profiles: []``, which hangs speedscope), short-lived
threads keep their names, and ``--show-all`` keeps the import machinery that is folded by default.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")
SCHEMA = Path(__file__).parents[1] / "unit" / "render" / "speedscope_file_format.schema.json"


def profile(tmp_path: Path, *args: str) -> dict:
    res = subprocess.run(
        [sys.executable, "-m", "perfkit", "profile", "--quiet", "--out", "rep", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return json.loads((tmp_path / "rep" / "profile.json").read_text())["profile"]


def test_speedscope_of_an_empty_program_loads(tmp_path):
    profile(tmp_path, "-c", "pass")
    doc = json.loads((tmp_path / "rep" / "speedscope.json").read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["profiles"] and doc["profiles"][0]["events"]
    assert doc["profiles"][0]["endValue"] > 0


SHORT_THREAD = """
import threading
def spin():
    t = 0
    for i in range(4_000_000):  # ~0.25 s: a few dozen samples at 100 Hz, still "short"
        t += i
th = threading.Thread(target=spin, name="short-lived-worker")
th.start()
th.join()
import json, decimal, fractions, statistics, email.mime.text, xml.dom.minidom
"""


def test_short_lived_thread_keeps_its_name_and_imports_fold(tmp_path):
    (tmp_path / "prog.py").write_text(SHORT_THREAD)
    body = profile(tmp_path, "prog.py")
    assert "short-lived-worker" in [t["name"] for t in body["threads"]]
    assert not [f for f in body["functions"] if f["file"].startswith("<frozen importlib")]
    assert not any(
        n["file"].startswith("<frozen importlib") for t in body["threads"] for n in t["nodes"]
    )
