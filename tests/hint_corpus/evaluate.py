"""Measure each hint rule's precision and recall on the hint corpus; write ``reports/hints.md``.

Every program in this folder is run under ``perfkit profile --memory`` (in a subprocess, exactly
as a user would); the hints of the rules in :mod:`perfkit.profiling.hints` are computed from the
saved profile and compared with ``expectations.json`` (rule id + line per planted problem; clean
controls expect none). A hint counts as found when its rule and line match an expected one;
any other hint on a program's own file is a false positive.

Usage (from the repository root)::

    python -m tests.hint_corpus.evaluate              # all programs -> reports/hints.md
    python -m tests.hint_corpus.evaluate --quick      # three programs, report to stdout only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXPECTATIONS = HERE / "expectations.json"
DEFAULT_REPORT = REPO / "reports" / "hints.md"
#: ``# planted: rule-id`` marks the line of a planted problem in a corpus program.
MARKER = re.compile(r"#\s*planted:\s*([a-z0-9-]+)")
#: Programs of ``--quick``: one planted memory problem, one planted loop, one clean control.
QUICK = (
    "p02_features_fancy_index.py",
    "p05_indicators_joblib_numba.py",
    "p03_mask_filter_clean.py",
)


@dataclass(frozen=True)
class Expected:
    """One planted problem: the rule that must report it, at this line."""

    rule: str
    line: int


@dataclass
class Program:
    """A corpus program and what its profile's hints must be."""

    file: str
    kind: str  # "planted" or "clean"
    topic: str
    expected: tuple[Expected, ...]


@dataclass
class Outcome:
    """What the rules said about one program."""

    program: Program
    found: list[tuple[str, int]] = field(default_factory=list)
    missed: list[tuple[str, int]] = field(default_factory=list)
    unexpected: list[tuple[str, int, str]] = field(default_factory=list)
    wall_s: float = 0.0
    error: str = ""


def load_expectations(path: Path = EXPECTATIONS) -> tuple[dict[str, Any], list[Program]]:
    """The targets and the programs of ``expectations.json``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    programs = [
        Program(
            file=p["file"],
            kind=p["kind"],
            topic=p["topic"],
            expected=tuple(Expected(e["rule"], int(e["line"])) for e in p["expected"]),
        )
        for p in data["programs"]
    ]
    return data["targets"], programs


def markers(path: Path) -> list[Expected]:
    """The ``# planted: rule`` markers of a program, as expectations."""
    out = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        out.extend(Expected(m.group(1), number) for m in MARKER.finditer(text))
    return out


def profile_program(path: Path, out_dir: Path) -> Any:
    """Run ``perfkit profile --memory`` on ``path`` and load the profile it saved."""
    from perfkit.profiling.model import Profile

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable,
        "-m",
        "perfkit",
        "profile",
        "--memory",
        "--format",
        "json",
        "--quiet",
        "--no-subprocesses",
        "--out",
        str(out_dir),
        str(path),
    ]
    proc = subprocess.run(
        cmd, cwd=path.parent, env=env, capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"perfkit profile {path.name} exited {proc.returncode}: {proc.stderr[-2000:]}"
        )
    return Profile.load(out_dir / "profile.json")


def judge(program: Program, profile: Any) -> Outcome:
    """Compare the hints of ``profile`` (computed by the current rules) with the expectations."""
    from perfkit.profiling.hints import find_hints

    name = program.file
    hints = [h for h in find_hints(profile) if Path(h.file).name == name]
    want = {(e.rule, e.line) for e in program.expected}
    got = {(h.rule, h.line) for h in hints}
    outcome = Outcome(program, wall_s=profile.wall_s)
    outcome.found = sorted(want & got)
    outcome.missed = sorted(want - got)
    titles = {(h.rule, h.line): h.title for h in hints}
    outcome.unexpected = sorted((r, ln, titles[(r, ln)]) for r, ln in got - want)
    return outcome


def evaluate(
    programs: Iterable[Program], keep: Path | None = None, reuse: Path | None = None
) -> list[Outcome]:
    """Profile and judge every program, one after another (noise from each other is avoided).

    ``keep``: save the profiles there; ``reuse``: judge the profiles saved there by an earlier
    run instead of profiling again (the rules are deterministic given a profile).
    """
    from perfkit.errors import PerfkitError
    from perfkit.profiling.model import Profile

    outcomes = []
    with tempfile.TemporaryDirectory(prefix="perfkit-hint-corpus-") as tmp:
        for program in programs:
            out_dir = (keep or Path(tmp)) / Path(program.file).stem
            try:
                if reuse is not None:
                    profile = Profile.load(reuse / Path(program.file).stem / "profile.json")
                else:
                    profile = profile_program(HERE / program.file, out_dir)
            except (RuntimeError, subprocess.TimeoutExpired, PerfkitError) as exc:
                outcomes.append(
                    Outcome(
                        program, missed=[(e.rule, e.line) for e in program.expected], error=str(exc)
                    )
                )
                continue
            outcomes.append(judge(program, profile))
    return outcomes


@dataclass
class RuleScore:
    """True/false positives and misses of one rule over the corpus."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def scores(outcomes: Sequence[Outcome], rules: Iterable[str]) -> dict[str, RuleScore]:
    """Per-rule counts over all programs."""
    table = {r: RuleScore() for r in rules}
    for o in outcomes:
        for rule, _ in o.found:
            table.setdefault(rule, RuleScore()).tp += 1
        for rule, _ in o.missed:
            table.setdefault(rule, RuleScore()).fn += 1
        for rule, _, _ in o.unexpected:
            table.setdefault(rule, RuleScore()).fp += 1
    return table


def rule_ids() -> list[str]:
    """The ids of the rules in :data:`perfkit.profiling.hints.RULES`, from their docstring-free
    names (``rule_copy_not_view`` -> ``copy-not-view``)."""
    from perfkit.profiling.hints import RULES

    return [r.__name__.removeprefix("rule_").replace("_", "-") for r in RULES]


def verdicts(table: dict[str, RuleScore], targets: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    """Per rule: (met, why) against the targets (recall and precision lower bounds)."""
    out = {}
    for rule, s in table.items():
        problems = []
        if s.recall is not None and s.recall < targets["recall"]:
            problems.append(f"recall {s.recall:.2f} < {targets['recall']}")
        if s.precision is not None and s.precision < targets["precision"]:
            problems.append(f"precision {s.precision:.2f} < {targets['precision']}")
        if s.tp + s.fn == 0:
            problems.append("no planted problem for this rule")
        out[rule] = (not problems, "; ".join(problems))
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def _load() -> float:
    """The settled 1-minute load average (as the other benchmarks read it: before, wait for an
    idle machine; after, let this run's own processes' load decay), NaN where there is none."""
    from perfkit._env import wait_for_idle

    load = wait_for_idle()
    return float("nan") if load is None else load


def render(
    outcomes: Sequence[Outcome],
    targets: dict[str, Any],
    load_before: float,
    load_after: float,
    elapsed_s: float,
) -> str:
    """The Markdown report: per-rule precision/recall with verdicts, then per-program detail."""
    table = scores(outcomes, rule_ids())
    judged = verdicts(table, targets)
    clean_hits = [o for o in outcomes if o.program.kind == "clean" and o.unexpected]
    n_planted = sum(len(o.program.expected) for o in outcomes)
    lines = [
        "# Hint rules: precision and recall on the hint corpus",
        "",
        "Generated by `python -m tests.hint_corpus.evaluate` (do not edit by hand). Each program",
        "of `tests/hint_corpus/` ran under `perfkit profile --memory`; the hints of",
        "`perfkit/profiling/hints.py` were compared with `tests/hint_corpus/expectations.json`",
        "(rule id + line of each planted problem; clean controls expect no hint).",
        "",
        f"- machine: {_cpu_model()}, {os.cpu_count()} cores",
        f"- load average (1 min) before / after: {load_before:.2f} / {load_after:.2f}",
        f"- programs: {len(outcomes)} ({sum(o.program.kind == 'clean' for o in outcomes)} clean "
        f"controls), planted problems: {n_planted}, run time {elapsed_s:.0f} s",
        f"- targets per rule: recall >= {targets['recall']}, precision >= {targets['precision']};"
        " and no hint at all on a clean control",
        "",
        "Precision and recall are counts of hints, not timings, but the profile is sampled: a",
        "loaded machine can shift a borderline line across a hotness threshold. The planted",
        "problems dominate their programs so that the figures hold under load; a report",
        "written with load average above 0.5 says so below.",
        "",
        "| rule | planted | found | missed | false hints | recall | precision | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    loaded = max(load_before, load_after) > 0.5
    provisional = f" (provisional: load {max(load_before, load_after):.2f} > 0.5)" if loaded else ""
    for rule, s in table.items():
        met, why = judged[rule]
        rec = "—" if s.recall is None else f"{s.recall:.2f}"
        prec = "—" if s.precision is None else f"{s.precision:.2f}"
        lines.append(
            f"| `{rule}` | {s.tp + s.fn} | {s.tp} | {s.fn} | {s.fp} | {rec} | {prec} | "
            f"{'met' + provisional if met else 'NOT met: ' + why} |"
        )
    lines += [
        "",
        f"Clean controls with a hint: {len(clean_hits)} of "
        f"{sum(o.program.kind == 'clean' for o in outcomes)} "
        f"({'met' + provisional if not clean_hits else 'NOT met'}).",
    ]
    if loaded:
        lines += [
            "",
            f"**Measured under load** (load average {max(load_before, load_after):.2f} > 0.5): "
            "the figures above are from a busy machine; rerun on an idle one for the record.",
        ]
    lines += [
        "",
        "## Programs",
        "",
        "| program | topic | kind | expected | found | missed | unexpected hints | wall s |",
        "|---|---|---|---|---|---|---|---:|",
    ]
    for o in outcomes:
        exp = ", ".join(f"{e.rule}@{e.line}" for e in o.program.expected) or "none"
        found = ", ".join(f"{r}@{ln}" for r, ln in o.found) or "—"
        missed = ", ".join(f"{r}@{ln}" for r, ln in o.missed) or "—"
        extra = "; ".join(f"{r}@{ln} ({t})" for r, ln, t in o.unexpected) or "—"
        if o.error:
            extra = f"error: {o.error[:120]}"
        lines.append(
            f"| `{o.program.file}` | {o.program.topic} | {o.program.kind} | {exp} | {found} | "
            f"{missed} | {extra} | {o.wall_s:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_REPORT, help="report file")
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}; print")
    parser.add_argument("--keep", type=Path, help="keep the profiles in this folder")
    parser.add_argument(
        "--reuse", type=Path, help="judge the profiles a --keep run saved there (no profiling)"
    )
    args = parser.parse_args(argv)
    targets, programs = load_expectations()
    if args.quick:
        programs = [p for p in programs if p.file in QUICK]
    load_before = _load()
    start = time.perf_counter()
    outcomes = evaluate(programs, args.keep, args.reuse)
    text = render(outcomes, targets, load_before, _load(), time.perf_counter() - start)
    if args.quick:
        sys.stdout.write(text)
        return 0
    from perfkit._atomic import atomic_write_text

    atomic_write_text(args.out, text)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
