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


def test_summary_pairs_each_round_with_the_python_run_of_the_same_round():
    runs = {
        "python": [(1.0, 1.0, 0.0), (2.0, 2.0, 0.0), (1.0, 1.0, 0.0)],
        "perfkit": [(1.1, 1.1, 0.0), (2.6, 2.6, 0.0), (1.2, 1.2, 0.0)],
    }
    s = ov._summarise(runs)
    # the judged figure stays the ratio of medians; the spread is per round
    assert s["perfkit"]["ratio"] == pytest.approx(1.2 / 1.0)
    assert s["perfkit"]["ratio_min"] == pytest.approx(1.1)
    assert s["perfkit"]["ratio_max"] == pytest.approx(1.3)
    assert s["perfkit"]["rounds"] == 3
    assert ov.ratio_cell(s["perfkit"]) == "1.20x (1.10–1.30)"
    one = ov._summarise({"python": [(1.0, 1.0, 0.0)], "perfkit": [(1.5, 1.0, 0.0)]})
    assert ov.ratio_cell(one["perfkit"]) == "1.50x"  # one round: no spread to show


def test_short_programs_get_more_rounds_of_the_judged_tools_only(monkeypatch, tmp_path):
    import perfkit._env as env

    monkeypatch.setattr(env, "bench_conditions", lambda: {"load_average_1m": 0.1})
    monkeypatch.setattr(env, "wait_for_idle", lambda: 0.1)
    scripts = {"short": str(tmp_path / "s.py"), "long": str(tmp_path / "l.py")}
    monkeypatch.setattr(ov, "program_scripts", lambda folder, names: scripts)
    calls: dict[tuple[str, str], int] = {}

    def fake_run(cmd):
        script = cmd[-1]
        name = {v: k for k, v in scripts.items()}.get(script, "empty")
        tool = "python" if cmd[1] == script else " ".join(cmd[1:4])
        calls[(name, tool)] = calls.get((name, tool), 0) + 1
        base = 0.5 if name == "short" else 2.0
        return base, base, 0.0

    monkeypatch.setattr(ov, "run_once", fake_run)
    tools = ("python", "perfkit", "pyinstrument")
    res = ov.measure(["short", "long"], tools, repeat=3, short_repeat=6)
    short, long_ = res["programs"]["short"], res["programs"]["long"]
    assert short["python"]["rounds"] == 6 and short["perfkit"]["rounds"] == 6
    assert short["pyinstrument"]["rounds"] == 3  # unjudged and slow: no extra rounds
    assert long_["python"]["rounds"] == 3 and long_["perfkit"]["rounds"] == 3
    assert calls[("short", "python")] == 7  # warm-up + 6 rounds
    assert res["short_repeat"] == 6


def test_markdown_shows_the_spread_and_the_rounds():
    res = results([3.0, 1.05, 1.10, 1.12], [3.0, 1.1, 1.2, 1.2], load=0.1)
    res["programs"]["p1"]["perfkit"].update(ratio_min=1.01, ratio_max=1.09, rounds=7)
    res["short_repeat"] = 7
    res["targets"] = ov.targets(res)
    md = ov.to_markdown(res, "python -m perfkit.profiling.overhead")
    assert "1.05x (1.01–1.09)" in md
    assert "median of 3 runs interleaved round-robin (7 for python" in md


def test_short_repeat_below_one_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        ov.main(["--short-repeat", "0"])
    assert exc.value.code == 2
    assert "--short-repeat must be at least 1" in capsys.readouterr().err
