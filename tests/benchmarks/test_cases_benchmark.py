"""pytest-benchmark over the Case registry: baseline and candidate of a case in one group.

``make test`` runs each side once (``--benchmark-disable``) as a smoke test on the quick grid;
``make bench-pytest`` times them for real (``PERFKIT_BENCH_GRID=full`` for the full sizes).
Every candidate is also checked against its baseline: a wrong answer fails the test.
"""

from __future__ import annotations

import os
from functools import lru_cache

import pytest

from perfkit.bench import registry
from perfkit.bench.case import case_id

QUICK = os.environ.get("PERFKIT_BENCH_GRID", "quick") != "full"

POINTS = [
    (c, p, device)
    for c in registry.all_cases()
    for device in c.devices
    for p in c.grid(quick=QUICK)
]


def _param(c, p, device, side):  # noqa: ANN001, ANN202
    marks = [pytest.mark.gpu] if device == "cuda" else []
    return pytest.param(c, p, device, side, id=f"{case_id(c.name, p)}-{device}-{side}", marks=marks)


@lru_cache(maxsize=1)
def _inputs(name: str, key: str, device: str):  # noqa: ANN202
    c = registry.get(name)
    params = next(p for p in c.grid(quick=QUICK) if case_id(name, p) == key)
    return c.make_inputs({**params, "device": device})


@pytest.mark.parametrize(
    ("case", "params", "device", "side"),
    [_param(c, p, d, side) for c, p, d in POINTS for side in ("baseline", "candidate")],
)
def test_case(benchmark, case, params, device, side) -> None:  # noqa: ANN001
    key = case_id(case.name, params)
    inputs = _inputs(case.name, key, device)
    benchmark.group = f"{key}-{device}"
    benchmark.extra_info.update(
        {"case": case.name, "side": side, "device": device, "params": dict(params)}
    )
    out = benchmark(getattr(case, side), inputs)
    if side == "candidate":
        verdict = case.check(case.baseline(inputs), out)
        assert verdict.ok, f"{key}: {verdict.detail}"
