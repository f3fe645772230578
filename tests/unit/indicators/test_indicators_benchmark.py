"""The benchmark's honesty rules, without timing anything: no target is called met under load."""

from __future__ import annotations

import numpy as np
import pytest

from perfkit.indicators import benchmark


def test_a_met_target_is_not_judged_when_the_load_was_high() -> None:
    v = benchmark.Verdicts(judged=False, why_not="load average reached 3.10 > 0.5")
    v.add("sma panel ≤ 2× bound", 1.2, True, "1.2×")
    v.add("ema panel ≤ 2× bound", 2.5, False, "2.5×")
    v.add("roc vs TA-Lib", None, None, "TA-Lib not installed")
    verdicts = [r["verdict"] for r in v.rows]
    assert verdicts == [
        "not judged (load average reached 3.10 > 0.5)",
        "**NOT met**",
        "not measured",
    ]
    idle = benchmark.Verdicts(judged=True, why_not="")
    idle.add("sma panel ≤ 2× bound", 1.2, True, "1.2×")
    assert idle.rows[0]["verdict"] == "met"


def test_json_verdicts_never_say_met_when_not_judged() -> None:
    loaded = benchmark.Verdicts(judged=False, why_not="load average 3.10 > 0.5")
    loaded.add("a", 1.2, True, "1.2×")
    loaded.add("b", 2.5, False, "2.5×")
    loaded.add("c", None, None, "TA-Lib not installed")
    assert [r["met"] for r in loaded.as_json()] == [None, False, None]
    assert loaded.as_json()[1]["verdict"] == "NOT met" and loaded.as_json()[1]["value"] == 2.5
    idle = benchmark.Verdicts(judged=True, why_not="")
    idle.add("a", 1.2, True, "1.2×")
    idle.add("b", 2.5, False, "2.5×")
    assert [r["met"] for r in idle.as_json()] == [True, False]


def test_load_watch_keeps_the_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = iter([0.2, 0.9, 0.3])
    monkeypatch.setattr(benchmark.LoadWatch, "now", staticmethod(lambda: next(loads)))
    monkeypatch.setattr(benchmark.LoadWatch, "settled", staticmethod(lambda: next(loads)))
    with benchmark.LoadWatch() as watch:
        watch.samples.append(benchmark.LoadWatch.now())
    assert watch.peak == 0.9 and watch.peak > benchmark.MAX_LOAD


def test_plain_kernels_compute_what_compute_computes() -> None:
    from perfkit.indicators import compute

    close = 100 + np.cumsum(np.random.default_rng(2).normal(size=(300, 4)), axis=0)
    inst = np.ascontiguousarray(close.T)
    for spec, (fn, n) in benchmark.PLAIN.items():
        want = compute({"close": close}, spec, backend="serial")
        got = fn(inst, n).T
        np.testing.assert_allclose(got, next(iter(want.values())), rtol=1e-9, err_msg=spec)
