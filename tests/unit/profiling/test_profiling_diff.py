"""diff_profiles: matching by name, sorting by impact, totals and memory deltas."""

from __future__ import annotations

from dataclasses import replace

from perfkit.profiling.diff import diff_profiles, format_diff
from perfkit.profiling.model import FunctionStat, MemoryReport


def _f(name, self_s, total_s, file="/a.py"):
    return FunctionStat(name, file, 1, self_s, total_s, user_code=True)


def test_diff_matches_by_name_across_files_and_sorts_by_impact(profile):
    before = replace(
        profile,
        wall_s=2.0,
        functions=(_f("sma", 1.5, 1.5), _f("io", 0.1, 0.1), _f("main", 0.0, 2.0)),
    )
    after = replace(
        profile,
        wall_s=0.5,
        functions=(
            _f("sma", 0.1, 0.1, "/b.py"),
            _f("io", 0.12, 0.12, "/b.py"),
            _f("vectorised", 0.2, 0.2, "/b.py"),
        ),
    )
    d = diff_profiles(before, after)
    assert d.speedup == 4.0 and d.wall_change_pct == -75.0
    assert [r.function for r in d.functions][:2] == ["sma", "vectorised"]
    assert {r.function: r.status for r in d.functions}["vectorised"] == "new"
    text = format_diff(d)
    assert "speed-up 4.00×" in text and "1.50 s faster" in text
    assert "vectorised" in text and "new" in text


def test_peak_rss_delta_only_with_memory_on_both_sides(profile):
    mem = MemoryReport(0, 100, 50)
    d = diff_profiles(
        replace(profile, memory=mem), replace(profile, memory=replace(mem, peak_rss_bytes=40))
    )
    assert d.peak_rss_delta_bytes == -60
    assert diff_profiles(replace(profile, memory=None), profile).peak_rss_delta_bytes is None
