"""The scoreboard renderer and the formatting module: figures read right, slowdowns say so."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from perfkit.bench.case import Verdict
from perfkit.bench.results import BenchRun, CaseResult
from perfkit.bench.timer import Timing
from perfkit.errors import SchemaError
from perfkit.render import _fmt
from perfkit.render.bench_html import (
    BenchHtmlRenderer,
    LogAxis,
    render_dashboard,
    tick_label,
)
from perfkit.render.bench_view import view_run

finite_pos = st.floats(min_value=1e-12, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(finite_pos)
@example(0.0012)
@example(1e-6)
def test_a_ratio_below_one_never_reads_as_zero_or_one(r: float) -> None:
    text = _fmt.ratio(r)
    assert text.endswith("×")
    if r < 0.995:
        assert text not in ("0.00×", "0×", "1.00×")
        assert _fmt.ratio_words(r).endswith("slower")
    if r > 1.01:
        assert _fmt.ratio_words(r).endswith("faster")


@given(st.floats(min_value=1e-4, max_value=1e6))
def test_ratio_text_is_within_two_significant_figures(r: float) -> None:
    shown = float(_fmt.ratio(r).rstrip("×").replace(",", ""))
    assert math.isclose(shown, r, rel_tol=0.06, abs_tol=0.006)


@given(st.floats(min_value=1e-10, max_value=1e5))
def test_duration_round_trips_to_three_figures(s: float) -> None:
    value, unit = _fmt.duration(s).split(" ")
    scale = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}[unit]
    assert math.isclose(float(value) * scale, s, rel_tol=0.006)


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), -float("inf")])
def test_formatters_answer_a_dash_for_missing_or_non_finite(bad) -> None:
    for f in (_fmt.duration, _fmt.size, _fmt.ratio, _fmt.ratio_words, _fmt.number, _fmt.seconds):
        assert f(bad) == "—"


@given(st.lists(finite_pos, min_size=1, max_size=20))
def test_log_axis_holds_every_value_and_one_with_few_ticks(values: list[float]) -> None:
    axis = LogAxis.covering(values)
    for v in [*values, 1.0]:
        assert 0.0 < axis.pos(v) < 100.0
    assert 2 <= len(axis.ticks) <= 7
    assert 0 in axis.ticks or axis.ticks[1] - axis.ticks[0] > 1


def test_tick_labels() -> None:
    assert [tick_label(k) for k in (-5, -2, 0, 3, 4, 6)] == [
        "1e-5×",
        "0.01×",
        "1×",
        "1k×",
        "10k×",
        "1M×",
    ]


def _result(
    rid: str, base: float, cand: float, *, peaks=(8_000_000, 2_000_000), status="passed"
) -> CaseResult:
    return CaseResult(
        case=rid.split("[")[0],
        id=rid,
        group="memory",
        params={},
        device="cpu",
        status=status,
        baseline=Timing((base,) * 3, 1, peaks[0]),
        candidate=Timing((cand,) * 3, 1, peaks[1]),
        verdict=Verdict(True, "ok", max_abs_error=0.0, figures={"values_compared": 2490500.0}),
        description="d",
        baseline_label="old way",
        candidate_label="new way",
    )


def _run(*results: CaseResult, settings=None) -> BenchRun:
    return BenchRun(
        tuple(results),
        "2026-01-01T00:00:00Z",
        1.0,
        {"cpu_model": "AMD EPYC", "cpu_count": 2, "node": "vm"},
        {"id": "0123456789abcdef"},
        settings or {"device": "cpu", "pattern": "memory", "quick": True},
    )


def test_a_slowdown_is_red_and_labelled_next_to_its_passed_check() -> None:
    page = BenchHtmlRenderer().render(_run(_result("slow[n=1]", 1.0, 1 / 0.15)))
    row = page.split("<code>slow[<wbr>n=1]</code><br>", 1)[1].split("</tr>", 1)[0]
    assert 'class="num slower"' in row and "0.15×" in row and "6.67×&nbsp;slower" in row
    assert "check passed" in row and "but slower" in row
    assert 'class="bar slower"' in page


def test_extreme_ratios_carry_a_numbered_note_with_both_figures() -> None:
    r = _result("extreme[n=1]", 16.301, 0.001, peaks=(65_000_000, 100))
    page = BenchHtmlRenderer().render(_run(r))
    assert "16,301×<sup>" in page
    notes = re.findall(r'<li id="n-memory-\d">(.*?)</li>', page)
    assert len(notes) == 2
    assert "baseline median 16.3 s / candidate median 1 ms" in notes[0]
    assert "62.0 MiB" in notes[1] and "100 B" in notes[1] and "one page" in notes[1]
    assert "does not record its allocators" in notes[1]


def test_cards_say_what_a_run_covers_and_where_it_ran() -> None:
    page = BenchHtmlRenderer().render(_run(_result("a[n=1]", 2.0, 1.0)))
    assert "CPU: newest run is partial" in page
    assert "partial run (-k memory --quick (small sizes)): 1 results in memory" in page
    assert "AMD EPYC, 2 cores on vm" in page
    full = view_run(Path("f.json"), _run(_result("a[n=1]", 2.0, 1.0), settings={"device": "cpu"}))
    assert full.full and full.coverage == "full run: 1 results in memory"


def test_history_has_a_labelled_axis_and_commits() -> None:
    runs = [
        view_run(Path(f"{i}.json"), _run(_result("a[n=1]", speed, 1.0)))
        for i, speed in enumerate((2.0, 3.0, 0.5))
    ]
    page = render_dashboard(runs)
    spark = page.split('<div class="spark">', 1)[1].split("</td>", 1)[0]
    assert "<span>3.00×</span><span>0.50×</span>" in spark
    assert "3 runs, commit 0123456 → 0123456" in spark
    assert "History per commit" in page


def test_no_script_and_no_external_resource() -> None:
    page = BenchHtmlRenderer().render(_run(_result("a[n=1]", 2.0, 1.0)))
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_the_renderer_refuses_an_odd_figure_naming_case_and_field() -> None:
    r = _result("odd[n=1]", 2.0, 1.0)
    bad = CaseResult(**{**r.__dict__, "baseline": Timing((), 1, 10)})
    with pytest.raises(SchemaError, match=r"case odd\[n=1\]: baseline.times_s \(no samples\)"):
        BenchHtmlRenderer().render(_run(bad))


def test_a_memory_note_lists_each_sides_allocators() -> None:
    from perfkit.bench import timer

    if not hasattr(timer, "MemoryPeak"):
        pytest.skip("results files without per-allocator peaks")
    r = _result("torchy[n=1]", 2.0, 1.0, peaks=(65_000_000, 100))
    base = Timing(
        (2.0,) * 3, 1, 65_000_000, timer.MemoryPeak({"tracemalloc": 0, "torch_cpu": 65_000_000})
    )
    cand = Timing((1.0,) * 3, 1, 100, timer.MemoryPeak({"tracemalloc": 100, "torch_cpu": 0}))
    r = CaseResult(**{**r.__dict__, "baseline": base, "candidate": cand})
    page = BenchHtmlRenderer().render(_run(r))
    (note,) = re.findall(r'<li id="n-memory-\d">(.*?)</li>', page)
    assert "Baseline by allocator: tracemalloc 0 B, torch_cpu 62.0 MiB." in note
    assert "Candidate by allocator: tracemalloc 100 B, torch_cpu 0 B." in note
