from __future__ import annotations

import pytest

from perfkit.bench import gate
from perfkit.bench.case import Verdict
from perfkit.bench.results import CaseResult
from perfkit.bench.timer import Timing
from perfkit.errors import UsageError


def _res(cid: str, times: tuple[float, ...], status: str = "passed") -> CaseResult:
    return CaseResult(
        case=cid,
        id=cid,
        group="g",
        params={},
        device="cpu",
        status=status,
        baseline=Timing(times, 2, 100),
        candidate=Timing(times, 3, 50),
        verdict=Verdict(status == "passed"),
    )


def test_pool_concatenates_every_rounds_samples() -> None:
    pooled = gate._pool([[_res("a", (1.0,) * 5)], [_res("a", (2.0,) * 5)]])
    assert len(pooled) == 1
    assert pooled[0].candidate is not None
    assert pooled[0].candidate.times_s == (1.0,) * 5 + (2.0,) * 5
    assert pooled[0].baseline is not None and pooled[0].baseline.peak_bytes == 100


def test_pool_keeps_a_failed_round_as_failed() -> None:
    pooled = gate._pool([[_res("a", (1.0,) * 5)], [_res("a", (1.0,) * 5, status="failed")]])
    assert pooled[0].status == "failed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("fib[n=100]=1.3", ("fib[n=100]", 1.3)), ("zz=4", ("zz", 4.0)), (None, None)],
)
def test_parse_plant(text, expected) -> None:
    assert gate._parse_plant(text) == expected


@pytest.mark.parametrize("bad", ["fib", "=1.3", "fib=0.5", "fib=x"])
def test_bad_plant_is_a_usage_error(bad) -> None:
    with pytest.raises(UsageError):
        gate._parse_plant(bad)


def test_refuses_too_few_samples() -> None:
    side = gate.Side(gate.repo_root(), "x", "0" * 40)
    with pytest.raises(UsageError):
        gate.run_gate(side, side, repeat=3)


def test_a_killed_gates_stale_worktree_is_removed(tmp_path, monkeypatch) -> None:
    import os
    import subprocess
    import tempfile
    import time

    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "f.txt").write_text("x")
    subprocess.run([*git, "add", "f.txt"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "c"], cwd=repo, check=True)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    stale_folder = tmp / f"{gate.TEMP_PREFIX}killed"
    stale_folder.mkdir()
    subprocess.run(
        ["git", "worktree", "add", "-q", "--detach", str(stale_folder / "wt"), "HEAD"],
        cwd=repo,
        check=True,
    )
    old = time.time() - 2 * 3600
    os.utime(stale_folder, (old, old))
    fresh_folder = tmp / f"{gate.TEMP_PREFIX}running"
    fresh_folder.mkdir()
    subprocess.run(
        ["git", "worktree", "add", "-q", "--detach", str(fresh_folder / "wt"), "HEAD"],
        cwd=repo,
        check=True,
    )
    removed = gate.remove_stale_worktrees(repo)
    assert [p.parent.name for p in removed] == [stale_folder.name]
    assert not stale_folder.exists() and fresh_folder.exists()
    listing = subprocess.run(
        ["git", "worktree", "list"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert stale_folder.name not in listing and fresh_folder.name in listing
