"""``perfkit bench`` end to end, in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
TEST_CASES = {"PERFKIT_CASES": "cli_test_cases", "PYTHONPATH": str(HERE)}


def test_bench_fib_writes_a_valid_results_file(run_perfkit, tmp_path: Path) -> None:
    out = tmp_path / "fib.json"
    proc = run_perfkit("bench", "-k", "fib", "--quick", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "fib_divisible_by_3" in proc.stdout and "PASSED" in proc.stdout
    assert "results written to" in proc.stderr
    data = json.loads(out.read_text())
    assert data["kind"] == "perfkit.bench" and data["schema_version"] == 2
    assert data["machine_info"]["cpu_model"]
    assert data["machine_info"]["versions"]["numpy"]
    assert "id" in data["commit_info"]
    ids = [r["id"] for r in data["results"]]
    assert ids == ["fib_divisible_by_3[n=100]", "fib_divisible_by_3[n=2000]"]
    for r in data["results"]:
        assert r["status"] == "passed"
        assert len(r["baseline"]["times_s"]) >= 5
        assert r["baseline"]["min_s"] <= r["baseline"]["median_s"] <= r["baseline"]["max_s"]
        assert r["verdict"]["ok"] is True
    # The generator's peak-memory win is visible at n=2000 (a list of 2000 big ints).
    assert data["results"][1]["memory_ratio"] > 5
    assert data["results"][1]["allocators_seen"] == ["tracemalloc"]
    assert data["results"][1]["baseline"]["memory"]["allocators"]["tracemalloc"] > 0
    assert "tracemalloc" in data["allocators_seen"]
    # The same file is a pytest-benchmark file: its own CLI reads and tabulates it.
    compare = subprocess.run(
        [sys.executable, "-c", "from pytest_benchmark.cli import main; main()", "compare", out],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert compare.returncode == 0, compare.stderr
    assert "Failed to load" not in compare.stderr + compare.stdout
    table = compare.stdout
    for rid in ids:
        for side in ("baseline", "candidate"):
            assert f"{rid}-cpu-{side}" in table
    assert "Min" in table and "Median" in table


def test_default_output_goes_to_reports_bench(run_perfkit, tmp_path: Path) -> None:
    proc = run_perfkit("bench", "-k", "small_sequence", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    files = list((tmp_path / "reports" / "bench").glob("*-cpu-*.json"))
    assert len(files) == 1
    printed = json.loads(proc.stdout)
    assert printed["results"][0]["case"] == "small_sequence_literal"


def test_markdown_format(run_perfkit) -> None:
    proc = run_perfkit("bench", "-k", "small_sequence", "--format", "markdown", "--no-save")
    assert proc.returncode == 0
    assert "| case | params | baseline | candidate | speedup |" in proc.stdout
    assert "| small_sequence_literal |" in proc.stdout


def test_no_match_is_exit_2_with_one_clear_line(run_perfkit) -> None:
    proc = run_perfkit("bench", "-k", "nothing-matches")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "perfkit: error: no case matches -k 'nothing-matches' — "
        "see the cases with 'perfkit bench --list'"
    )
    assert "Traceback" not in proc.stderr


def test_unknown_and_unavailable_devices_are_exit_2(run_perfkit) -> None:
    proc = run_perfkit("bench", "-k", "fib", "--device", "tpu")
    assert proc.returncode == 2 and "unknown device 'tpu'" in proc.stderr
    proc = run_perfkit("bench", "-k", "fib", "--device", "cuda", "--quick")
    import torch

    if not torch.cuda.is_available():
        assert proc.returncode == 2
        assert "CUDA is not available" in proc.stderr and "Traceback" not in proc.stderr


def test_failed_check_and_raising_case_exit_1_and_the_run_continues(
    run_perfkit, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    proc = run_perfkit("bench", "--group", "zz_cli_test", "--out", str(out), env=TEST_CASES)
    assert proc.returncode == 1
    assert "FAILED zz_wrong_answer" in proc.stderr
    assert "ERROR zz_raises: candidate: ZeroDivisionError: planted" in proc.stderr
    statuses = {r["case"]: r["status"] for r in json.loads(out.read_text())["results"]}
    assert statuses == {"zz_fine": "passed", "zz_raises": "error", "zz_wrong_answer": "failed"}


def test_list_shows_cases(run_perfkit) -> None:
    proc = run_perfkit("bench", "--list", "--group", "playbook")
    assert proc.returncode == 0
    assert "fib_divisible_by_3" in proc.stdout and "feature_matrix_dtype" in proc.stdout


def test_repeat_below_five_is_refused(run_perfkit) -> None:
    proc = run_perfkit("bench", "-k", "fib", "--repeat", "2")
    assert proc.returncode == 2 and "at least 5" in proc.stderr


def test_a_killed_runs_stale_temp_file_is_cleaned_by_the_next_run(run_perfkit, tmp_path) -> None:
    import os
    import time

    folder = tmp_path / "reports" / "bench"
    folder.mkdir(parents=True)
    stale = folder / ".perfkit-tmp-20261128T000000-cpu-abc.json.x1y2"
    stale.write_text('{"half": ')
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    fresh = folder / ".perfkit-tmp-other-run-in-progress.json.z9"
    fresh.write_text("{")
    proc = run_perfkit("bench", "-k", "small_sequence")
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists()  # a killed run's leftover (older than 1 h) is removed
    assert fresh.exists()  # a run that may still be writing is left alone
    assert len(list(folder.glob("*-cpu-*.json"))) == 1
