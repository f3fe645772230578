"""The CI recipe (examples/ci) runs as CI would: the gate script against HEAD on this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CI = REPO / "examples" / "ci"


def test_workflow_and_hook_call_the_gate_script() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((CI / "perfkit-bench.yml").read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "examples/ci/bench_gate.sh" in runs and "github.base_ref" in runs
    assert steps[0]["with"]["fetch-depth"] == 0
    hook = yaml.safe_load((CI / "pre-commit-config.yaml").read_text())["repos"][0]["hooks"][0]
    assert hook["entry"].startswith("examples/ci/bench_gate.sh")
    assert hook["stages"] == ["pre-push"]


@pytest.mark.slow
def test_gate_script_runs_locally_against_head(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout")
    out = tmp_path / "gate"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "PERFKIT_GATE_OUT": str(out),
        "PYTHONPATH": str(REPO),
    }
    env.pop("GITHUB_STEP_SUMMARY", None)
    proc = subprocess.run(
        [
            "bash",
            str(CI / "bench_gate.sh"),
            "HEAD",
            "-k",
            "small_sequence_literal",
            "--quick",
            "--rounds",
            "2",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr  # 3 only if the machine drifted
    summary = (out / "summary.md").read_text()
    assert summary.startswith("## perfkit bench gate:")
    assert "small_sequence_literal" in summary
    assert "Traceback" not in proc.stderr


def test_gate_script_without_a_base_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(["bash", str(CI / "bench_gate.sh")], capture_output=True, text=True)
    assert proc.returncode == 2 and "usage" in proc.stderr
