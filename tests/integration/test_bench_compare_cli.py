"""``perfkit bench --compare``: catches a planted 2× slowdown, ignores a re-run of the same code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_bench_cli import TEST_CASES


def test_compare_flags_a_planted_slowdown_and_ignores_a_rerun(run_perfkit, tmp_path: Path) -> None:
    saved = tmp_path / "saved.json"
    # 15 samples a side: with 5, two sleeps stretched by a busy CI machine (the other xdist
    # worker) were enough to make a real 2x slowdown "not significant" (p >= 0.01)
    args = ("bench", "--group", "zz_compare_test", "--repeat", "15")
    first = run_perfkit(*args, "--out", str(saved), env=TEST_CASES)
    assert first.returncode == 0, first.stderr

    same = run_perfkit(*args, "--no-save", "--compare", str(saved), env=TEST_CASES)
    assert same.returncode == 0, same.stderr
    assert "0 regressed" in same.stderr

    slow = run_perfkit(
        *args,
        "--no-save",
        "--compare",
        str(saved),
        env={**TEST_CASES, "PERFKIT_TEST_SLOWDOWN": "2"},
    )
    assert slow.returncode == 3, slow.stderr  # a regression, not a failed check (1)
    assert "REGRESSED zz_sleepy [cpu]" in slow.stderr
    assert "1 regressed" in slow.stderr


def test_compare_with_no_common_case_is_exit_2(run_perfkit, tmp_path: Path) -> None:
    saved = tmp_path / "saved.json"
    assert run_perfkit("bench", "-k", "small_sequence", "--out", str(saved)).returncode == 0
    proc = run_perfkit(
        "bench", "--group", "zz_compare_test", "--compare", str(saved), env=TEST_CASES
    )
    assert proc.returncode == 2
    assert "has no case in common" in proc.stderr and "Traceback" not in proc.stderr


def test_compare_with_corrupt_file_is_exit_2_naming_it(run_perfkit, tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.json"
    bad.write_text(json.dumps({"kind": "perfkit.bench", "schema_version": 7}))
    proc = run_perfkit("bench", "-k", "small_sequence", "--compare", str(bad))
    assert proc.returncode == 2 and "corrupt.json" in proc.stderr


def test_compare_with_a_folder_uses_the_newest_result_per_case(run_perfkit, tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    args = ("bench", "--group", "zz_compare_test")
    slow = run_perfkit(
        *args, "--out", str(folder / "a-old.json"), env={**TEST_CASES, "PERFKIT_TEST_SLOWDOWN": "3"}
    )
    assert slow.returncode == 0, slow.stderr
    fresh = run_perfkit(*args, "--out", str(folder / "b-new.json"), env=TEST_CASES)
    assert fresh.returncode == 0
    (folder / "c-corrupt.json").write_text("{")
    # Against the newest saved result the same code is unchanged, not "improved 3x".
    proc = run_perfkit(*args, "--no-save", "--compare", str(folder), env=TEST_CASES)
    assert proc.returncode == 0, proc.stderr
    assert "0 improved, 0 regressed, 1 unchanged" in proc.stderr


# --- the gate: base and candidate commits run on this machine ------------------------------------

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _gate(*args: str, tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PERFKIT_CASES": "cli_test_cases",
        "PYTHONPATH": str(HERE),
        **({"TMPDIR": str(tmp)} if tmp is not None else {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "perfkit.bench.gate", "--modules", "perfkit.bench.playbook", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _worktree_paths() -> set[str]:
    # Paths only: HEAD may move while the gate runs (another commit), the folders may not.
    # Other tests' gates (another xdist worker) may hold a worktree at the same moment: compare
    # only those under the tmp folder this test's gate was given.
    listing = subprocess.run(
        ["git", "worktree", "list", "--porcelain"], cwd=REPO, capture_output=True, text=True
    ).stdout
    return {line.split(" ", 1)[1] for line in listing.splitlines() if line.startswith("worktree ")}


def test_gate_flags_a_planted_slowdown_with_exit_3_and_cleans_its_worktree(tmp_path: Path) -> None:
    proc = _gate(
        "--base",
        "HEAD",
        "--group",
        "zz_compare_test",
        "--rounds",
        "2",
        "--repeat",
        "7",
        "--confirm-rounds",
        "2",
        "--plant",
        "zz_sleepy=4",
        tmp=tmp_path,  # the gate's worktree folder (tempfile.mkdtemp) goes under tmp_path
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "REGRESSED zz_sleepy [cpu]" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert "confirmation" in proc.stdout  # the flag was re-measured in new rounds
    mine = {p for p in _worktree_paths() if Path(p).is_relative_to(tmp_path)}
    assert mine == set() and not list(tmp_path.glob("perfkit-gate-*"))


def test_gate_reports_a_failed_check_with_exit_1() -> None:
    proc = _gate("--base", "HEAD", "-k", "zz_wrong_answer", "--rounds", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED zz_wrong_answer" in proc.stdout


def test_gate_with_an_unknown_base_is_exit_2_in_one_line() -> None:
    proc = _gate("--base", "no-such-revision-xyz", "-k", "zz_fine")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "no-such-revision-xyz" in proc.stderr
