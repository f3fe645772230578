"""``pytest --perfkit`` on a sample project: reports naming its slowest test's hot function."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "data" / "pytest_sample"


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(SAMPLE / "test_sample_jobs.py", tmp_path)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return tmp_path


def test_slowest_test_report_names_its_hot_function(project: Path) -> None:
    proc = _pytest(project, "--perfkit", "--perfkit-top", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    index = json.loads((project / "reports" / "pytest" / "index.json").read_text())
    tests = index["tests"]
    assert [t["nodeid"] for t in tests][0] == "test_sample_jobs.py::test_slow_aggregate"
    assert len(tests) == 2
    assert tests[0]["top_function"] == "hot_loop"
    report = project / "reports" / "pytest" / tests[0]["report"]
    assert "hot_loop" in report.read_text()
    assert (project / "reports" / "pytest" / "index.html").read_text().count("<tr>") == 3
    assert "perfkit: slowest tests profiled" in proc.stdout


def test_marked_tests_only_when_some_are_marked(project: Path) -> None:
    shutil.copy(SAMPLE / "test_sample_marked.py", project)
    proc = _pytest(project, "--perfkit", "--perfkit-memory")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tests = json.loads((project / "reports" / "pytest" / "index.json").read_text())["tests"]
    assert [t["nodeid"] for t in tests] == ["test_sample_marked.py::test_marked_allocation"]
    assert tests[0]["peak_bytes"] and tests[0]["peak_bytes"] > 10_000_000


def test_plugin_off_writes_nothing_and_wraps_nothing(project: Path) -> None:
    (project / "test_probe.py").write_text(
        "def test_probe(request):\n"
        "    pm = request.config.pluginmanager\n"
        "    assert pm.get_plugin('perfkit-test-profiler') is None\n"
        "    assert pm.has_plugin('perfkit')\n"
    )
    proc = _pytest(project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (project / "reports").exists()


def test_works_under_xdist(project: Path) -> None:
    proc = _pytest(project, "--perfkit", "--perfkit-top", "1", "-n", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (project / "reports" / "pytest" / "index.html").read_text()
    assert "test_slow_aggregate" in html


def test_cases_bridge_runs_a_projects_cases_under_pytest_benchmark(tmp_path: Path) -> None:
    pytest.importorskip("pytest_benchmark")
    (tmp_path / "mycases.py").write_text(
        "from perfkit.bench import case, SkipCase, Verdict\n"
        "@case('sum_squares', group='mine', params={'n': [1000]})\n"
        "class SumSquares:\n"
        "    def make_inputs(self, p): return list(range(p['n']))\n"
        "    def baseline(self, xs):\n"
        "        out = []\n"
        "        for x in xs: out.append(x * x)\n"
        "        return sum(out)\n"
        "    def candidate(self, xs): return sum(x * x for x in xs)\n"
        "    def check(self, b, c): return Verdict(b == c, f'{b} == {c}')\n"
        "@case('needs_a_wheel', group='mine')\n"
        "class NeedsAWheel:\n"
        "    def make_inputs(self, p): raise SkipCase('needs onnxruntime-gpu')\n"
        "    def baseline(self, x): return x\n"
        "    def candidate(self, x): return x\n"
        "    def check(self, b, c): return Verdict(True)\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env_cases = {"PERFKIT_CASES": "mycases"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--perfkit-cases",
            "--benchmark-disable",
            "-rA",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}", **env_cases},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "test_case[sum_squares" in proc.stdout
    assert "2 passed, 2 skipped" in proc.stdout and "needs onnxruntime-gpu" in proc.stdout


def test_cases_bridge_names_a_broken_case_module(tmp_path: Path) -> None:
    pytest.importorskip("pytest_benchmark")
    (tmp_path / "badcases.py").write_text("import not_a_module_anywhere\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--perfkit-cases"],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}",
            "PERFKIT_CASES": "badcases",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "badcases" in proc.stdout + proc.stderr
