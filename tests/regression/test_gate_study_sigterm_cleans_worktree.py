"""Regression: ``gate_study`` killed by a timeout (SIGTERM) left its git worktree behind.

The gate's own CLI turns SIGTERM into an unwinding KeyboardInterrupt so its worktrees are
removed; the study did not (found when an idle study ran past ``timeout 1200``). Now it does,
exits 130 and writes no report. The worktree is found by polling, not by timing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"
)


def _gate_folders(tmp: Path) -> list[Path]:
    return [p for p in tmp.iterdir() if p.name.startswith("perfkit-gate-")]


def test_sigterm_removes_the_worktree_and_writes_no_report(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "gate.md"
    env = {**os.environ, "TMPDIR": str(tmp), "PERFKIT_SETTLE_S": "0", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfkit.bench.gate_study", "--runs", "1", "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not _gate_folders(tmp) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gate_folders(tmp), "the study never created its worktree"
        time.sleep(0.5)  # let it get into its rounds; the cleanup must not depend on where it is
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists()
    assert _gate_folders(tmp) == []
    listed = subprocess.run(
        ["git", "worktree", "list", "--porcelain"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    leftover = [line[9:] for line in listed.splitlines() if line.startswith(f"worktree {tmp}")]
    for path in leftover:  # keep the checkout clean even when this test fails
        subprocess.run(["git", "worktree", "remove", "--force", path], cwd=ROOT, check=False)
    assert leftover == []
