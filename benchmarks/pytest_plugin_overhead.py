"""Does installing perfkit's pytest plugin change a suite's wall time when it is off?

Runs the sample suite (``tests/data/pytest_sample``) as whole ``pytest`` processes, interleaved:
plugin not loaded (``-p no:perfkit``), plugin loaded but off (the default), and ``--perfkit``
(on, for scale). Writes ``reports/pytest-plugin.md`` with the machine's conditions; the target
(off within 3% of not loaded, medians side by side) is called met only on an idle machine.

    python benchmarks/pytest_plugin_overhead.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = 1.03  # "off" may cost at most 3% over "not loaded"
VARIANTS = {
    "not loaded (-p no:perfkit)": ["-p", "no:perfkit"],
    "loaded, off (default)": [],
    "on (--perfkit)": ["--perfkit"],
}


def _run(folder: Path, extra: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PYTEST_ADDOPTS", None)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"pytest failed:\n{proc.stdout}\n{proc.stderr}")
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--out", default=str(REPO / "reports" / "pytest-plugin.md"))
    args = parser.parse_args(argv)
    from perfkit._atomic import atomic_write_text
    from perfkit._env import bench_conditions, wait_for_idle

    before = bench_conditions()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for src in (REPO / "tests" / "data" / "pytest_sample").glob("test_*.py"):
            shutil.copy(src, folder)
        (folder / "pytest.ini").write_text("[pytest]\n")
        for extra in VARIANTS.values():  # warm-up: imports in the page cache
            _run(folder, extra)
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(args.runs):
            for name, extra in VARIANTS.items():
                times[name].append(_run(folder, extra))
    load_after = wait_for_idle()
    medians = {name: statistics.median(v) for name, v in times.items()}
    base = medians["not loaded (-p no:perfkit)"]
    ratio = medians["loaded, off (default)"] / base
    idle = max(before["load_average_1m"] or 0, load_after or 0) <= 0.5
    verdict = (
        ("met" if ratio <= TARGET else "NOT met")
        if idle
        else "not judged (load average above 0.5: re-run on an idle machine)"
    )
    rows = "\n".join(
        f"| {name} | {medians[name]:.3f} | {min(v):.3f}–{max(v):.3f} "
        f"| {medians[name] / base:.3f}× |"
        for name, v in times.items()
    )
    text = f"""# pytest plugin: cost when off

Whole `pytest` processes on the sample suite (`tests/data/pytest_sample`, 6 tests), {args.runs}
interleaved runs per variant after a warm-up; `python benchmarks/pytest_plugin_overhead.py`.

Machine: {before["cpu_model"]}, {before["cpu_count"]} cores, copy bandwidth
{before["copy_bandwidth_gbs"]:.1f} GB/s; load average {before["load_average_1m"]:.2f} before,
{load_after:.2f} after; {before["time"]}.

| variant | median s | min–max s | vs not loaded |
|---|---|---|---|
{rows}

Target: plugin loaded but off ≤ {TARGET:.2f}× of not loaded → ratio {ratio:.3f}: **{verdict}**.
"""
    atomic_write_text(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
