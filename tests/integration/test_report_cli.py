"""``perfkit report`` end to end: builds from good files, names and skips bad ones."""

from __future__ import annotations

import shutil
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "unit" / "bench" / "golden" / "bench_v1.json"


def test_report_builds_from_good_files_and_lists_bad_ones(run_perfkit, tmp_path: Path) -> None:
    bench = tmp_path / "reports" / "bench"
    bench.mkdir(parents=True)
    shutil.copy(GOLDEN, bench / "good.json")
    (bench / "truncated.json").write_text('{"kind": "perfkit.bench", "schema_ver')
    proc = run_perfkit("report")
    assert proc.returncode == 0, proc.stderr
    assert "skipped reports/bench/truncated.json" in proc.stderr
    page = (tmp_path / "reports" / "index.html").read_text()
    assert "fib_divisible_by_3[n=100]" in page and "truncated.json" in page


def test_report_on_missing_folder_is_exit_2(run_perfkit, tmp_path: Path) -> None:
    proc = run_perfkit("report", str(tmp_path / "nothing-here"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "reports" / "index.html").exists()
