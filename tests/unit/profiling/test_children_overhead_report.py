"""The child-process overhead benchmark's report (synthetic figures in, verdicts out; no timing)."""

from __future__ import annotations

import math

from perfkit.profiling.children import overhead as co

INFO = {"cpu_model": "cpu", "cpu_count": 2, "python_version": "3.11", "copy_bandwidth_gb_s": 9.0}


def _row(py: list[float], pk: list[float]) -> dict:
    py_runs = [(1.0, s) for s in py]
    pk_runs = [(1.2, s) for s in pk]
    med = sorted(py)[len(py) // 2], sorted(pk)[len(pk) // 2]
    return {
        "python": {"wall_s": 1.0, "worker_s": med[0], "runs": py_runs},
        "perfkit": {"wall_s": 1.2, "worker_s": med[1], "runs": pk_runs},
        "wall_ratio": 1.2,
        "worker_ratio": med[1] / med[0],
        "worker_ratio_spread": co.ratio_spread(py_runs, pk_runs),
    }


def test_ratio_spread_pairs_rounds():
    lo, hi = co.ratio_spread([(0, 1.0), (0, 2.0)], [(0, 1.1), (0, 2.6)])
    assert math.isclose(lo, 1.1) and math.isclose(hi, 1.3)
    assert all(math.isnan(v) for v in co.ratio_spread([], []))


def test_report_shows_spread_and_verdicts():
    res = {
        "repeat": 3,
        "scale": 1.0,
        "workloads": {
            "pool-fork": _row([1.0, 1.0, 1.0], [1.05, 1.02, 1.3]),
            "subprocess": _row([1.0, 1.0, 1.0], [1.0, 1.01, 1.02]),
            "child-startup": _row([0.02, 0.02, 0.02], [0.03, 0.03, 0.03]),
        },
    }
    md = co.to_markdown(res, INFO, (0.2, 0.3))
    assert "| 1.050x (1.02–1.30) |" in md
    assert md.count("| met |") == 3
    loaded = co.to_markdown(res, INFO, (0.2, 0.9))
    assert "not judged (machine loaded)" in loaded and "| met |" not in loaded
    slow = dict(res, workloads=dict(res["workloads"], subprocess=_row([1.0] * 3, [1.3] * 3)))
    assert "NOT met" in co.to_markdown(slow, INFO, (0.1, 0.1))
