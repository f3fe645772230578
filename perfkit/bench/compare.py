"""Compare two bench runs case by case, without crying wolf over noise or machines.

A candidate counts as *regressed* when its median time got slower by more than the threshold
**and** a one-sided Mann–Whitney U test on the per-sample times says the slowdown is significant
(p < ``alpha``, as asv does). The cases of one comparison are one family of tests: their p-values
are adjusted by Holm's step-down method (Holm–Bonferroni), so comparing 5 or 50 cases does not
multiply the chance of a false alarm. Where the samples are too few for the adjusted test ever to
reach ``alpha``, the min–max ranges must not overlap instead. Improvements are judged the same way
in the other direction (their own family). Every change states its effect size: the
Hodges–Lehmann estimate of the candidate's time ratio with its confidence interval. A side's
peak memory counts as regressed when it grew by more than the threshold and by more than
``MEMORY_FLOOR_BYTES``.

Runs from different machines (``machine_info``: host, CPU model, core count, architecture, OS)
are refused unless the caller allows it: timings from two machines say nothing about the code.
A failed check in the new run is reported apart from slowdowns (exit 1 vs exit 3 on the CLI).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from perfkit.bench.results import BenchRun, CaseResult
from perfkit.errors import MissingDependencyError, UsageError

#: ``machine_info`` keys that identify the hardware a run timed.
MACHINE_KEYS = ("node", "cpu_model", "cpu_count", "machine", "system")
#: Default significance level of the one-sided Mann–Whitney U test.
ALPHA = 0.01
#: A peak-memory change smaller than this is never a regression (allocator slack).
MEMORY_FLOOR_BYTES = 1 << 20


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
    if not (value > 0 and math.isfinite(value)):
        raise UsageError(f"threshold must be a positive number, got {text!r}", "use e.g. 10%")
    return value


def machine_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """``key: a vs b`` for each hardware key of ``machine_info`` that differs."""
    return [f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in MACHINE_KEYS if a.get(k) != b.get(k)]


def require_same_machine(old: BenchRun, new: BenchRun, what: str = "the saved run") -> None:
    """Raise UsageError when the two runs' ``machine_info`` name different hardware."""
    diff = machine_differences(old.machine_info, new.machine_info)
    if diff:
        raise UsageError(
            f"{what} comes from another machine ({'; '.join(diff)}): its timings cannot judge "
            "this code",
            "compare runs made on this machine (make bench-check runs both commits here), or "
            "pass --allow-other-machine to compare anyway",
        )


def slower_p_value(old: Sequence[float], new: Sequence[float]) -> float:
    """One-sided Mann–Whitney U p-value that ``new`` samples are larger (slower) than ``old``."""
    try:
        from scipy.stats import mannwhitneyu
    except ImportError:
        raise MissingDependencyError(
            "scipy", "bench", "the significance test of --compare"
        ) from None
    if len(set(old) | set(new)) == 1:
        return 1.0  # all samples identical: no evidence either way
    return float(mannwhitneyu(new, old, alternative="greater").pvalue)


def smallest_p_value(n_old: int, n_new: int) -> float:
    """The smallest one-sided p-value the exact test can give for these sample counts."""
    return 1.0 / math.comb(n_old + n_new, n_old)


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm–Bonferroni step-down adjusted p-values of one family of tests.

    Parameters
    ----------
    p_values
        Raw p-values; ``None`` (a test that was not run) is kept as ``None`` and does not count
        in the family.

    Returns
    -------
    list of float or None
        In the input order: the i-th smallest of m p-values becomes
        ``max_{j <= i} min(1, (m - j + 1) * p_(j))``. Rejecting every adjusted p below ``alpha``
        keeps the family-wise error rate at ``alpha`` whatever the dependence between the tests.
    """
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(present)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        if not 0.0 <= p <= 1.0 or math.isnan(p):
            raise ValueError(f"p-value {p!r} is not in [0, 1]")
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def hodges_lehmann_ratio(
    old: Sequence[float], new: Sequence[float], confidence: float = 0.95
) -> tuple[float, float, float]:
    """The Hodges–Lehmann estimate of ``new / old`` times, with its confidence interval.

    The estimate is the median of all pairwise differences ``log(new_j) - log(old_i)``,
    exponentiated: a ratio that, unlike a ratio of medians, uses every sample. The interval is
    the distribution-free one that inverts the two-sided Mann–Whitney test (normal
    approximation of U's critical value), so it agrees with the significance test.

    Parameters
    ----------
    old, new
        Positive per-sample times of the two sides (at least one each).
    confidence
        Two-sided coverage of the interval, in (0, 1).

    Returns
    -------
    tuple of float
        ``(estimate, low, high)``; with too few samples for the coverage the interval is the
        range of the pairwise ratios.
    """
    from statistics import NormalDist

    if not old or not new:
        raise ValueError("both sides need at least one sample")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if min(old) <= 0 or min(new) <= 0:
        raise ValueError("times must be positive")
    log_old = [math.log(x) for x in old]
    diffs = sorted(math.log(y) - x for y in new for x in log_old)
    n1, n2, total = len(old), len(new), len(diffs)
    mid = total // 2
    est = diffs[mid] if total % 2 else 0.5 * (diffs[mid - 1] + diffs[mid])
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    k = math.floor(n1 * n2 / 2 - z * math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12))
    k = min(max(k, 0), (total - 1) // 2)
    return math.exp(est), math.exp(diffs[k]), math.exp(diffs[total - 1 - k])


@dataclass(frozen=True)
class CaseChange:
    """How one case's candidate (and baseline) moved between two runs."""

    id: str
    device: str
    status: str  # improved | regressed | unchanged | failed
    ratio: float | None  # new candidate median / old candidate median
    baseline_ratio: float | None
    reason: str
    p_slower: float | None = None
    p_faster: float | None = None
    memory_ratio: float | None = None  # new candidate peak / old candidate peak
    #: Holm-adjusted one-sided p-values (the ones the verdict used).
    p_slower_adjusted: float | None = None
    p_faster_adjusted: float | None = None
    #: Hodges–Lehmann estimate of the candidate's time ratio and its confidence interval.
    hl_ratio: float | None = None
    ratio_ci: tuple[float, float] | None = None
    #: The gate's confirmation: True when it re-measured this case and the pooled rounds show
    #: the regression, False when the first pass alone flagged it and the pooled rounds do not.
    confirmed: bool | None = None
    #: The gate: independent rounds (fresh process pairs) behind the verdict, else None.
    rounds: int | None = None


@dataclass(frozen=True)
class Comparison:
    """The per-case changes between an old and a new run, and the cases only one of them has."""

    changes: tuple[CaseChange, ...]
    only_old: tuple[str, ...]
    only_new: tuple[str, ...]
    threshold: float
    alpha: float = ALPHA
    #: The significance test the verdicts used (named in the summary).
    test: str = "Mann-Whitney U"

    def _repr_html_(self) -> str:
        """The notebook view: the report as HTML (see :mod:`perfkit.display`)."""
        from perfkit.display import repr_html

        return repr_html(self)

    def __repr__(self) -> str:
        from perfkit.display import short_repr

        return short_repr(self)

    @property
    def regressed(self) -> list[CaseChange]:
        """Cases significantly slower (or heavier) than before."""
        return [c for c in self.changes if c.status == "regressed"]

    @property
    def failed(self) -> list[CaseChange]:
        """Cases whose check failed or that raised in the new run."""
        return [c for c in self.changes if c.status == "failed"]

    def exit_code(self) -> int:
        """1 when a check failed, else 3 when something regressed, else 0."""
        if self.failed:
            return 1
        return 3 if self.regressed else 0

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.status] = counts.get(c.status, 0) + 1
        lines = [
            f"compare (threshold {self.threshold:.0%}, {self.test} p < {self.alpha:g}, "
            "Holm-adjusted over the cases): "
            + ", ".join(
                f"{counts.get(k, 0)} {k}" for k in ("improved", "regressed", "unchanged", "failed")
            )
        ]
        for c in self.changes:
            # A first-pass flag that its confirmation did not repeat is shown too: a reader
            # sees why the gate let it pass.
            if c.status != "unchanged" or c.confirmed is False:
                lines.append(f"  {c.status.upper():9} {c.id} [{c.device}]: {c.reason}")
        if self.only_old:
            lines.append(f"  not in this run: {', '.join(self.only_old)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "alpha": self.alpha,
            "test": self.test,
            "changes": [c.__dict__ for c in self.changes],
            "only_old": list(self.only_old),
            "only_new": list(self.only_new),
        }


def memory_change(old: int | None, new: int | None, threshold: float) -> tuple[float | None, str]:
    """The candidate's peak-memory ratio, and a reason fragment when it grew enough to count.

    Growth counts when it exceeds both ``threshold`` (relative) and ``MEMORY_FLOOR_BYTES``;
    the fragment is ``""`` otherwise. The ratio is ``None`` when either peak is unknown.
    """
    if old is None or new is None:
        return None, ""
    ratio = max(new, 4096) / max(old, 4096)
    if new - old > MEMORY_FLOOR_BYTES and ratio > 1 + threshold:
        return ratio, f"; candidate peak memory {ratio:.2f}× ({old} -> {new} bytes)"
    return ratio, ""


def _overlap(a: CaseResult, b: CaseResult, side: str) -> bool:
    ta, tb = getattr(a, side), getattr(b, side)
    return not (ta.max_s < tb.min_s or tb.max_s < ta.min_s)


#: Coverage of the effect-size interval printed beside every verdict.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class _Tests:
    """The raw p-values of one case, before the family's Holm adjustment."""

    p_slow: float | None
    p_fast: float | None


def _raw_tests(o: CaseResult, n: CaseResult, alpha: float, family: int) -> _Tests:
    """Both one-sided tests, or ``None`` p-values when even the best adjusted p misses alpha."""
    assert o.candidate is not None and n.candidate is not None
    old_t, new_t = o.candidate.times_s, n.candidate.times_s
    if family * smallest_p_value(len(old_t), len(new_t)) >= alpha:
        return _Tests(None, None)
    return _Tests(slower_p_value(old_t, new_t), slower_p_value(new_t, old_t))


def _judge(
    o: CaseResult,
    n: CaseResult,
    threshold: float,
    alpha: float,
    raw: _Tests,
    adjusted: _Tests,
) -> CaseChange:
    assert o.candidate is not None and n.candidate is not None
    old_t, new_t = o.candidate.times_s, n.candidate.times_s
    ratio = n.candidate.median_s / o.candidate.median_s
    b_ratio = n.baseline.median_s / o.baseline.median_s if n.baseline and o.baseline else None
    if adjusted.p_slow is not None and adjusted.p_fast is not None:
        slower_sig, faster_sig = adjusted.p_slow < alpha, adjusted.p_fast < alpha
        p_raw = min(raw.p_slow or 1.0, raw.p_fast or 1.0)
        how = f"p={p_raw:.2g}, Holm {min(adjusted.p_slow, adjusted.p_fast):.2g}"
    else:
        apart = not _overlap(o, n, "candidate")
        slower_sig = faster_sig = apart
        how = "too few samples for the test: min-max ranges " + ("apart" if apart else "overlap")
    if ratio > 1 + threshold and slower_sig:
        status = "regressed"
    elif ratio < 1 / (1 + threshold) and faster_sig:
        status = "improved"
    else:
        status = "unchanged"
    hl, lo, hi = hodges_lehmann_ratio(old_t, new_t, CONFIDENCE)
    reason = (
        f"candidate median {ratio:.2f}× the saved one (Hodges-Lehmann {hl:.2f}×, "
        f"{CONFIDENCE:.0%} CI {lo:.2f}-{hi:.2f}; {len(old_t)} vs {len(new_t)} samples; {how})"
    )
    if status == "unchanged" and abs(math.log(ratio)) > math.log1p(threshold):
        reason += ": not significant, treated as noise"
    if b_ratio is not None:
        reason += f"; baseline {b_ratio:.2f}×"
    mem_ratio, grew = memory_change(o.candidate.peak_bytes, n.candidate.peak_bytes, threshold)
    if grew:
        status = "regressed"
        reason += grew
    return CaseChange(
        n.id,
        n.device,
        status,
        ratio,
        b_ratio,
        reason,
        raw.p_slow,
        raw.p_fast,
        mem_ratio,
        adjusted.p_slow,
        adjusted.p_fast,
        hl,
        (lo, hi),
    )


def compare_runs(
    old: BenchRun,
    new: BenchRun,
    threshold: float = 0.10,
    *,
    alpha: float = ALPHA,
    allow_other_machine: bool = False,
) -> Comparison:
    """Judge every case present in both runs (matched by id and device).

    Parameters
    ----------
    old, new
        The saved (base) run and the run under test.
    threshold
        Relative slowdown of the candidate's median that counts, e.g. 0.10.
    alpha
        Significance level of the one-sided Mann–Whitney U test on per-sample times.
    allow_other_machine
        Compare even when the runs' ``machine_info`` name different hardware.

    Raises
    ------
    UsageError
        The runs share no case, or come from different machines (unless allowed).
    """
    if not allow_other_machine:
        require_same_machine(old, new)
    old_by = {(r.id, r.device): r for r in old.results}
    new_by = {(r.id, r.device): r for r in new.results}
    shared = [k for k in new_by if k in old_by]
    if not shared:
        raise UsageError(
            "the two runs have no case in common",
            "compare runs of the same cases (same -k pattern, device and --quick)",
        )
    judged: list[tuple[CaseResult, CaseResult]] = []
    failed: dict[tuple[str, str], CaseChange] = {}
    for key in shared:
        o, n = old_by[key], new_by[key]
        if n.status in ("failed", "error"):
            why = n.error or (n.verdict.detail if n.verdict else "check failed")
            failed[key] = CaseChange(n.id, n.device, "failed", None, None, why)
        elif n.candidate is not None and o.candidate is not None:
            judged.append((o, n))
    # One family: every case that is judged on its times. Holm keeps the chance that ANY of
    # them is a false alarm at alpha; slower and faster are separate one-sided families.
    raw = [_raw_tests(o, n, alpha, len(judged)) for o, n in judged]
    adj_slow = holm_adjust([t.p_slow for t in raw])
    adj_fast = holm_adjust([t.p_fast for t in raw])
    verdicts = {
        (n.id, n.device): _judge(o, n, threshold, alpha, t, _Tests(s, f))
        for (o, n), t, s, f in zip(judged, raw, adj_slow, adj_fast, strict=True)
    }
    changes = [failed.get(k) or verdicts[k] for k in shared if k in failed or k in verdicts]
    only_old = tuple(sorted(f"{i}[{d}]" for i, d in old_by if (i, d) not in new_by))
    only_new = tuple(sorted(f"{i}[{d}]" for i, d in new_by if (i, d) not in old_by))
    return Comparison(tuple(changes), only_old, only_new, threshold, alpha)


@dataclass(frozen=True)
class SavedBaseline:
    """The run to compare against, and the results files that were skipped, with the reason."""

    run: BenchRun
    skipped: tuple[tuple[str, str], ...] = ()
    other_machine: tuple[str, ...] = ()


def saved_baseline(
    path: str,
    machine_info: Mapping[str, Any] | None = None,
    allow_other_machine: bool = False,
) -> SavedBaseline:
    """The run to compare against: one results file, or a folder of them.

    A folder is merged so that each case keeps its newest result. Bad files in a folder are
    skipped and listed; with ``machine_info`` given, files from other machines are left out too
    (unless ``allow_other_machine``). A single file that is bad raises SchemaError.

    Raises
    ------
    SchemaError
        ``path`` is one file and it is not a valid results file.
    UsageError
        No usable results file in the folder.
    """
    import os

    from perfkit.bench.results import load_many, load_results

    if not os.path.isdir(path):
        return SavedBaseline(load_results(path))
    runs, skipped = load_many([path])
    other: list[str] = []
    if machine_info is not None and not allow_other_machine:
        kept = []
        for p, run in runs:
            if machine_differences(run.machine_info, machine_info):
                other.append(str(p))
            else:
                kept.append((p, run))
        runs = kept
    if not runs:
        why = (
            f"all {len(other)} are from other machines"
            if other
            else f"{len(skipped)} skipped as invalid"
            if skipped
            else "none found"
        )
        raise UsageError(
            f"no usable results file in {path} ({why})",
            "run 'perfkit bench' on this machine first, or pass --allow-other-machine",
        )
    newest: dict[tuple[str, str], CaseResult] = {}
    for _, run in runs:  # oldest first, so newer results overwrite older ones
        for r in run.results:
            newest[(r.id, r.device)] = r
    last = runs[-1][1]
    merged = BenchRun(
        results=tuple(newest.values()),
        datetime=last.datetime,
        duration_s=0.0,
        machine_info=last.machine_info,
        commit_info=last.commit_info,
        settings={"merged_from": [str(p) for p, _ in runs]},
        version=last.version,
    )
    return SavedBaseline(merged, tuple((str(p), why) for p, why in skipped), tuple(other))
