"""Compare two profiles: total time and memory change, and per function own/total time change."""

from __future__ import annotations

import os
from dataclasses import dataclass

from perfkit.profiling.model import FunctionStat, Profile


@dataclass(frozen=True)
class FunctionChange:
    """One function's own and total time before and after (0 when absent on one side)."""

    function: str
    file: str
    before_self_s: float
    after_self_s: float
    before_total_s: float
    after_total_s: float

    @property
    def self_delta_s(self) -> float:
        return self.after_self_s - self.before_self_s

    @property
    def total_delta_s(self) -> float:
        return self.after_total_s - self.before_total_s

    @property
    def status(self) -> str:
        if self.before_total_s == 0 and self.after_total_s > 0:
            return "new"
        if self.after_total_s == 0 and self.before_total_s > 0:
            return "gone"
        return "slower" if self.self_delta_s > 0 else "faster"


@dataclass(frozen=True)
class ProfileDiff:
    """What changed between ``before`` and ``after``; rows sorted by impact (|own-time change|)."""

    before: Profile
    after: Profile
    functions: tuple[FunctionChange, ...]

    @property
    def wall_delta_s(self) -> float:
        return self.after.wall_s - self.before.wall_s

    @property
    def wall_change_pct(self) -> float:
        """Relative change of total wall time in percent (positive = slower)."""
        if self.before.wall_s <= 0:
            return 0.0
        return 100.0 * self.wall_delta_s / self.before.wall_s

    @property
    def speedup(self) -> float:
        """before / after wall time (2.0 = twice as fast)."""
        return self.before.wall_s / self.after.wall_s if self.after.wall_s > 0 else float("inf")

    @property
    def peak_rss_delta_bytes(self) -> int | None:
        if self.before.memory is None or self.after.memory is None:
            return None
        return self.after.memory.peak_rss_bytes - self.before.memory.peak_rss_bytes


def _key(f: FunctionStat, ambiguous: set[str]) -> str:
    """Functions match by qualified name; a name defined in several files adds the file name."""
    return f"{f.function} ({os.path.basename(f.file)})" if f.function in ambiguous else f.function


def _table(p: Profile) -> tuple[dict[str, FunctionStat], set[str]]:
    files: dict[str, set[str]] = {}
    for f in p.functions:
        files.setdefault(f.function, set()).add(f.file)
    ambiguous = {name for name, fs in files.items() if len(fs) > 1}
    out: dict[str, FunctionStat] = {}
    for f in p.functions:
        k = _key(f, ambiguous)
        if k in out:  # same name and file twice (e.g. two line numbers): merge
            g = out[k]
            out[k] = FunctionStat(
                g.function, g.file, g.line, g.self_s + f.self_s, max(g.total_s, f.total_s)
            )
        else:
            out[k] = f
    return out, ambiguous


def diff_profiles(before: Profile, after: Profile) -> ProfileDiff:
    """Match functions by name (program files may differ: ``slow.py`` vs ``fixed.py``)."""
    a, _ = _table(before)
    b, _ = _table(after)
    rows = []
    for key in set(a) | set(b):
        fa, fb = a.get(key), b.get(key)
        if fa is not None and not fa.user_code and fb is None:
            continue
        ref = fa or fb
        assert ref is not None
        rows.append(
            FunctionChange(
                function=key,
                file=ref.file,
                before_self_s=fa.self_s if fa else 0.0,
                after_self_s=fb.self_s if fb else 0.0,
                before_total_s=fa.total_s if fa else 0.0,
                after_total_s=fb.total_s if fb else 0.0,
            )
        )
    rows.sort(key=lambda r: (-abs(r.self_delta_s), -abs(r.total_delta_s), r.function))
    return ProfileDiff(before, after, tuple(rows))


def format_diff(d: ProfileDiff, top: int = 15) -> str:
    """A plain-text report of ``d`` (what ``perfkit diff`` prints): the render registry's table."""
    from perfkit.render._table import to_text
    from perfkit.render.reports import diff_table

    return to_text(diff_table(d, top=top))
