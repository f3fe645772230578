"""The overhead benchmark's verdicts (no timing here: synthetic figures in, verdicts out)."""

from __future__ import annotations

import math

import pytest

from perfkit.profiling import overhead as ov


def _tool(ratio: float, base: float) -> dict:
    wall = ratio * base
    return {"median_s": wall, "ratio": ratio, "over_python_s": wall - base, "user_s": wall,
            "sys_s": 0.0, "times_s": [wall]}  # fmt: skip


def results(perfkit: list[float], memory: list[float], load: float, startup: float = 0.05):
    programs = {}
    for i, (r, m) in enumerate(zip(perfkit, memory, strict=True)):
        base = 0.2 if i == 0 else 1.0  # the first program is too short to count
        programs[f"p{i}"] = {"python": _tool(1.0, base), "perfkit": _tool(r, base),
                             "perfkit --memory": _tool(m, base)}  # fmt: skip
    return {
        "repeat": 3,
        "programs": programs,
        "startup": {"python": _tool(1.0, 0.04), "perfkit": _tool(1 + startup / 0.04, 0.04)},
        "skipped": [],
        "conditions": {"load_average_1m": load, "load_average_1m_after": load, "time": "t",
                       "cpu_model": "cpu", "cpu_count": 2, "copy_bandwidth_gbs": 10.0},
    }  # fmt: skip


def verdicts(res: dict) -> list[str]:
    return [t["status"] for t in ov.targets(res)]


def test_targets_met_and_not_met_on_an_idle_machine():
    # program 0 (0.2 s) is 3x but too short to count; the others decide
    good = results([3.0, 1.05, 1.10, 1.12], [3.0, 1.1, 1.2, 1.2], load=0.1)
    assert verdicts(good) == ["met"] * 4
    bad = results([1.0, 1.0, 1.30, 1.0], [1.0, 1.3, 1.3, 1.3], load=0.1, startup=0.2)
    assert verdicts(bad) == ["met", "NOT met", "NOT met", "NOT met"]


def test_a_loaded_machine_never_meets_a_target():
    res = results([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], load=0.9)
    assert all(v.startswith("unmeasurable (load average 0.90") for v in verdicts(res))


def test_markdown_names_conditions_targets_and_short_programs():
    res = results([3.0, 1.05, 1.10, 1.12], [3.0, 1.1, 1.2, 1.2], load=0.1)
    res["targets"] = ov.targets(res)
    md = ov.to_markdown(res, "python -m perfkit.profiling.overhead")
    assert "| p0 (< 0.3 s) |" in md and "copy bandwidth: 10.0 GB/s" in md
    assert "load average (1 min): before 0.10, after 0.10" in md
    assert md.count("| met |") == 4


def test_geomean():
    assert ov.geomean([1.0, 4.0]) == pytest.approx(2.0)
    assert math.isnan(ov.geomean([]))


def test_every_pyperformance_program_of_the_issue_is_listed():
    assert set(ov.PYPERFORMANCE) == {
        "deepcopy", "deltablue", "fannkuch", "float", "go", "hexiom", "nbody", "nqueens",
        "raytrace", "richards", "spectral_norm",
    }  # fmt: skip
