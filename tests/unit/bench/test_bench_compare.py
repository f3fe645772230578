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


HOST = {"node": "ci", "cpu_model": "EPYC", "cpu_count": 2, "machine": "x86_64", "system": "Linux"}


def _run(*results: CaseResult, machine: dict | None = None) -> BenchRun:
    return BenchRun(results, "2026-01-01T00:00:00Z", 1.0, machine or HOST, {}, {"device": "cpu"})


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
    assert cmp.regressed and cmp.exit_code() == 3
    assert cmp.changes[0].p_slower is not None and cmp.changes[0].p_slower < 0.01


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
    assert [c.id for c in cmp.failed] == ["b"] and not cmp.regressed
    assert cmp.exit_code() == 1
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


def test_runs_from_another_machine_are_refused_unless_allowed() -> None:
    old = _run(_res("a", (1.0,) * 5), machine={**HOST, "cpu_model": "Xeon"})
    new = _run(_res("a", (1.0,) * 5))
    with pytest.raises(UsageError, match="another machine.*cpu_model: 'Xeon' vs 'EPYC'") as info:
        compare_runs(old, new)
    assert "--allow-other-machine" in str(info.value)
    assert compare_runs(old, new, allow_other_machine=True).changes[0].status == "unchanged"


def test_package_versions_alone_do_not_make_another_machine() -> None:
    old = _run(_res("a", (1.0,) * 5), machine={**HOST, "versions": {"numpy": "1"}})
    new = _run(_res("a", (1.0,) * 5), machine={**HOST, "versions": {"numpy": "2"}})
    assert compare_runs(old, new).changes[0].status == "unchanged"


def _noisy(center: float, n: int, seed: int) -> tuple[float, ...]:
    import random

    rng = random.Random(seed)
    return tuple(center * (1 + rng.uniform(-0.15, 0.15)) for _ in range(n))


def test_significance_separates_a_real_slowdown_from_noise_of_the_same_median_shift() -> None:
    # 1.3x slower with +-15% noise on 15 samples per side: significant.
    old = _run(_res("a", _noisy(1.0, 15, 1)))
    new = _run(_res("a", _noisy(1.3, 15, 2)))
    change = compare_runs(old, new).changes[0]
    assert change.status == "regressed" and change.p_slower is not None
    assert change.p_slower < 0.01
    # A median 1.2x away but samples thoroughly mixed: not significant, not a regression.
    mixed_old = _run(_res("a", (1.0, 1.0, 1.2, 1.2, 1.2, 1.5, 1.5)))
    mixed_new = _run(_res("a", (1.0, 1.2, 1.5, 1.5, 1.5, 1.5, 1.0)))
    change = compare_runs(mixed_old, mixed_new).changes[0]
    assert change.status == "unchanged" and "not significant" in change.reason


def test_too_few_samples_fall_back_to_separate_ranges() -> None:
    old = _run(_res("a", (1.0, 1.01, 0.99)))
    new = _run(_res("a", (2.0, 2.01, 1.99)))
    change = compare_runs(old, new).changes[0]
    assert change.status == "regressed" and change.p_slower is None
    assert "too few samples" in change.reason


def test_identical_samples_are_unchanged() -> None:
    cmp = compare_runs(_run(_res("a", (1.0,) * 5)), _run(_res("a", (1.0,) * 5)))
    assert cmp.changes[0].status == "unchanged" and cmp.exit_code() == 0


def test_a_heavier_candidate_is_a_memory_regression() -> None:
    def with_peak(peak: int) -> CaseResult:
        r = _res("a", (1.0,) * 5)
        return CaseResult(**{**r.__dict__, "candidate": Timing((1.0,) * 5, 1, peak)})

    cmp = compare_runs(_run(with_peak(10_000_000)), _run(with_peak(20_000_000)))
    assert cmp.changes[0].status == "regressed" and "peak memory 2.00×" in cmp.changes[0].reason
    small = compare_runs(_run(with_peak(100_000)), _run(with_peak(400_000)))
    assert small.changes[0].status == "unchanged"  # under the 1 MiB floor
