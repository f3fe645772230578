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


def test_report_imports_no_case_module_nor_torch(tmp_path: Path) -> None:
    """The page is drawn from the files alone: no case list, so no torch/onnxruntime (which
    write under ~/.cache), and no matplotlib."""
    import json
    import os
    import subprocess
    import sys

    bench = tmp_path / "bench"
    bench.mkdir()
    shutil.copy(GOLDEN, bench / "good.json")
    code = (
        "import sys, json\n"
        "from perfkit.cli.__main__ import main\n"
        "rc = main(['report', 'bench', '--out', 'index.html'])\n"
        "print(json.dumps([rc, sorted(sys.modules)]))\n"
    )
    repo = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": repo},
        capture_output=True,
        text=True,
        timeout=120,
    )
    rc, modules = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rc == 0, proc.stderr
    heavy = {"torch", "onnxruntime", "numpy", "numba", "pandas", "matplotlib", "transformers"}
    assert not heavy & set(modules), heavy & set(modules)
    assert not [m for m in modules if m.endswith(".cases") or m == "perfkit.bench.playbook"]


def test_report_out_over_an_input_is_exit_2_and_the_input_survives(
    run_perfkit, tmp_path: Path
) -> None:
    bench = tmp_path / "reports" / "bench"
    bench.mkdir(parents=True)
    shutil.copy(GOLDEN, bench / "good.json")
    before = (bench / "good.json").read_bytes()
    proc = run_perfkit("report", "reports/bench/good.json", "--out", "reports/bench/good.json")
    assert proc.returncode == 2 and "is the input" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (bench / "good.json").read_bytes() == before
