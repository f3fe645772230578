"""pytest-benchmark over the Case registry: baseline and candidate of a case in one group.

``make test`` runs each side once (``--benchmark-disable``) as a smoke test on the quick grid;
``make bench-pytest`` times them for real (``PERFKIT_BENCH_GRID=full`` for the full sizes).
Every candidate is also checked against its baseline: a wrong answer fails the test. The
parametrization and the body are the packaged bridge's (``perfkit.pytest_cases``), over all of
perfkit's own cases.
"""

from __future__ import annotations

import pytest

from perfkit.bench import registry
from perfkit.pytest_cases import points, run_side


@pytest.mark.parametrize(("case", "params", "device", "side"), points(registry.all_cases()))
def test_registered_case(benchmark, case, params, device, side) -> None:  # noqa: ANN001
    run_side(benchmark, case, params, device, side)
