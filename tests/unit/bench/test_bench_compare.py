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


# --- Holm-Bonferroni and the effect size ------------------------------------------------------


def test_holm_adjusts_step_down_in_input_order() -> None:
    from perfkit.bench.compare import holm_adjust

    # sorted: 0.01 (x3) -> 0.03, 0.02 (x2) -> 0.04, 0.04 (x1) -> 0.04 (monotone)
    assert holm_adjust([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    # monotonicity: a later, smaller product never undercuts an earlier one
    assert holm_adjust([0.001, 0.0049, 0.006]) == pytest.approx([0.003, 0.0098, 0.0098])
    assert holm_adjust([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm_adjust([None, 0.01, None]) == [None, 0.01, None]  # untested: not in the family
    assert holm_adjust([]) == []
    with pytest.raises(ValueError):
        holm_adjust([1.5])


def test_holm_stops_five_borderline_cases_that_plain_alpha_would_flag() -> None:
    # Five cases each ~1.3x slower on samples that reach p ~ 0.007 alone: with Holm over five the
    # smallest adjusted p is 5 * p, above alpha: no case is flagged by chance of many tests.
    old_t = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7)
    new_t = tuple(x + 0.4 for x in old_t)
    from perfkit.bench.compare import slower_p_value

    p = slower_p_value(old_t, new_t)
    assert 0.002 < p < 0.01  # significant alone, not after x5
    one = compare_runs(_run(_res("a", old_t)), _run(_res("a", new_t)))
    assert one.changes[0].status == "regressed"
    ids = "abcde"
    five = compare_runs(_run(*(_res(i, old_t) for i in ids)), _run(*(_res(i, new_t) for i in ids)))
    assert [c.status for c in five.changes] == ["unchanged"] * 5
    assert all(c.p_slower_adjusted == pytest.approx(min(1.0, 5 * p)) for c in five.changes)
    assert "Holm" in five.summary()


def test_holm_keeps_a_clear_regression_among_many_cases() -> None:
    same = tuple(1.0 + 0.01 * i for i in range(20))
    slow = tuple(1.5 + 0.01 * i for i in range(20))
    old = _run(*(_res(f"c{i}", same) for i in range(10)))
    new = _run(*(_res(f"c{i}", slow if i == 3 else same) for i in range(10)))
    cmp = compare_runs(old, new)
    assert [c.id for c in cmp.regressed] == ["c3"]
    c3 = cmp.regressed[0]
    assert c3.p_slower_adjusted is not None and c3.p_slower is not None
    assert c3.p_slower_adjusted == pytest.approx(10 * c3.p_slower)


def test_hodges_lehmann_ratio_and_interval() -> None:
    from perfkit.bench.compare import hodges_lehmann_ratio

    old = tuple(1.0 + 0.01 * i for i in range(30))
    new = tuple(1.3 * x for x in old)
    est, lo, hi = hodges_lehmann_ratio(old, new)
    assert est == pytest.approx(1.3)
    assert lo < 1.3 < hi and lo > 1.15 and hi < 1.5
    est2, lo2, hi2 = hodges_lehmann_ratio(old, new, confidence=0.99)
    assert est2 == est and lo2 <= lo and hi2 >= hi  # more coverage, wider
    # one sample a side: the interval is the one ratio there is
    assert hodges_lehmann_ratio((2.0,), (3.0,)) == pytest.approx((1.5, 1.5, 1.5))
    with pytest.raises(ValueError):
        hodges_lehmann_ratio((), (1.0,))
    with pytest.raises(ValueError):
        hodges_lehmann_ratio((0.0,), (1.0,))


def test_every_verdict_states_its_effect_size() -> None:
    change = compare_runs(_run(_res("a", _noisy(1.0, 15, 1))), _run(_res("a", _noisy(1.3, 15, 2))))
    c = change.changes[0]
    assert c.hl_ratio is not None and c.ratio_ci is not None
    assert c.ratio_ci[0] <= c.hl_ratio <= c.ratio_ci[1]
    assert "Hodges-Lehmann" in c.reason and "95% CI" in c.reason


try:
    from hypothesis import given
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    given = None

if given is not None:
    _p = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)

    @given(st.lists(_p, max_size=30))
    def test_holm_properties(ps: list[float]) -> None:
        from perfkit.bench.compare import holm_adjust

        adj = holm_adjust(ps)
        m = len(ps)
        for p, a in zip(ps, adj, strict=True):
            assert a is not None and p <= a + 1e-15 and a <= min(1.0, m * p) + 1e-12
        order = sorted(range(m), key=lambda i: ps[i])
        ranked = [adj[i] for i in order]
        assert ranked == sorted(ranked)  # a smaller raw p never gets a larger adjusted p

    _t = st.floats(min_value=1e-6, max_value=1e3, allow_nan=False)

    @given(st.lists(_t, min_size=1, max_size=25), st.lists(_t, min_size=1, max_size=25), _t)
    def test_hodges_lehmann_properties(old: list[float], new: list[float], scale: float) -> None:
        from perfkit.bench.compare import hodges_lehmann_ratio

        est, lo, hi = hodges_lehmann_ratio(old, new)
        assert lo <= est * (1 + 1e-9) and est <= hi * (1 + 1e-9)
        ratios = [y / x for y in new for x in old]
        assert min(ratios) * (1 - 1e-9) <= lo and hi <= max(ratios) * (1 + 1e-9)
        # the unit of time does not matter; swapping the sides inverts the ratio
        scaled = hodges_lehmann_ratio([scale * x for x in old], [scale * y for y in new])
        assert scaled[0] == pytest.approx(est, rel=1e-6)
        assert hodges_lehmann_ratio(new, old)[0] == pytest.approx(1 / est, rel=1e-6)
