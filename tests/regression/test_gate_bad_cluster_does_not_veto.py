"""Regression: a planted 1.3x slowdown was missed when its confirmation landed in a bad cluster.

reports/gate.md (idle study, old rule): runs 16 and 28 flagged the planted case in the first
pass (median ratios 1.505 and 1.351) and then let it pass because an independent 8-round
confirmation read 1.061 and 1.085: the old gate required the small confirmation to agree on its
own. The gate now judges a case on all its rounds pooled, so one bad cluster of rounds cannot
veto ten clear ones. (The old rule fails this test: its verdict for ``fib`` was "unchanged".)
"""

from __future__ import annotations

from perfkit.bench import gate
from perfkit.bench.case import Verdict
from perfkit.bench.results import CaseResult
from perfkit.bench.timer import Timing


def _rounds(ratios: list[float]) -> dict[str, list[tuple[CaseResult, CaseResult]]]:
    def res(t: float) -> CaseResult:
        return CaseResult(
            case="fib",
            id="fib",
            group="g",
            params={},
            device="cpu",
            status="passed",
            baseline=Timing((1e-3,) * 5),
            candidate=Timing((t, t * 1.01, t * 0.99, t * 1.02, t * 0.98)),
            verdict=Verdict(True),
        )

    return {"fib": [(res(1e-3), res(1e-3 * r)) for r in ratios]}


def test_a_bad_cluster_of_new_rounds_does_not_veto_a_clear_first_pass() -> None:
    first = [1.52, 1.45, 1.6, 1.38, 1.55, 1.49, 1.41, 1.58, 1.5, 1.47]  # reads ~1.5
    bad = [1.02, 1.1, 0.98, 1.08, 1.05, 1.12, 1.0, 1.07, 1.04, 1.15]  # reads ~1.06
    feeds = iter([_rounds(first), _rounds(bad)])
    verdict = gate.decide(lambda points, n: next(feeds), rounds=10, confirm_rounds=10)
    assert verdict.confirmation is not None
    assert verdict.confirmation.changes[0].ratio is not None
    assert verdict.confirmation.changes[0].ratio < 1.1  # the new rounds alone would miss it
    final = verdict.final.changes[0]
    assert (final.status, final.confirmed, final.rounds) == ("regressed", True, 20)
    assert verdict.final.exit_code() == 3
