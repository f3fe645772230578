"""Profiler overhead benchmark: plain python vs cProfile vs pyinstrument vs each perfkit mode.

``python -m perfkit.profiling.overhead [--repeat 5] [--scale 1.0] [--markdown PATH]``

Whole-process wall time of each command (start-up and report writing included), median of
``--repeat`` runs, interleaved round-robin so that load drifting on a shared machine hits every
tool alike; ratio to plain python. Workloads: ``examples/overhead_*.py`` (call-heavy, NumPy-heavy,
allocation-heavy) and an empty script for start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Issue targets: ratio to plain python per perfkit mode (start-up: seconds over python).
TARGETS = {"perfkit": 1.10, "perfkit --memory": 1.5, "perfkit --lines": 3.0}
STARTUP_TARGET_S = 0.1

#: workload -> (script name, function that --lines profiles)
WORKLOADS = {
    "call-heavy": ("overhead_call_heavy.py", "step"),
    "numpy-heavy": ("overhead_numpy_heavy.py", "run"),
    "alloc-heavy": ("overhead_alloc_heavy.py", "run"),
}


def examples_dir() -> Path:
    """The repository's ``examples/`` folder (the workloads live there)."""
    here = Path(__file__).resolve().parents[2] / "examples"
    if not (here / "overhead_call_heavy.py").exists():
        from perfkit.errors import InputFileError

        raise InputFileError(
            f"overhead workloads not found in {here}", "run from a perfkit source checkout"
        )
    return here


def commands(script: str, func: str, out: str, scale: float) -> dict[str, list[str]]:
    """Tool name -> the command that runs ``script`` under it."""
    py = sys.executable
    tail = [script] + (["--scale", str(scale)] if scale != 1.0 else [])
    pk = [py, "-m", "perfkit", "profile", "--out", out]
    return {
        "python": [py, *tail],
        "cProfile": [py, "-m", "cProfile", "-o", os.path.join(out, "c.pstats"), *tail],
        "pyinstrument": [py, "-m", "pyinstrument", "-o", os.path.join(out, "p.txt"), *tail],
        "perfkit": [*pk, *tail],
        "perfkit --memory": [*pk, "--memory", *tail],
        "perfkit --lines": [*pk, "--lines", f"__main__:{func}", *tail],
        "perfkit --cpu tracing": [*pk, "--cpu", "tracing", *tail],
    }


#: Bytecode caching on, as on a user's machine (some CI images set PYTHONDONTWRITEBYTECODE, which
#: would charge every run with compiling perfkit and the stdlib modules it imports).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=_ENV)
    return time.perf_counter() - t0


def measure(repeat: int = 5, scale: float = 1.0, workloads: list[str] | None = None) -> dict:
    """Run every tool on every workload ``repeat`` times; medians and ratios to python."""
    ex = examples_dir()
    results: dict = {"repeat": repeat, "scale": scale, "workloads": {}, "startup": {}}
    with tempfile.TemporaryDirectory(prefix="perfkit-overhead-") as tmp:
        empty = os.path.join(tmp, "empty.py")
        Path(empty).write_text("")
        for name in workloads or list(WORKLOADS):
            script, func = WORKLOADS[name]
            cmds = commands(str(ex / script), func, tmp, scale)
            times: dict[str, list[float]] = {k: [] for k in cmds}
            for cmd in cmds.values():  # warm-up: page cache, .pyc files
                _time(cmd)
            for _ in range(repeat):
                for tool, cmd in cmds.items():
                    times[tool].append(_time(cmd))
            base = statistics.median(times["python"])
            results["workloads"][name] = {
                tool: {
                    "median_s": statistics.median(ts),
                    "ratio": statistics.median(ts) / base,
                    "times_s": ts,
                }
                for tool, ts in times.items()
            }
        cmds = {
            k: v
            for k, v in commands(empty, "x", tmp, 1.0).items()
            if k in ("python", "cProfile", "pyinstrument", "perfkit")
        }
        times = {k: [] for k in cmds}
        for _ in range(max(repeat, 5)):
            for tool, cmd in cmds.items():
                times[tool].append(_time(cmd))
        base = statistics.median(times["python"])
        results["startup"] = {
            tool: {"median_s": statistics.median(ts), "over_python_s": statistics.median(ts) - base}
            for tool, ts in times.items()
        }
    return results


def to_markdown(results: dict) -> str:
    """The results as a Markdown table with the targets and whether they were met."""
    from perfkit._env import machine_info, utc_now_iso

    m = machine_info()
    names = list(results["workloads"])
    tools = list(next(iter(results["workloads"].values())))
    lines = [
        f"Measured {utc_now_iso()} on {m['cpu_model']} ({m['cpu_count']} cores), Python "
        f"{m['python_version']}; whole-process wall, median of {results['repeat']}, "
        f"workload scale {results['scale']}. Ratio to plain python (lower is better).",
        "",
        "| tool | " + " | ".join(names) + " | target | met |",
        "|---|" + "---|" * len(names) + "---|---|",
    ]
    for tool in tools:
        ratios = [results["workloads"][n][tool]["ratio"] for n in names]
        target = TARGETS.get(tool)
        met = "" if target is None else ("yes" if max(ratios) <= target else "no")
        cells = " | ".join(
            f"{r:.2f}x ({results['workloads'][n][tool]['median_s']:.2f} s)"
            for r, n in zip(ratios, names, strict=True)
        )
        lines.append(f"| {tool} | {cells} | {f'<= {target}x' if target else ''} | {met} |")
    lines += [
        "",
        "| start-up (empty script) | wall | over python | target | met |",
        "|---|---|---|---|---|",
    ]
    for tool, r in results["startup"].items():
        target = STARTUP_TARGET_S if tool == "perfkit" else None
        met = "" if target is None else ("yes" if r["over_python_s"] <= target else "no")
        lines.append(
            f"| {tool} | {r['median_s']:.3f} s | {r['over_python_s']:+.3f} s | "
            f"{f'<= +{target} s' if target else ''} | {met} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m perfkit.profiling.overhead", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workload", action="append", choices=list(WORKLOADS))
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="also write the Markdown table")
    args = parser.parse_args(argv)
    results = measure(args.repeat, args.scale, args.workload)
    md = to_markdown(results)
    sys.stdout.write(md)
    if args.json:
        from perfkit._atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=1))
    if args.markdown:
        from perfkit._atomic import atomic_write_text

        atomic_write_text(args.markdown, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
