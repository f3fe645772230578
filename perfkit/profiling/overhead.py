"""Profiler overhead benchmark (issue 12): perfkit beside py-spy, pyinstrument and cProfile.

``python -m perfkit.profiling.overhead [--quick] [--repeat 3] [--short-repeat 7] [--markdown PATH]``

Programs: eleven programs of the pyperformance suite (``pyperformance==1.14.0``, installed into
this interpreter with pip when missing: deepcopy, deltablue, fannkuch, float, go, hexiom, nbody,
nqueens, raytrace, richards, spectral_norm; each benchmark's work function called once from a
plain script) plus perfkit's call-heavy, NumPy-heavy and allocation-heavy workloads
(``examples/overhead_*.py``). Tools: plain python, ``py-spy record`` at 100 Hz (out of process;
pip ``py-spy``), ``perfkit profile`` (default), ``perfkit profile --memory``, pyinstrument and
cProfile. Each figure is the whole-process wall time of one command, the median of ``--repeat``
runs interleaved round-robin (so load drift hits every tool alike), as a ratio to plain python
in the same run. User and system CPU of each command are recorded too (``wait4``): the system
CPU of the allocation-heavy workload is where a second running thread's cost shows.

Targets (the issue's numbers, never lowered): on programs whose plain run takes >= 0.3 s,
``perfkit`` geomean <= 1.10x and worst <= 1.25x; ``perfkit --memory`` geomean <= 1.20x;
start-up on an empty script <= +0.1 s over python. A target is never called met when the load
average before or after the run is above 0.5: it is marked unmeasurable instead.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PYPERFORMANCE_VERSION = "1.14.0"
GEOMEAN_TARGET = 1.10
WORST_TARGET = 1.25
MEMORY_GEOMEAN_TARGET = 1.20
STARTUP_TARGET_S = 0.1
MIN_PROGRAM_S = 0.3
MAX_LOAD = 0.5
#: Programs whose plain run is shorter than this get the extra rounds of ``--short-repeat``.
SHORT_PROGRAM_S = 1.0
#: The tools the targets judge (and their references): the only ones given extra rounds.
JUDGED_TOOLS = ("python", "py-spy", "perfkit", "perfkit --memory")

#: pyperformance program -> (benchmark folder, the call of its work function, run once).
PYPERFORMANCE: dict[str, tuple[str, str]] = {
    "deepcopy": ("bm_deepcopy", "m.benchmark(4000)"),
    "deltablue": ("bm_deltablue", "m.delta_blue(20000)"),
    "fannkuch": ("bm_fannkuch", "m.fannkuch(m.DEFAULT_ARG)"),
    "float": ("bm_float", "m.benchmark(m.POINTS)"),
    "go": ("bm_go", "m.versus_cpu()"),
    "hexiom": ("bm_hexiom", "m.main(1, m.DEFAULT_LEVEL)"),
    "nbody": ("bm_nbody", "m.bench_nbody(1, m.DEFAULT_REFERENCE, m.DEFAULT_ITERATIONS)"),
    "nqueens": ("bm_nqueens", "m.bench_n_queens(8)"),
    "raytrace": ("bm_raytrace", "m.bench_raytrace(1, m.DEFAULT_WIDTH, m.DEFAULT_HEIGHT, None)"),
    "richards": ("bm_richards", "m.Richards().run(1)"),
    "spectral_norm": ("bm_spectral_norm", "m.bench_spectral_norm(1)"),
}
#: perfkit's own workloads (examples/).
WORKLOADS = {
    "call-heavy": "overhead_call_heavy.py",
    "numpy-heavy": "overhead_numpy_heavy.py",
    "alloc-heavy": "overhead_alloc_heavy.py",
}
TOOLS = ("python", "py-spy", "perfkit", "perfkit --memory", "pyinstrument", "cProfile")
QUICK_PROGRAMS = ("nqueens", "richards", "call-heavy")

_SCRIPT = """\
import importlib.util
import sys

spec = importlib.util.spec_from_file_location("bm", {path!r})
m = importlib.util.module_from_spec(spec)
sys.modules["bm"] = m
spec.loader.exec_module(m)
{call}
"""

#: Bytecode caching on, as on a user's machine.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def ensure_installed(module: str, requirement: str) -> bool:
    """Import ``module``, pip-installing ``requirement`` into this interpreter when missing."""
    import importlib.util

    if importlib.util.find_spec(module) is not None:
        return True
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", requirement],
        capture_output=True,
        text=True,
        check=False,
    )
    importlib.invalidate_caches()
    return proc.returncode == 0 and importlib.util.find_spec(module) is not None


def py_spy_path() -> str | None:
    """The py-spy executable beside this interpreter (pip-installed on demand), or on PATH."""
    here = Path(sys.executable).with_name("py-spy")
    if not here.exists() and shutil.which("py-spy") is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "py-spy"],
            capture_output=True,
            check=False,
        )
    return str(here) if here.exists() else shutil.which("py-spy")


def pyperformance_dir() -> Path | None:
    """The folder of pyperformance's benchmark sources (installed on demand), or None."""
    if not ensure_installed("pyperformance", f"pyperformance=={PYPERFORMANCE_VERSION}"):
        return None
    import pyperformance

    folder = Path(pyperformance.__file__).parent / "data-files" / "benchmarks"
    return folder if folder.is_dir() else None


def examples_dir() -> Path:
    """The repository's ``examples/`` folder (perfkit's workloads live there)."""
    here = Path(__file__).resolve().parents[2] / "examples"
    if not (here / "overhead_call_heavy.py").exists():
        from perfkit.errors import InputFileError

        raise InputFileError(
            f"overhead workloads not found in {here}", "run from a perfkit source checkout"
        )
    return here


def program_scripts(folder: Path, names: Sequence[str]) -> dict[str, str]:
    """Program name -> path of a plain script that runs it once (written into ``folder``)."""
    scripts: dict[str, str] = {}
    bench = None
    for name in names:
        if name in WORKLOADS:
            scripts[name] = str(examples_dir() / WORKLOADS[name])
            continue
        bench = bench or pyperformance_dir()
        if bench is None:
            continue
        sub, call = PYPERFORMANCE[name]
        path = folder / f"pp_{name}.py"
        path.write_text(_SCRIPT.format(path=str(bench / sub / "run_benchmark.py"), call=call))
        scripts[name] = str(path)
    return scripts


def commands(script: str, out: str, tools: Sequence[str]) -> dict[str, list[str]]:
    """Tool name -> the command that runs ``script`` under it (unavailable tools left out)."""
    py = sys.executable
    pk = [py, "-m", "perfkit", "profile", "--quiet", "--out", out]
    every = {
        "python": [py, script],
        "perfkit": [*pk, script],
        "perfkit --memory": [*pk, "--memory", script],
        "pyinstrument": [py, "-m", "pyinstrument", "-o", os.path.join(out, "p.txt"), script],
        "cProfile": [py, "-m", "cProfile", "-o", os.path.join(out, "c.pstats"), script],
    }
    spy = py_spy_path() if "py-spy" in tools else None
    if spy:
        every["py-spy"] = [
            spy, "record", "-r", "100", "-f", "speedscope", "-o", os.path.join(out, "s.json"),
            "--", py, script,
        ]  # fmt: skip
    return {t: every[t] for t in tools if t in every}


def run_once(cmd: list[str]) -> tuple[float, float, float]:
    """Wall, user CPU and system CPU of one run of ``cmd`` (children included)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        env=_ENV,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}")
    return wall, usage.ru_utime, usage.ru_stime


def measure(
    programs: Sequence[str],
    tools: Sequence[str] = TOOLS,
    repeat: int = 3,
    short_repeat: int | None = None,
) -> dict[str, Any]:
    """Every tool on every program, ``repeat`` interleaved rounds; medians and ratios.

    A program whose plain run (the warm-up) takes under :data:`SHORT_PROGRAM_S` gets
    ``short_repeat`` rounds (default ``repeat + 4``) of the tools the targets judge (plain python,
    py-spy, perfkit, perfkit --memory): a short program's ratio moves most with noise, and
    those rounds cost little. The slow unjudged tools keep ``repeat`` rounds.
    """
    from perfkit._env import bench_conditions, wait_for_idle

    short_repeat = repeat + 4 if short_repeat is None else max(short_repeat, repeat)
    before = bench_conditions()
    results: dict[str, Any] = {
        "repeat": repeat,
        "short_repeat": short_repeat,
        "programs": {},
        "startup": {},
        "skipped": [],
    }
    with tempfile.TemporaryDirectory(prefix="perfkit-overhead-") as tmp:
        scripts = program_scripts(Path(tmp), programs)
        results["skipped"] = [p for p in programs if p not in scripts]
        for name, script in scripts.items():
            cmds = commands(script, tmp, tools)
            runs: dict[str, list[tuple[float, float, float]]] = {t: [] for t in cmds}
            warm = {tool: run_once(cmd) for tool, cmd in cmds.items()}  # page cache, .pyc
            rounds = short_repeat if warm["python"][0] < SHORT_PROGRAM_S else repeat
            for i in range(rounds):
                for tool, cmd in cmds.items():
                    if i < repeat or tool in JUDGED_TOOLS:
                        runs[tool].append(run_once(cmd))
            results["programs"][name] = _summarise(runs)
        empty = os.path.join(tmp, "empty.py")
        Path(empty).write_text("")
        # py-spy cannot attach to a program that ends at once (it exits 1 on an empty script).
        skip = ("perfkit --memory", "py-spy")
        cmds = commands(empty, tmp, [t for t in tools if t not in skip])
        runs = {t: [] for t in cmds}
        for _ in range(max(repeat, 5)):
            for tool, cmd in cmds.items():
                runs[tool].append(run_once(cmd))
        results["startup"] = _summarise(runs)
    results["conditions"] = {**before, "load_average_1m_after": wait_for_idle()}
    results["targets"] = targets(results)
    return results


def round_ratio_spread(base: Sequence[float], other: Sequence[float]) -> tuple[float, float]:
    """Lowest and highest ratio of one round of ``other`` to the ``base`` run of the same round
    (round ``i`` against round ``i``; a side with fewer rounds pairs with the first ones): the
    noise a reader should allow around a ratio of medians. NaN without a pair."""
    paired = [o / b for o, b in zip(other, base, strict=False) if b > 0]
    return (min(paired, default=math.nan), max(paired, default=math.nan))


def _summarise(runs: dict[str, list[tuple[float, float, float]]]) -> dict[str, Any]:
    """Medians per tool, the ratio of medians, and the spread of the per-round ratios.

    Round ``i`` of a tool is paired with round ``i`` of plain python (run moments apart in
    the same round-robin), so ``ratio_min``/``ratio_max`` show how far one round's ratio
    strays: the noise a reader should allow around the median.
    """
    base_times = [r[0] for r in runs["python"]]
    base = statistics.median(base_times)
    out = {}
    for tool, rs in runs.items():
        wall = statistics.median(r[0] for r in rs)
        # a tool with fewer rounds (unjudged, slow) pairs with the first python rounds
        lo, hi = round_ratio_spread(base_times, [r[0] for r in rs])
        out[tool] = {
            "median_s": wall,
            "ratio": wall / base if base > 0 else float("nan"),
            "ratio_min": lo,
            "ratio_max": hi,
            "rounds": len(rs),
            "over_python_s": wall - base,
            "user_s": statistics.median(r[1] for r in rs),
            "sys_s": statistics.median(r[2] for r in rs),
            "times_s": [r[0] for r in rs],
        }
    return out


def ratio_cell(r: dict[str, Any]) -> str:
    """``1.09x (1.02-1.15)``: the judged ratio of medians, then the per-round spread."""
    lo, hi = r.get("ratio_min", math.nan), r.get("ratio_max", math.nan)
    if r.get("rounds", 1) < 2 or not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{r['ratio']:.2f}x"
    return f"{r['ratio']:.2f}x ({lo:.2f}–{hi:.2f})"


def geomean(values: Sequence[float]) -> float:
    """Geometric mean (NaN for an empty sequence)."""
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value and ``met`` / ``NOT met`` / ``unmeasurable``."""
    cond = results.get("conditions", {})
    loads = [cond.get("load_average_1m"), cond.get("load_average_1m_after")]
    too_loaded = any(v is None or v > MAX_LOAD for v in loads)
    eligible = {
        n: r for n, r in results["programs"].items() if r["python"]["median_s"] >= MIN_PROGRAM_S
    }

    def ratios(tool: str) -> list[float]:
        return [r[tool]["ratio"] for r in eligible.values() if tool in r]

    rows = [
        ("perfkit geomean (programs >= 0.3 s)", geomean(ratios("perfkit")), GEOMEAN_TARGET, "x"),
        ("perfkit worst (programs >= 0.3 s)", max(ratios("perfkit"), default=math.nan),
         WORST_TARGET, "x"),
        ("perfkit --memory geomean (programs >= 0.3 s)", geomean(ratios("perfkit --memory")),
         MEMORY_GEOMEAN_TARGET, "x"),
        ("start-up over python (empty script)",
         results["startup"].get("perfkit", {}).get("over_python_s", math.nan), STARTUP_TARGET_S,
         " s"),
    ]  # fmt: skip
    out = []
    for what, value, bound, unit in rows:
        if too_loaded:
            status = f"unmeasurable (load average {_load_text(loads)} > {MAX_LOAD})"
        elif not math.isfinite(value):
            status = "unmeasurable (no eligible program)"
        else:
            status = "met" if value <= bound else "NOT met"
        out.append({"target": what, "value": value, "bound": bound, "unit": unit, "status": status})
    return out


def _load_text(loads: list[float | None]) -> str:
    return "/".join("?" if v is None else f"{v:.2f}" for v in loads)


def to_markdown(results: dict[str, Any], command: str) -> str:
    """The report: conditions, the ratio table, the targets, the system-CPU view."""
    cond = results["conditions"]
    progs = results["programs"]
    tools = [t for t in TOOLS if any(t in r for r in progs.values())]
    lines = [
        "# perfkit profile — profiler overhead",
        "",
        f"Produced by `{command}` (`perfkit/profiling/overhead.py`). Whole-process wall time of",
        f"each command, median of {results['repeat']} runs interleaved round-robin "
        f"({results.get('short_repeat', results['repeat'])} for python, py-spy and perfkit on "
        f"programs under {SHORT_PROGRAM_S:g} s), as a ratio",
        "to plain python in the same run (lower is better); in brackets the lowest and highest",
        "ratio of a single round (each round against the python run of the same round): the",
        "noise around the median. pyperformance "
        f"{PYPERFORMANCE_VERSION} programs run their work function once from a plain script.",
        "",
        f"- measured: {cond.get('time')}",
        f"- CPU: {cond.get('cpu_model')} ({cond.get('cpu_count')} cores)",
        f"- load average (1 min): before {_load_text([cond.get('load_average_1m')])}, after "
        f"{_load_text([cond.get('load_average_1m_after')])} (targets need <= {MAX_LOAD})",
        f"- copy bandwidth: {cond.get('copy_bandwidth_gbs') or 0:.1f} GB/s",
        f"- python {sys.version.split()[0]}",
        "",
    ]
    if "--quick" in command:
        lines += [
            f"**Smoke run** (`--quick`: {', '.join(progs)}, one round): it shows the benchmark",
            "works, not the issue's figures. The report of record comes from "
            "`python -m perfkit.profiling.overhead` on an idle machine.",
            "",
        ]
    lines += [
        "| program | python | " + " | ".join(t for t in tools if t != "python") + " |",
        "|---|---|" + "---|" * (len(tools) - 1),
    ]
    for name, r in progs.items():
        mark = "" if r["python"]["median_s"] >= MIN_PROGRAM_S else " (< 0.3 s)"
        cells = [f"{r['python']['median_s']:.2f} s"] + [
            ratio_cell(r[t]) if t in r else "—" for t in tools if t != "python"
        ]
        lines.append(f"| {name}{mark} | " + " | ".join(cells) + " |")
    for label, rows in (
        ("geomean, all", list(progs.values())),
        (
            "geomean, >= 0.3 s",
            [r for r in progs.values() if r["python"]["median_s"] >= MIN_PROGRAM_S],
        ),
    ):
        cells = [
            f"{geomean([r[t]['ratio'] for r in rows if t in r]):.2f}x"
            for t in tools
            if t != "python"
        ]
        lines.append(f"| **{label}** | | " + " | ".join(cells) + " |")
    worst = [
        f"{max((r[t]['ratio'] for r in progs.values() if t in r), default=math.nan):.2f}x"
        for t in tools
        if t != "python"
    ]
    lines.append("| **worst, all** | | " + " | ".join(worst) + " |")
    lines += ["", "## Targets", "", "| target | measured | bound | status |", "|---|---|---|---|"]
    for t in results["targets"]:
        value = f"{t['value']:+.3f}{t['unit']}" if t["unit"] == " s" else f"{t['value']:.2f}x"
        bound = f"+{t['bound']}{t['unit']}" if t["unit"] == " s" else f"{t['bound']}x"
        lines.append(f"| {t['target']} | {value} | <= {bound} | {t['status']} |")
    lines += [
        "",
        "## Start-up and CPU",
        "",
        "| empty script | wall | over python |",
        "|---|---|---|",
    ]
    for tool, r in results["startup"].items():
        lines.append(f"| {tool} | {r['median_s']:.3f} s | {r['over_python_s']:+.3f} s |")
    lines += ["", "| program / tool | user CPU | system CPU |", "|---|---|---|"]
    for name in ("alloc-heavy", "call-heavy", "numpy-heavy"):
        for tool, r in progs.get(name, {}).items():
            lines.append(f"| {name} / {tool} | {r['user_s']:.2f} s | {r['sys_s']:.2f} s |")
    if results["skipped"]:
        lines += ["", f"Skipped (pyperformance unavailable): {', '.join(results['skipped'])}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the report."""
    parser = argparse.ArgumentParser(
        prog="python -m perfkit.profiling.overhead", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--short-repeat",
        type=int,
        default=None,
        help=f"rounds of python, py-spy and perfkit on programs under {SHORT_PROGRAM_S:g} s "
        "(default: --repeat + 4)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: {', '.join(QUICK_PROGRAMS)}, 1 round (figures not for targets)",
    )
    parser.add_argument("--program", action="append", choices=[*PYPERFORMANCE, *WORKLOADS])
    parser.add_argument("--tool", action="append", choices=list(TOOLS))
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures as JSON")
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        help="where the report goes (default reports/profiler-overhead.md; with --quick only "
        "stdout unless given)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or (args.short_repeat is not None and args.short_repeat < 1):
        parser.error("--repeat and --short-repeat must be at least 1")
    programs = args.program or (
        list(QUICK_PROGRAMS) if args.quick else [*PYPERFORMANCE, *WORKLOADS]
    )
    tools = list(args.tool or TOOLS)
    if "python" not in tools:
        tools.insert(0, "python")
    if args.quick:
        results = measure(programs, tools, 1, short_repeat=1)
    else:
        results = measure(programs, tools, args.repeat, args.short_repeat)
    command = "python -m perfkit.profiling.overhead" + (" --quick" if args.quick else "")
    md = to_markdown(results, command)
    sys.stdout.write(md)
    from perfkit._atomic import atomic_write_text, dumps_strict

    if args.json:
        atomic_write_text(args.json, dumps_strict(results, indent=1))
    target = args.markdown or (None if args.quick else "reports/profiler-overhead.md")
    if target and target != "-":
        atomic_write_text(target, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
