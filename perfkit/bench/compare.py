"""Compare a bench run with a saved one, case by case, without crying wolf over noise.

A candidate counts as *regressed* only when its median got slower by more than the threshold
**and** its min–max range no longer overlaps the saved one: both must agree, so one noisy sample
cannot fail a build, and a real 2× slowdown cannot hide in a wide range. Improvements are judged
the same way in the other direction. Any failed check in the new run is a regression too.
"""

from __future__ import annotations

from dataclasses import dataclass

from perfkit.bench.results import BenchRun, CaseResult
from perfkit.errors import UsageError


def parse_threshold(text: str | float) -> float:
    """``"10%"`` → 0.10, ``"1.1"`` → 0.10, ``0.25`` → 0.25; must be positive."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        s = text.strip()
        try:
            value = float(s[:-1]) / 100 if s.endswith("%") else float(s)
        except ValueError:
            raise UsageError(f"threshold {text!r} is not a number", "use e.g. 10% or 1.1") from None
        if not s.endswith("%") and value >= 1.0:
            value -= 1.0  # a factor such as 1.1
    if not value > 0:
        raise UsageError(f"threshold must be positive, got {text!r}", "use e.g. 10%")
    return value


@dataclass(frozen=True)
class CaseChange:
    """How one case's candidate (and baseline) moved between two runs."""

    id: str
    device: str
    status: str  # improved | regressed | unchanged | failed
    ratio: float | None  # new candidate median / old candidate median
    baseline_ratio: float | None
    reason: str


@dataclass(frozen=True)
class Comparison:
    """The per-case changes between an old and a new run, and the cases only one of them has."""

    changes: tuple[CaseChange, ...]
    only_old: tuple[str, ...]
    only_new: tuple[str, ...]
    threshold: float

    @property
    def regressed(self) -> list[CaseChange]:
        return [c for c in self.changes if c.status in ("regressed", "failed")]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.status] = counts.get(c.status, 0) + 1
        lines = [
            f"compare (threshold {self.threshold:.0%}): "
            + ", ".join(
                f"{counts.get(k, 0)} {k}" for k in ("improved", "regressed", "unchanged", "failed")
            )
        ]
        for c in self.changes:
            if c.status != "unchanged":
                lines.append(f"  {c.status.upper():9} {c.id} [{c.device}]: {c.reason}")
        if self.only_old:
            lines.append(f"  not in this run: {', '.join(self.only_old)}")
        return "\n".join(lines)


def _overlap(a: CaseResult, b: CaseResult, side: str) -> bool:
    ta, tb = getattr(a, side), getattr(b, side)
    return not (ta.max_s < tb.min_s or tb.max_s < ta.min_s)


def compare_runs(old: BenchRun, new: BenchRun, threshold: float = 0.10) -> Comparison:
    """Judge every case present in both runs (matched by id and device).

    Raises
    ------
    UsageError
        The runs share no case (comparing against the wrong file).
    """
    old_by = {(r.id, r.device): r for r in old.results}
    new_by = {(r.id, r.device): r for r in new.results}
    shared = [k for k in new_by if k in old_by]
    if not shared:
        raise UsageError(
            "the two runs have no case in common",
            "compare runs of the same cases (same -k pattern, device and --quick)",
        )
    changes = []
    for key in shared:
        o, n = old_by[key], new_by[key]
        if n.status in ("failed", "error"):
            why = n.error or (n.verdict.detail if n.verdict else "check failed")
            changes.append(CaseChange(n.id, n.device, "failed", None, None, why))
            continue
        if n.candidate is None or o.candidate is None:
            continue
        ratio = n.candidate.median_s / o.candidate.median_s
        b_ratio = n.baseline.median_s / o.baseline.median_s if n.baseline and o.baseline else None
        overlap = _overlap(o, n, "candidate")
        if ratio > 1 + threshold and not overlap:
            status = "regressed"
        elif ratio < 1 / (1 + threshold) and not overlap:
            status = "improved"
        else:
            status = "unchanged"
        reason = f"candidate median {ratio:.2f}× the saved one"
        if overlap and status == "unchanged" and abs(ratio - 1) > threshold:
            reason += " (min–max ranges overlap: treated as noise)"
        if b_ratio is not None:
            reason += f"; baseline {b_ratio:.2f}×"
        changes.append(CaseChange(n.id, n.device, status, ratio, b_ratio, reason))
    only_old = tuple(sorted(f"{i}[{d}]" for i, d in old_by if (i, d) not in new_by))
    only_new = tuple(sorted(f"{i}[{d}]" for i, d in new_by if (i, d) not in old_by))
    return Comparison(tuple(changes), only_old, only_new, threshold)


def saved_baseline(path: str) -> BenchRun:
    """The run to compare against: one results file, or a folder of them merged so that each
    case keeps its newest result (how ``make bench-check`` reads ``reports/bench/``)."""
    import os

    from perfkit.bench.dashboard import load_runs

    if not os.path.isdir(path):
        return BenchRun.load(path)
    loaded = load_runs([path])
    if not loaded.runs:
        raise UsageError(f"no readable results file in {path}", "run 'perfkit bench' first")
    newest: dict[tuple[str, str], CaseResult] = {}
    for _, run in loaded.runs:  # oldest first, so newer results overwrite older ones
        for r in run.results:
            newest[(r.id, r.device)] = r
    last = loaded.runs[-1][1]
    return BenchRun(
        results=tuple(newest.values()),
        datetime=last.datetime,
        duration_s=0.0,
        machine_info=last.machine_info,
        commit_info=last.commit_info,
        settings={"merged_from": [str(p) for p, _ in loaded.runs]},
        version=last.version,
    )
