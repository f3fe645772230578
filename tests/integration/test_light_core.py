"""The core install: `profile` and `diff` work without any extra, and a command that needs one
says which extra to install (exit 2) instead of a traceback.

A fresh venv per test would take minutes; instead the heavy packages are hidden from the child
interpreter by a meta-path finder installed through ``sitecustomize`` — the same ImportError a
core-only install raises.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXTRA_ONLY = ("numpy", "pandas", "numba", "matplotlib", "torch", "scipy", "joblib", "onnxruntime")

BLOCKER = f"""
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRA_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Block())
"""

PROGRAM = """
def work(n):
    return sum(i * i for i in range(n))

def main():
    total = 0
    for _ in range(30):
        total += work(20_000)
    print(total)

main()
"""


def _run(args: list[str], cwd: Path, blocker_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{blocker_dir}{os.pathsep}{REPO}"}
    return subprocess.run(
        [sys.executable, "-m", "perfkit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    folder = tmp_path / "block"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER)
    return folder


def test_blocker_really_hides_numpy(tmp_path: Path, blocker: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    proc = subprocess.run(
        [sys.executable, "-c", "import numpy"], env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0 and "numpy" in proc.stderr


def test_profile_and_diff_need_no_extra(tmp_path: Path, blocker: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text(PROGRAM)
    first = _run(["profile", "--quiet", "--out", "a", "job.py"], tmp_path, blocker)
    assert first.returncode == 0, first.stderr
    second = _run(["profile", "--quiet", "--memory", "--out", "b", "job.py"], tmp_path, blocker)
    assert second.returncode == 0, second.stderr
    doc = json.loads((tmp_path / "a" / "profile.json").read_text())
    assert any(f["function"] == "work" for f in doc["functions"]) if "functions" in doc else True
    diff = _run(["diff", "a/profile.json", "b/profile.json"], tmp_path, blocker)
    assert diff.returncode == 0, diff.stderr
    assert "Traceback" not in diff.stderr


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["downcast", "x.npy", "--dry-run"], "memory"),
        (["indicators", "prices.csv", "--spec", "sma:2", "--out", "out.csv"], "indicators"),
    ],
)
def test_command_without_its_extra_names_it(
    tmp_path: Path, blocker: Path, args: list[str], extra: str
) -> None:
    (tmp_path / "x.npy").write_bytes(b"\x93NUMPY")
    (tmp_path / "prices.csv").write_text("close\n1\n2\n3\n")
    proc = _run(args, tmp_path, blocker)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"perfkit[{extra}]" in proc.stderr


def test_report_needs_no_extra(tmp_path: Path, blocker: Path) -> None:
    results = tmp_path / "reports" / "bench"
    results.mkdir(parents=True)
    for src in sorted((REPO / "reports" / "bench").glob("*.json"))[-2:]:
        (results / src.name).write_bytes(src.read_bytes())
    proc = _run(["report", "--out", "index.html"], tmp_path, blocker)
    assert proc.returncode == 0, proc.stderr
    assert "<html" in (tmp_path / "index.html").read_text().lower()
