"""Measure the regression gate: false alarms on unchanged code, detection of a planted slowdown.

``python -m perfkit.bench.gate_study [--runs 20] [--out reports/gate.md]``

Runs the real gate (:func:`perfkit.bench.gate.run_gate`, two worker processes per run) ``runs``
times on unchanged code (base and candidate are both ``HEAD``, each from its own worktree
process) and ``runs`` times with the candidate of one case slowed by ``--factor`` (1.3: the
worker spins for 0.3x the call's own time after each call). The two kinds of run alternate, so
load drift lands on both. Targets (issue 14): no unchanged run flags a regression; the planted
slowdown is flagged in every planted run. A target is only called met when the load average was
at most 0.5 before and after the study; otherwise it says "not judged".

The default selection (five quick grid points of the playbook, workers importing only the
playbook module) keeps a full study under 5 minutes on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass

from perfkit._env import wait_for_idle
from perfkit.bench.compare import parse_threshold
from perfkit.bench.gate import Side, repo_root, resolve, run_gate, worktree
from perfkit.errors import PerfkitError

#: A target is judged only on a machine at most this loaded (1-minute load average).
MAX_LOAD = 0.5
DEFAULT_PLANT = "fib_divisible_by_3[n=2000]"
#: Five small grid points (pure Python and NumPy) keep 40 gate runs under 5 minutes.
DEFAULT_PATTERN = "fib|small_sequence|select_rows|scale_in_place"


def copy_bandwidth(nbytes: int = 80_000_000, repeat: int = 7) -> float:
    """Bytes read + written per second by ``np.copyto`` between two preallocated arrays."""
    import numpy as np

    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - t)
    return 2 * nbytes / statistics.median(times)


@dataclass(frozen=True)
class StudyRun:
    """One gate run of the study."""

    kind: str  # unchanged | planted
    flagged: tuple[str, ...]
    planted_ratio: float | None
    planted_p: float | None
    failed: tuple[str, ...]
    duration_s: float


def _verdict(ok: bool, loads: tuple[float, float]) -> str:
    if max(loads) > MAX_LOAD:
        return f"not judged (load average {max(loads):.2f} > {MAX_LOAD})"
    return "met" if ok else "NOT met"


def study(
    runs: int,
    plant: str,
    factor: float,
    *,
    group: str | None,
    pattern: str | None,
    modules: str | None,
    rounds: int,
    repeat: int,
    threshold: float,
    log: bool = True,
) -> tuple[list[StudyRun], str]:
    """Run the gate ``runs`` times unchanged and ``runs`` times planted; return the runs."""
    repo = repo_root()
    sha = resolve(repo, "HEAD")
    out: list[StudyRun] = []
    with worktree(repo, sha) as tree:
        for i in range(2 * runs):
            kind = "unchanged" if i % 2 == 0 else "planted"
            cand = Side(tree, "candidate", sha, (plant, factor) if kind == "planted" else None)
            res = run_gate(
                Side(tree, "base", sha),
                cand,
                modules=modules,
                pattern=pattern,
                group=group,
                quick=True,
                rounds=rounds,
                repeat=repeat,
                threshold=threshold,
            )
            change = next((c for c in res.comparison.changes if c.id == plant), None)
            run = StudyRun(
                kind,
                tuple(c.id for c in res.comparison.regressed),
                change.ratio if change else None,
                change.p_slower if change else None,
                tuple(r.id for r in res.candidate.failed),
                res.duration_s,
            )
            out.append(run)
            if log:
                print(
                    f"gate-study: {i + 1}/{2 * runs} {kind}: flagged {list(run.flagged)} "
                    f"({run.duration_s:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    return out, sha


def report(
    runs: list[StudyRun],
    sha: str,
    *,
    plant: str,
    factor: float,
    loads: tuple[float, float],
    bandwidth: float,
    settings: str,
    wall_s: float,
) -> str:
    """The markdown report: machine, load, each target met / NOT met, every run."""
    from perfkit._env import machine_info

    mi = machine_info()
    unchanged = [r for r in runs if r.kind == "unchanged"]
    planted = [r for r in runs if r.kind == "planted"]
    false_alarms = [r for r in unchanged if r.flagged]
    caught = [r for r in planted if plant in r.flagged]
    other_flags = [r for r in planted if set(r.flagged) - {plant}]
    broken = [r for r in runs if r.failed]
    lines = [
        "# Regression gate: false alarms and detection",
        "",
        "Produced by `python -m perfkit.bench.gate_study` (the real gate: base and candidate in "
        "fresh worker processes every round, grid points alternated, per-sample times pooled "
        "over rounds, one-sided Mann-Whitney U plus the threshold). Figures measured with a "
        "load average above 0.5 are not judged: re-run on an idle machine.",
        "",
        "## Machine",
        "",
        f"- CPU: {mi.get('cpu_model')}, {mi.get('cpu_count')} cores; host {mi.get('node')}",
        f"- Python {mi.get('python_version')}, numpy {mi.get('versions', {}).get('numpy', '?')}",
        f"- Copy bandwidth (np.copyto, 80 MB, read + write): {bandwidth / 1e9:.1f} GB/s",
        f"- Load average (1 min): {loads[0]:.2f} before, {loads[1]:.2f} after "
        f"(targets are judged only at <= {MAX_LOAD})",
        f"- Commit {sha[:10]}; study wall time {wall_s:.0f} s",
        f"- Settings: {settings}",
        "",
        "## Targets (issue 14)",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| {len(unchanged)} re-runs of unchanged code flag no regression | "
        f"{len(false_alarms)} of {len(unchanged)} flagged something | "
        f"{_verdict(not false_alarms and len(unchanged) >= 20, loads)} |",
        f"| a planted {factor:g}x slowdown of `{plant}`'s candidate is flagged every time | "
        f"flagged in {len(caught)} of {len(planted)} | "
        f"{_verdict(len(caught) == len(planted) and len(planted) >= 20, loads)} |",
        "",
    ]
    if len(unchanged) < 20:
        lines += [f"Only {len(unchanged)} runs per kind (the targets need 20): a smoke run.", ""]
    if other_flags:
        lines += [
            f"In {len(other_flags)} planted run(s) another case was flagged as well (a false "
            "alarm beside the detection).",
            "",
        ]
    if broken:
        lines += [f"{len(broken)} run(s) had a failed check: {broken[0].failed}", ""]
    lines += [
        "## Runs",
        "",
        "| # | kind | flagged | planted case: candidate median ratio | p (slower) | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, 1):
        ratio = f"{r.planted_ratio:.3f}" if r.planted_ratio is not None else "-"
        p = f"{r.planted_p:.2g}" if r.planted_p is not None else "-"
        flagged = ", ".join(f"`{f}`" for f in r.flagged) or "none"
        lines.append(f"| {i} | {r.kind} | {flagged} | {ratio} | {p} | {r.duration_s:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the study and write the report; exit 0 when written (whatever the verdicts)."""
    p = argparse.ArgumentParser(prog="python -m perfkit.bench.gate_study", description=__doc__)
    p.add_argument("--runs", type=int, default=20, help="runs of each kind (20)")
    p.add_argument("--out", default="reports/gate.md", help="report file (reports/gate.md)")
    p.add_argument("--plant", default=DEFAULT_PLANT, help=f"grid point to slow ({DEFAULT_PLANT})")
    p.add_argument("--factor", type=float, default=1.3, help="planted slowdown (1.3)")
    p.add_argument("--group", default="playbook")
    p.add_argument("-k", dest="pattern", default=DEFAULT_PATTERN)
    p.add_argument("--modules", default="perfkit.bench.playbook")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threshold", default="10%")
    args = p.parse_args(argv)
    try:
        from perfkit._atomic import atomic_write_text, check_writable

        check_writable(args.out)
        if args.runs < 1 or args.factor <= 1:
            raise PerfkitError("--runs must be >= 1 and --factor > 1")
        threshold = parse_threshold(args.threshold)
        started = time.perf_counter()
        load_before = wait_for_idle()
        bandwidth = copy_bandwidth()
        runs, sha = study(
            args.runs,
            args.plant,
            args.factor,
            group=args.group,
            pattern=args.pattern,
            modules=args.modules,
            rounds=args.rounds,
            repeat=args.repeat,
            threshold=threshold,
        )
        load_after = wait_for_idle()
        settings = (
            f"group {args.group}, -k {args.pattern}, quick grid, {args.rounds} rounds x "
            f"{args.repeat} samples per side, threshold {threshold:.0%}, alpha 0.01"
        )
        text = report(
            runs,
            sha,
            plant=args.plant,
            factor=args.factor,
            loads=(load_before, load_after),
            bandwidth=bandwidth,
            settings=settings,
            wall_s=time.perf_counter() - started,
        )
        path = atomic_write_text(args.out, text)
        print(text)
        print(f"gate-study: report written to {path}", file=sys.stderr)
        return 0
    except PerfkitError as exc:
        print(f"perfkit gate-study: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
