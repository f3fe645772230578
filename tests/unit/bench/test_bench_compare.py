from __future__ import annotations

import pytest

from perfkit.bench.case import Verdict
from perfkit.bench.compare import compare_runs, parse_threshold
from perfkit.bench.results import BenchRun, CaseResult
from perfkit.bench.timer import Timing
from perfkit.errors import UsageError


def _res(cid: str, cand: tuple[float, ...], status: str = "passed") -> CaseResult:
    return CaseResult(
        case=cid,
        id=cid,
        group="g",
        params={},
        device="cpu",
        status=status,
        baseline=Timing((1.0,) * 5),
        candidate=Timing(cand),
        verdict=Verdict(status == "passed", "x"),
    )


def _run(*results: CaseResult) -> BenchRun:
    return BenchRun(results, "2026-01-01T00:00:00Z", 1.0, {}, {}, {"device": "cpu"})


@pytest.mark.parametrize(
    ("text", "value"), [("10%", 0.10), ("1.1", 0.10), ("0.25", 0.25), (0.5, 0.5), ("150%", 1.5)]
)
def test_parse_threshold(text, value) -> None:
    assert parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize("bad", ["abc", "0", "-5%"])
def test_bad_threshold(bad) -> None:
    with pytest.raises(UsageError):
        parse_threshold(bad)


def test_twice_slower_with_separate_ranges_is_a_regression() -> None:
    old = _run(_res("a", (1.0, 1.01, 0.99, 1.0, 1.02)))
    new = _run(_res("a", (2.0, 2.02, 1.98, 2.0, 2.01)))
    cmp = compare_runs(old, new)
    assert [c.status for c in cmp.changes] == ["regressed"]
    assert cmp.changes[0].ratio == pytest.approx(2.0, rel=0.01)
    assert cmp.regressed


def test_slower_median_with_overlapping_ranges_is_noise() -> None:
    old = _run(_res("a", (1.0, 1.0, 1.0, 1.0, 3.0)))
    new = _run(_res("a", (1.3, 1.3, 1.3, 1.3, 1.3)))
    cmp = compare_runs(old, new)
    assert cmp.changes[0].status == "unchanged"
    assert "noise" in cmp.changes[0].reason
    assert not cmp.regressed


def test_faster_is_improved_and_failed_check_counts_as_regression() -> None:
    old = _run(_res("a", (1.0,) * 5), _res("b", (1.0,) * 5))
    new = _run(_res("a", (0.5,) * 5), _res("b", (1.0,) * 5, status="failed"))
    cmp = compare_runs(old, new)
    assert {c.id: c.status for c in cmp.changes} == {"a": "improved", "b": "failed"}
    assert [c.id for c in cmp.regressed] == ["b"]
    assert "FAILED" in cmp.summary()


def test_no_shared_cases_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no case in common"):
        compare_runs(_run(_res("a", (1.0,) * 5)), _run(_res("b", (1.0,) * 5)))


def test_cases_only_in_one_run_are_listed() -> None:
    cmp = compare_runs(
        _run(_res("a", (1.0,) * 5), _res("gone", (1.0,) * 5)),
        _run(_res("a", (1.0,) * 5), _res("new", (1.0,) * 5)),
    )
    assert cmp.only_old == ("gone[cpu]",) and cmp.only_new == ("new[cpu]",)
