"""A checked, display-ready view of a :class:`~perfkit.bench.results.BenchRun`.

The dashboard draws many results files written by many versions of perfkit, some by hand. Every
figure it shows passes through :func:`view_run` first: a number must be a finite, non-negative
number, sample times must exist and not all be zero. A file that breaks a rule is refused with
a :class:`~perfkit.errors.SchemaError` that names the file, the case and the field, so the page
can list it and carry on; the renderers then work on values that cannot surprise them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfkit.errors import SchemaError

if TYPE_CHECKING:
    from perfkit.bench.results import BenchRun, CaseResult
    from perfkit.bench.timer import Timing

#: A side's peak below this counts as one page (the floor ``CaseResult.memory_ratio`` uses).
PAGE_BYTES = 4096
#: The statuses a result may have.
STATUSES = ("passed", "failed", "error", "skipped")
#: Ratios beyond this factor either way get a footnote saying how they arose.
EXTREME = 50.0


@dataclass(frozen=True)
class SideView:
    """One side's timing: median, min and max seconds over ``samples`` repeats, and its peak."""

    median_s: float
    min_s: float
    max_s: float
    samples: int
    peak_bytes: float | None
    #: (allocator, peak bytes) for each allocator measured; empty in files that predate them.
    allocators: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class ResultView:
    """One case result on one device, every figure checked."""

    id: str
    case: str
    group: str
    device: str
    status: str
    description: str
    baseline_label: str
    candidate_label: str
    baseline: SideView | None
    candidate: SideView | None
    speedup: float | None
    memory_ratio: float | None
    check: str
    figures: tuple[tuple[str, float], ...]
    error: str | None


@dataclass(frozen=True)
class RunView:
    """One results file: when, where, what it covers, and its results."""

    path: Path
    datetime: str
    device: str
    gpu_name: str | None
    commit: str
    dirty: bool
    cpu_model: str
    cpu_count: int | None
    node: str
    pattern: str | None
    group: str | None
    quick: bool
    results: tuple[ResultView, ...]

    @property
    def counts(self) -> dict[str, int]:
        """How many results passed, failed, raised and were skipped."""
        out = dict.fromkeys(STATUSES, 0)
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    @property
    def groups(self) -> tuple[str, ...]:
        """The groups this run has results for, sorted."""
        return tuple(sorted({r.group for r in self.results}))

    @property
    def full(self) -> bool:
        """True for a run of every case at full size (no pattern, no group, not quick)."""
        return not (self.pattern or self.group or self.quick)

    @property
    def coverage(self) -> str:
        """What the run covers, in words: full or partial, which groups, how selected."""
        n = len(self.results)
        groups = ", ".join(self.groups) or "no group"
        if self.full:
            return f"full run: {n} results in {groups}"
        how = []
        if self.group:
            how.append(f"--group {self.group}")
        if self.pattern:
            how.append(f"-k {self.pattern}")
        if self.quick:
            how.append("--quick (small sizes)")
        return f"partial run ({' '.join(how)}): {n} results in {groups}"

    @property
    def machine(self) -> str:
        """CPU model and core count (and the GPU for a CUDA run)."""
        cores = f", {self.cpu_count} cores" if self.cpu_count else ""
        host = f" on {self.node}" if self.node else ""
        gpu = f"; GPU {self.gpu_name}" if self.gpu_name else ""
        return f"{self.cpu_model or 'unknown CPU'}{cores}{host}{gpu}"


def _bad(source: str, where: str, what: str, value: Any) -> SchemaError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return SchemaError(
        f"{source}: {where}: {what} is {shown}",
        "fix or delete the file, or re-run 'perfkit bench' to write a fresh one",
    )


def _number(value: Any, source: str, where: str, what: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(source, where, what + " (not a number)", value)
    out = float(value)
    if not math.isfinite(out) or out < 0 or (positive and out == 0):
        kind = "not a finite number" if not math.isfinite(out) else "not positive"
        raise _bad(source, where, f"{what} ({kind})", value)
    return out


def _side(t: Timing | None, source: str, where: str, side: str) -> SideView | None:
    if t is None:
        return None
    times = getattr(t, "times_s", None)
    if not isinstance(times, (tuple, list)) or not times:
        raise _bad(source, where, f"{side}.times_s (no samples)", times)
    values = [_number(x, source, where, f"a {side} sample time") for x in times]
    if not any(values):
        raise _bad(source, where, f"{side}.times_s (every sample is zero)", times)
    peak = getattr(t, "peak_bytes", None)
    if peak is not None:
        peak = _number(peak, source, where, f"{side}.peak_bytes")
    allocators: list[tuple[str, float]] = []
    mem = getattr(t, "memory", None)  # per-allocator peaks (results files from late 2026 on)
    by_allocator = getattr(mem, "by_allocator", None)
    if isinstance(by_allocator, Mapping):
        for name, value in by_allocator.items():
            allocators.append((str(name), _number(value, source, where, f"{side} {name} peak")))
    values.sort()
    n = len(values)
    median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    return SideView(median, values[0], values[-1], n, peak, tuple(allocators))


def _check_text(
    r: CaseResult, source: str, where: str
) -> tuple[str, tuple[tuple[str, float], ...]]:
    from perfkit.render import _fmt

    v = r.verdict
    if v is None:
        return (r.error or ""), ()
    figs: list[tuple[str, float]] = []
    parts = []
    for label, value in (
        ("max abs err", v.max_abs_error),
        ("max rel err", v.max_rel_error),
        ("agreement", v.agreement),
    ):
        if value is not None:
            x = _number(value, source, where, f"verdict {label}")
            parts.append(f"{label} {_fmt.number(x)}")
    figures = v.figures if isinstance(v.figures, Mapping) else None
    if figures is None:
        raise _bad(source, where, "verdict.figures (not an object)", v.figures)
    for k, value in figures.items():
        if value is None:
            continue
        figs.append((str(k), _number_any(value, source, where, f"figure {k!s}")))
    text = ", ".join(parts) or str(v.detail or "")
    return text, tuple(figs)


def _number_any(value: Any, source: str, where: str, what: str) -> float:
    """A finite number of either sign (figures may be negative deltas)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(source, where, what + " (not a finite number)", value)
    return float(value)


def view_result(r: CaseResult, source: str) -> ResultView:
    """Check one :class:`CaseResult` and turn it into a :class:`ResultView`.

    Raises
    ------
    SchemaError
        A figure is not a finite non-negative number, or a side has no (or only zero) samples.
    """
    where = f"case {r.id!s}"
    if r.status not in STATUSES:
        raise _bad(source, where, f"status (not one of {', '.join(STATUSES)})", r.status)
    b = _side(r.baseline, source, where, "baseline")
    c = _side(r.candidate, source, where, "candidate")
    speedup = b.median_s / c.median_s if b and c and c.median_s > 0 else None
    memory = None
    if b and c and b.peak_bytes is not None and c.peak_bytes is not None:
        memory = max(b.peak_bytes, PAGE_BYTES) / max(c.peak_bytes, PAGE_BYTES)
    check, figures = _check_text(r, source, where)
    return ResultView(
        id=str(r.id),
        case=str(r.case),
        group=str(r.group or "other"),
        device=str(r.device),
        status=str(r.status),
        description=str(r.description or ""),
        baseline_label=str(r.baseline_label),
        candidate_label=str(r.candidate_label),
        baseline=b,
        candidate=c,
        speedup=speedup,
        memory_ratio=memory,
        check=check,
        figures=figures,
        error=None if r.error is None else str(r.error),
    )


def view_run(path: str | Path, run: BenchRun) -> RunView:
    """Check every figure of ``run`` (read from ``path``) and return the display view.

    Raises
    ------
    SchemaError
        Naming the file, the case and the field, when any figure is odd.
    """
    source = str(path)
    machine = run.machine_info if isinstance(run.machine_info, Mapping) else {}
    commit_info = run.commit_info if isinstance(run.commit_info, Mapping) else {}
    settings = run.settings if isinstance(run.settings, Mapping) else {}
    gpu = run.gpu_info if isinstance(run.gpu_info, Mapping) else None
    cores = machine.get("cpu_count")
    return RunView(
        path=Path(path),
        datetime=str(run.datetime),
        device=str(run.device),
        gpu_name=None if not gpu or gpu.get("name") is None else str(gpu.get("name")),
        commit=str(commit_info.get("id") or "n/a"),
        dirty=commit_info.get("dirty") is True,
        cpu_model=str(machine.get("cpu_model") or ""),
        cpu_count=cores if isinstance(cores, int) and not isinstance(cores, bool) else None,
        node=str(machine.get("node") or ""),
        pattern=None if not settings.get("pattern") else str(settings["pattern"]),
        group=None if not settings.get("group") else str(settings["group"]),
        quick=settings.get("quick") is True,
        results=tuple(view_result(r, source) for r in run.results),
    )
