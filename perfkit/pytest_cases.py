"""The Case -> pytest-benchmark bridge, collected by ``pytest --perfkit-cases``.

Each registered Case point becomes two tests, its baseline and its candidate, in one
pytest-benchmark group; the candidate is checked against the baseline, so a wrong answer fails.
``own`` (the default) runs only the project's cases (entry points ``perfkit.cases`` and
``PERFKIT_CASES``); ``all`` adds perfkit's own. ``PERFKIT_BENCH_GRID=full`` uses the full sizes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import pytest

from perfkit.bench import registry
from perfkit.bench.case import Case, SkipCase, case_id

QUICK = os.environ.get("PERFKIT_BENCH_GRID", "quick") != "full"


def selected_cases(which: str | None = None) -> list[Case]:
    """The cases to run: ``own`` (the project's, via entry points / PERFKIT_CASES) or ``all``."""
    which = which or os.environ.get("PERFKIT_PYTEST_CASES", "own")
    if which == "all":
        return list(registry.all_cases())
    own = set(registry.extra_case_modules())
    registry.load_all(sorted(own))  # perfkit's own case modules (torch, onnx...) stay unloaded
    broken = {m: why for m, why in registry.unavailable().items() if m in own}
    if broken:
        raise pytest.UsageError(
            "perfkit cases could not be loaded: "
            + "; ".join(f"{m}: {why}" for m, why in sorted(broken.items()))
        )
    if not own:
        raise pytest.UsageError(
            "--perfkit-cases found no project cases: declare the entry point group "
            "'perfkit.cases' or set PERFKIT_CASES=pkg.module (or use --perfkit-cases=all)"
        )
    return [c for c in registry.registered() if c.module in own]


def points(cases: Sequence[Case]) -> list[Any]:
    """One pytest param per (case, grid point, device, side); CUDA points carry the gpu mark."""
    out = []
    for c in cases:
        for device in c.devices:
            for p in c.grid(quick=QUICK):
                marks = [pytest.mark.gpu] if device == "cuda" else []
                for side in ("baseline", "candidate"):
                    out.append(
                        pytest.param(
                            c,
                            p,
                            device,
                            side,
                            id=f"{case_id(c.name, p)}-{device}-{side}",
                            marks=marks,
                        )
                    )
    return out


@lru_cache(maxsize=1)
def _inputs(name: str, key: str, device: str) -> Any:
    c = registry.get(name)
    params = next(p for p in c.grid(quick=QUICK) if case_id(name, p) == key)
    return c.make_inputs({**params, "device": device})


def run_side(benchmark: Any, case: Case, params: dict, device: str, side: str) -> None:
    """Time one side of one case point with pytest-benchmark; the candidate is also checked.

    A point this machine cannot run (no CUDA, a case raising :class:`SkipCase`) is skipped
    with the reason.
    """
    key = case_id(case.name, params)
    if device == "cuda":
        from perfkit.bench.runner import require_device

        try:
            require_device("cuda")
        except Exception as exc:  # no CUDA here: skipped with the reason
            pytest.skip(str(exc))
    try:
        inputs = _inputs(case.name, key, device)
    except SkipCase as exc:
        pytest.skip(str(exc))
    benchmark.group = f"{key}-{device}"
    benchmark.extra_info.update(
        {"case": case.name, "side": side, "device": device, "params": dict(params)}
    )
    out = benchmark(getattr(case, side), inputs)
    if side == "candidate":
        verdict = case.check(case.baseline(inputs), out)
        assert verdict.ok, f"{key}: {verdict.detail}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # parametrized at collection, so importing this module (as perfkit's own suite does for
    # points/run_side) loads no case modules
    if metafunc.function is test_case:
        metafunc.parametrize(("case", "params", "device", "side"), points(selected_cases()))


def test_case(benchmark: Any, case: Case, params: dict, device: str, side: str) -> None:
    run_side(benchmark, case, params, device, side)
