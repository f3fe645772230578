"""Measure the regression gate: false alarms on unchanged code, detection of a planted slowdown.

``python -m perfkit.bench.gate_study [--runs 20] [--out reports/gate.md]``

Runs the real gate (:func:`perfkit.bench.gate.run_gate`: a fresh base and candidate process
every round, one log ratio of medians per round and case, a one-sided t test on those per-round
log ratios Holm-adjusted over the cases plus the threshold; the cases the first pass does not
settle get new rounds and are judged on all their rounds) ``runs`` times on unchanged code
(base and candidate are both ``HEAD``, each side its own process) and ``runs`` times with the
candidate of one case slowed by ``--factor`` (1.3: after each call the worker keeps the CPU busy
for 0.3x that call's own measured time, so the candidate does 1.3x its work). The two kinds of
run alternate, so load drift lands on both. Targets (issue 14): no unchanged run flags a
regression; the planted slowdown is flagged in every planted run. A target is only called met
when the load average was at most 0.5 before and after the study; otherwise it says "not
judged". The report also says how often the first pass alone would have been wrong, and writes
every run's figures to a JSON file beside the markdown.

The default selection (five quick grid points of the playbook, workers importing only the
playbook module) is meant to keep a full study of 40 gate runs under about 20 minutes on an
idle 2-core machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from perfkit._env import wait_for_idle
from perfkit.bench.compare import parse_threshold
from perfkit.bench.gate import (
    MIN_SAMPLE_S,
    REPEAT,
    ROUNDS,
    Side,
    repo_root,
    resolve,
    run_gate,
    worktree,
)
from perfkit.errors import PerfkitError, UsageError

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
    flagged: tuple[str, ...]  # the gate's verdict (after confirmation)
    planted_ratio: float | None  # the verdict's geometric-mean ratio over all its rounds
    planted_p: float | None  # Holm-adjusted, the verdict's
    failed: tuple[str, ...]
    duration_s: float
    first_flagged: tuple[str, ...] = ()  # flagged by the first pass alone
    planted_ci: tuple[float, float] | None = None  # the verdict's 95% CI (t on round log ratios)
    confirm_ratio: float | None = None  # planted case's ratio in the new rounds alone
    first_ratio: float | None = None  # planted case's ratio in the first pass alone
    planted_rounds: int | None = None  # rounds behind the planted case's verdict


def _verdict(ok: bool, loads: tuple[float, float]) -> str:
    if any(math.isnan(x) for x in loads):
        return "not judged (load average unknown)"
    if max(loads) > MAX_LOAD:
        return f"not judged (load average {max(loads):.2f} > {MAX_LOAD})"
    return "met" if ok else "NOT met"


def _load(value: float | None) -> float:
    return math.nan if value is None else float(value)


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
    confirm_rounds: int | None = None,
    min_sample_s: float = MIN_SAMPLE_S,
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
                confirm_rounds=confirm_rounds,
                min_sample_s=min_sample_s,
            )
            first = res.first or res.comparison
            change = next((c for c in res.comparison.changes if c.id == plant), None)
            early = next((c for c in first.changes if c.id == plant), None)
            again = next(
                (
                    c
                    for c in (res.confirmation.changes if res.confirmation else ())
                    if c.id == plant
                ),
                None,
            )
            run = StudyRun(
                kind,
                tuple(c.id for c in res.comparison.regressed),
                change.ratio if change else None,
                change.p_slower_adjusted if change else None,
                tuple(r.id for r in res.candidate.failed),
                res.duration_s,
                tuple(c.id for c in first.regressed),
                change.ratio_ci if change else None,
                again.ratio if again else None,
                early.ratio if early else None,
                change.rounds if change else None,
            )
            out.append(run)
            if log:
                print(
                    f"gate-study: {i + 1}/{2 * runs} {kind}: flagged {list(run.flagged)} "
                    f"(first pass {list(run.first_flagged)}; {run.duration_s:.1f} s)",
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
    first_alarms = [r for r in unchanged if r.first_flagged]
    first_other = [r for r in planted if set(r.first_flagged) - {plant}]
    first_caught = [r for r in planted if plant in r.first_flagged]
    durations = sorted(r.duration_s for r in runs)
    lines = [
        "# Regression gate: false alarms and detection",
        "",
        "Produced by `python -m perfkit.bench.gate_study` (the real gate: a fresh base and "
        "candidate process every round with the same PYTHONHASHSEED, grid points alternated; "
        "the unit of evidence is the round: one log ratio of medians per round and case, a "
        "one-sided t test on those per-round log ratios Holm-adjusted over the cases plus the "
        "threshold on their geometric mean; each case the first pass does not settle gets new "
        "rounds in batches and is judged on all its rounds, first pass and confirmation "
        "pooled). Figures measured with a load average above 0.5 are not judged: re-run on an "
        "idle machine.",
        "",
        "## Machine",
        "",
        f"- CPU: {mi.get('cpu_model')}, {mi.get('cpu_count')} cores; host {mi.get('node')}",
        f"- Python {mi.get('python_version')}, numpy {mi.get('versions', {}).get('numpy', '?')}",
        f"- Copy bandwidth (np.copyto, 80 MB, read + write): {bandwidth / 1e9:.1f} GB/s",
        f"- Load average (1 min): {loads[0]:.2f} before, {loads[1]:.2f} after "
        f"(targets are judged only at <= {MAX_LOAD})",
        f"- Commit {sha[:10]}; study wall time {wall_s:.0f} s; one gate run "
        f"{durations[0]:.1f}-{durations[-1]:.1f} s (median {statistics.median(durations):.1f} s)",
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
    lines += [
        "## What the new rounds did",
        "",
        f"- The first pass alone flagged something in {len(first_alarms)} of {len(unchanged)} "
        f"unchanged runs and another case beside the planted one in {len(first_other)} of "
        f"{len(planted)} planted runs; it flagged the planted case in {len(first_caught)} of "
        f"{len(planted)}.",
        f"- On all the rounds: {len(false_alarms)} unchanged run(s) and {len(other_flags)} "
        f"planted run(s) with a false alarm; the planted case flagged in {len(caught)}.",
        "",
    ]
    if broken:
        lines += [f"{len(broken)} run(s) had a failed check: {broken[0].failed}", ""]
    lines += [
        "## Runs",
        "",
        "Planted case's figures: the verdict's geometric-mean ratio over all its rounds, its "
        "95% CI (t on per-round log ratios), Holm-adjusted p (slower) and the number of rounds; "
        "the ratio of the first pass alone and of the new rounds alone.",
        "",
        "| # | kind | flagged (verdict) | first pass flagged | planted: ratio | 95% CI "
        "| p Holm | rounds | first pass ratio | new rounds ratio | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, 1):
        ratio = f"{r.planted_ratio:.3f}" if r.planted_ratio is not None else "-"
        ci = f"{r.planted_ci[0]:.3f}-{r.planted_ci[1]:.3f}" if r.planted_ci else "-"
        p = f"{r.planted_p:.2g}" if r.planted_p is not None else "-"
        again = f"{r.confirm_ratio:.3f}" if r.confirm_ratio is not None else "-"
        early = f"{r.first_ratio:.3f}" if r.first_ratio is not None else "-"
        n = str(r.planted_rounds) if r.planted_rounds is not None else "-"
        flagged = ", ".join(f"`{f}`" for f in r.flagged) or "none"
        first = ", ".join(f"`{f}`" for f in r.first_flagged) or "none"
        lines.append(
            f"| {i} | {r.kind} | {flagged} | {first} | {ratio} | {ci} | {p} | {n} | {early} "
            f"| {again} | {r.duration_s:.1f} |"
        )
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
    p.add_argument("--rounds", type=int, default=ROUNDS)
    p.add_argument("--repeat", type=int, default=REPEAT)
    p.add_argument("--confirm-rounds", type=int, help="default: twice --rounds")
    p.add_argument("--min-sample-ms", type=float, default=MIN_SAMPLE_S * 1e3)
    p.add_argument("--threshold", default="10%")
    args = p.parse_args(argv)
    # A kill (SIGTERM, e.g. a timeout) unwinds like Ctrl-C, so the gate removes its worktrees.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        from perfkit._atomic import atomic_write_text, check_writable, dumps_strict

        if not args.out.endswith(".md"):
            raise UsageError(f"--out {args.out!r} must end in .md", "e.g. --out reports/gate.md")
        check_writable(args.out)
        if args.runs < 1 or args.factor <= 1:
            raise UsageError(
                f"--runs must be >= 1 and --factor > 1, got {args.runs} and {args.factor:g}"
            )
        threshold = parse_threshold(args.threshold)
        started = time.perf_counter()
        load_before = _load(wait_for_idle())
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
            confirm_rounds=args.confirm_rounds,
            min_sample_s=args.min_sample_ms / 1e3,
        )
        load_after = _load(wait_for_idle())
        more = 2 * args.rounds if args.confirm_rounds is None else args.confirm_rounds
        settings = (
            f"group {args.group}, -k {args.pattern}, quick grid, {args.rounds} first-pass rounds "
            f"x {args.repeat} samples per side (each >= {args.min_sample_ms:g} ms), then up to "
            f"{more} new rounds in batches of {args.rounds} for the cases not settled, "
            f"threshold {threshold:.0%}, one-sided t on per-round log ratios at alpha 0.01 "
            "(divided by the number of looks) Holm-adjusted over the cases"
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
        doc = {
            "kind": "perfkit.gate_study",
            "commit": sha,
            "settings": settings,
            "plant": args.plant,
            "factor": args.factor,
            "load_average_1m": {"before": load_before, "after": load_after},
            "copy_bandwidth_bytes_per_s": bandwidth,
            "runs": [dataclasses.asdict(r) for r in runs],
        }
        atomic_write_text(
            str(Path(args.out).with_suffix(".json")), dumps_strict(doc, indent=2) + "\n"
        )
        path = atomic_write_text(args.out, text)
        print(text)
        print(f"gate-study: report written to {path}", file=sys.stderr)
        return 0
    except PerfkitError as exc:
        print(f"perfkit gate-study: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perfkit gate-study: interrupted; no report written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
