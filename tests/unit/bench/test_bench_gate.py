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


# --- settings (the decision rule itself: test_gate_rounds.py) -----------------------------------


@pytest.mark.parametrize(
    "argv",
    [["--confirm-rounds", "-1"], ["--min-sample-ms", "0"], ["--rounds", "0"]],
)
def test_bad_gate_settings_are_usage_errors(argv) -> None:
    side = gate.Side(gate.repo_root(), "x", "0" * 40)
    args = gate.build_parser().parse_args(argv)
    with pytest.raises(UsageError):
        gate.run_gate(
            side,
            side,
            rounds=args.rounds,
            confirm_rounds=args.confirm_rounds,
            min_sample_s=args.min_sample_ms / 1e3,
        )


# --- the gate study's report (synthetic runs, no timing) -----------------------------------------


def _study_runs(n: int, *, alarm_first: int = 0, miss: int = 0):
    from perfkit.bench.gate_study import DEFAULT_PLANT, StudyRun

    runs = []
    for i in range(n):
        first = ("other[n=1]",) if i < alarm_first else ()
        runs.append(StudyRun("unchanged", (), 1.0, 1.0, (), 9.0, first))
        hit = () if i < miss else (DEFAULT_PLANT,)
        runs.append(StudyRun("planted", hit, 1.3, 1e-6, (), 12.0, hit, (1.25, 1.36), 1.31))
    return runs


def _report(runs, loads=(0.2, 0.3)) -> str:
    from perfkit.bench.gate_study import DEFAULT_PLANT, report

    return report(
        runs,
        "a" * 40,
        plant=DEFAULT_PLANT,
        factor=1.3,
        loads=loads,
        bandwidth=1e10,
        settings="s",
        wall_s=400.0,
    )


def test_study_report_marks_targets_met_and_counts_what_confirmation_removed() -> None:
    text = _report(_study_runs(20, alarm_first=3))
    assert text.count("| met |") == 2 and "NOT met" not in text
    assert "first pass alone flagged something in 3 of 20 unchanged runs" in text
    assert "1.250-1.360" in text and "| 1.310 |" in text


def test_study_report_says_not_met_and_refuses_to_judge_a_loaded_machine() -> None:
    text = _report(_study_runs(20, miss=1))
    assert "| flagged in 19 of 20 | NOT met |" in text
    loaded = _report(_study_runs(20), loads=(0.2, 0.9))
    assert "met |" not in loaded.replace("not judged", "") and "not judged (load" in loaded
    assert "not judged (load average unknown)" in _report(_study_runs(20), (float("nan"), 0.1))
    assert "smoke run" in _report(_study_runs(4))


@pytest.mark.parametrize(
    "argv", [["--runs", "0"], ["--factor", "1.0"], ["--out", "x.txt"], ["--threshold", "abc"]]
)
def test_study_bad_arguments_exit_2_before_any_work(argv, tmp_path, capsys) -> None:
    from perfkit.bench import gate_study

    out = ["--out", str(tmp_path / "g.md")] if "--out" not in argv else []
    assert gate_study.main([*out, *argv]) == 2
    assert "error:" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
