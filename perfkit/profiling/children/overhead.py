"""Overhead of following child processes: workers under ``perfkit profile`` vs plain python.

``python -m perfkit.profiling.children.overhead [--repeat 9] [--scale 1.0] [--markdown PATH]``

Each workload is a small program whose worker processes time their own tasks (``perf_counter``
inside the worker, so the figure is the workers' time with the sampler running, not the parent's
start-up or report writing) and print the sum; the program runs under plain python and under
``perfkit profile`` (default sampling, children followed), interleaved round-robin, ``--repeat``
times, medians compared. Also measured: whole-program wall, and the start-up each followed
``python`` child pays (a parent starting ``python -c pass`` children one after the other).

Targets (issue 12, item 3: the workers within the parent's targets): workers' time geomean
<= 1.10x and worst <= 1.25x; a child's added start-up <= +0.1 s. A target is never called met
while the load average (before or after) is above 0.5: the figures are then marked unreliable.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

WORKER_GEOMEAN_TARGET = 1.10
WORKER_WORST_TARGET = 1.25
CHILD_STARTUP_TARGET_S = 0.1
MAX_LOAD = 0.5

PROGRAM = textwrap.dedent(
    """
    import os
    import subprocess
    import sys
    import time

    SCALE = float(sys.argv[2])
    N = int(1_500_000 * SCALE)


    def burn(n):
        t0 = time.perf_counter()
        total = 0
        for i in range(n):
            total += i * i % 7
        return time.perf_counter() - t0


    def numpy_task(seed):
        import numpy as np
        from numpy.lib.stride_tricks import sliding_window_view

        t0 = time.perf_counter()
        x = np.random.default_rng(seed).random(int(4000 * max(SCALE, 0.05)))
        for _ in range(int(15 * max(SCALE, 0.1))):
            for w in (10, 20, 50):
                win = sliding_window_view(x, w)
                mean = np.add.reduce(win, axis=1) / w
                dev = win - mean[:, None]
                np.sqrt(np.add.reduce(dev * dev, axis=1) / w)
        return time.perf_counter() - t0


    def main(kind):
        import multiprocessing as mp

        if kind in ("pool-fork", "pool-spawn", "pool-forkserver"):
            with mp.get_context(kind.split("-")[1]).Pool(2) as pool:
                times = pool.map(burn, [N] * 8)
        elif kind == "executor-spawn":
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
                times = list(ex.map(burn, [N] * 8))
        elif kind == "joblib-loky":
            from joblib import Parallel, delayed

            times = Parallel(n_jobs=2)(delayed(numpy_task)(i) for i in range(40))
        elif kind == "subprocess":
            code = "import sys; sys.path.insert(0, sys.argv[1]); import w; print(w.burn(w.N))"
            times = []
            for _ in range(4):
                out = subprocess.run(
                    [sys.executable, "-c", code, os.path.dirname(__file__), str(SCALE)],
                    capture_output=True, text=True, check=True,
                )
                times.append(float(out.stdout))
        elif kind == "child-startup":
            t0 = time.perf_counter()
            for _ in range(10):
                subprocess.run([sys.executable, "-c", "pass"], check=True)
            times = [(time.perf_counter() - t0) / 10]
        print(f"worker_s={sum(times):.6f}")


    if __name__ == "__main__":
        main(sys.argv[1])
    """
)

WORKLOADS = (
    "pool-fork",
    "pool-spawn",
    "pool-forkserver",
    "executor-spawn",
    "joblib-loky",
    "subprocess",
)


def _run(cmd: list[str], cwd: str) -> tuple[float, float]:
    """(whole-program wall, the workers' own seconds the program printed)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    t0 = time.perf_counter()
    out = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=600
    )
    wall = time.perf_counter() - t0
    found = re.search(r"worker_s=([0-9.]+)", out.stdout)
    if found is None:
        raise RuntimeError(f"no worker_s in the output of {cmd}: {out.stdout!r} {out.stderr!r}")
    return wall, float(found.group(1))


def measure(repeat: int, scale: float, workloads: tuple[str, ...] = WORKLOADS) -> dict[str, Any]:
    """Plain python and ``perfkit profile`` on every workload, interleaved; medians."""
    py = sys.executable
    results: dict[str, Any] = {"repeat": repeat, "scale": scale, "workloads": {}}
    with tempfile.TemporaryDirectory(prefix="perfkit-children-overhead-") as tmp:
        script = os.path.join(tmp, "w.py")
        Path(script).write_text(PROGRAM)
        out = os.path.join(tmp, "out")
        for name in (*workloads, "child-startup"):
            if name == "joblib-loky":
                try:
                    import joblib  # noqa: F401
                    import numpy  # noqa: F401
                except ImportError:
                    continue
            cmds = {
                "python": [py, script, name, str(scale)],
                "perfkit": [py, "-m", "perfkit", "profile", "--quiet", "--format", "json"]
                + ["--out", out, script, name, str(scale)],
            }
            for cmd in cmds.values():  # warm-up: page cache, .pyc files
                _run(cmd, tmp)
            runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
            for _ in range(repeat):
                for tool, cmd in cmds.items():
                    runs[tool].append(_run(cmd, tmp))
            row: dict[str, Any] = {}
            for tool, rs in runs.items():
                row[tool] = {
                    "wall_s": statistics.median(w for w, _ in rs),
                    "worker_s": statistics.median(s for _, s in rs),
                    "runs": rs,
                }
            row["wall_ratio"] = row["perfkit"]["wall_s"] / row["python"]["wall_s"]
            row["worker_ratio"] = row["perfkit"]["worker_s"] / row["python"]["worker_s"]
            row["worker_ratio_spread"] = ratio_spread(runs["python"], runs["perfkit"])
            results["workloads"][name] = row
    return results


def ratio_spread(
    base: list[tuple[float, float]], other: list[tuple[float, float]]
) -> tuple[float, float]:
    """Lowest and highest workers'-time ratio of one round (each round against python's run of
    the same round): the noise around the median ratio."""
    from perfkit.profiling.overhead import round_ratio_spread

    return round_ratio_spread([b[1] for b in base], [o[1] for o in other])


def machine() -> dict[str, Any]:
    """CPU model, cores, and the copy bandwidth (NumPy when installed)."""
    from perfkit._env import machine_info

    info = dict(machine_info())
    try:
        from perfkit.indicators.benchmark import copy_bandwidth

        info["copy_bandwidth_gb_s"] = copy_bandwidth() / 1e9
    except ImportError:
        info["copy_bandwidth_gb_s"] = None
    return info


def to_markdown(results: dict[str, Any], info: dict[str, Any], load: tuple[float, float]) -> str:
    """The report: machine, load, each workload side by side, targets met / NOT met."""
    from perfkit._env import utc_now_iso

    loaded = max(load) > MAX_LOAD
    bw = info.get("copy_bandwidth_gb_s")
    lines = [
        "# Following child processes: overhead in the workers",
        "",
        f"Measured {utc_now_iso()} on {info['cpu_model']} ({info['cpu_count']} cores), Python "
        f"{info['python_version']}; copy bandwidth "
        f"{f'{bw:.1f} GB/s' if bw else 'not measured (no NumPy)'}; load average (1 min) "
        f"{load[0]:.2f} before, {load[1]:.2f} after. Median of {results['repeat']} interleaved "
        f"runs, workload scale {results['scale']}. `python -m perfkit.profiling.children.overhead`",
        "",
    ]
    if loaded:
        lines += [
            f"**The machine was loaded (load average above {MAX_LOAD}): these figures are not "
            "reliable and no target is called met.**",
            "",
        ]
    lines += [
        "| workload | workers' time, python | under perfkit | ratio | whole program, python | "
        "under perfkit | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for name, row in results["workloads"].items():
        if name == "child-startup":
            continue
        ratios.append(row["worker_ratio"])
        lo, hi = row.get("worker_ratio_spread", (math.nan, math.nan))
        spread = f" ({lo:.2f}–{hi:.2f})" if results["repeat"] > 1 and math.isfinite(lo) else ""
        lines.append(
            f"| {name} | {row['python']['worker_s']:.3f} s | {row['perfkit']['worker_s']:.3f} s | "
            f"{row['worker_ratio']:.3f}x{spread} | {row['python']['wall_s']:.2f} s | "
            f"{row['perfkit']['wall_s']:.2f} s | {row['wall_ratio']:.2f}x |"
        )
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else float("nan")
    worst = max(ratios) if ratios else float("nan")
    start = results["workloads"].get("child-startup")
    added = start["perfkit"]["worker_s"] - start["python"]["worker_s"] if start else float("nan")

    def verdict(ok: bool) -> str:
        if loaded:
            return "not judged (machine loaded)"
        return "met" if ok else "NOT met"

    lines += [
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| workers' time geomean <= {WORKER_GEOMEAN_TARGET}x | {geo:.3f}x | "
        f"{verdict(geo <= WORKER_GEOMEAN_TARGET)} |",
        f"| workers' time worst <= {WORKER_WORST_TARGET}x | {worst:.3f}x | "
        f"{verdict(worst <= WORKER_WORST_TARGET)} |",
        f"| a followed python child's added start-up <= +{CHILD_STARTUP_TARGET_S} s | "
        f"{added * 1000:+.1f} ms | {verdict(added <= CHILD_STARTUP_TARGET_S)} |",
        "",
        "Workers' time: the sum of the tasks' own `perf_counter` durations, measured inside the "
        "workers (sampler running); in brackets the lowest and highest ratio of a single round "
        "(each against python's run of the same round), the noise around the median. Whole "
        "program: wall of the command, perfkit's start-up, its wait for the children's data and "
        "its report included.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and write) the Markdown report."""
    parser = argparse.ArgumentParser(
        prog="python -m perfkit.profiling.children.overhead", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=9,
        help="interleaved rounds (default 9: the workers' ratio of one round strays by 10-15%%)",
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workload", action="append", choices=list(WORKLOADS))
    parser.add_argument("--markdown", metavar="PATH", help="also write the report here")
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1 or not args.scale > 0:
        from perfkit.errors import UsageError

        raise UsageError("--repeat must be >= 1 and --scale > 0", "e.g. --repeat 5 --scale 1")
    from perfkit._env import wait_for_idle

    before = wait_for_idle()
    info = machine()
    results = measure(args.repeat, args.scale, tuple(args.workload or WORKLOADS))
    after = wait_for_idle()
    md = to_markdown(results, info, (before, after))
    sys.stdout.write(md)
    from perfkit._atomic import atomic_write_text, dumps_strict

    if args.markdown:
        atomic_write_text(args.markdown, md)
    if args.json:
        atomic_write_text(args.json, dumps_strict({"machine": info, **results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
