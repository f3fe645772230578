"""Each hint rule fires on a small program that has the problem, and stays silent on clean or
cold code. Measurements are given as a sampler would record them, so the tests are exact."""

from __future__ import annotations

import textwrap

from perfkit.profiling.hints import (
    find_hints,
    rule_copy_not_view,
    rule_float64_downcast,
    rule_joblib_candidate,
    rule_list_only_iterated,
    rule_numba_loop,
)
from perfkit.profiling.model import (
    AllocationSite,
    ArrayObservation,
    FunctionStat,
    HotLine,
    MemoryReport,
    Profile,
)

FILE = "/prog/app.py"
MB = 1 << 20


def make(source: str, functions=(), hot=(), memory=None, wall=1.0) -> Profile:
    return Profile(
        program="app.py",
        kind="script",
        argv=("app.py",),
        cwd="/prog",
        modes=("sampling",),
        started_at="2026-01-01T00:00:00Z",
        wall_s=wall,
        cpu_s=wall,
        functions=tuple(functions),
        hot_lines=tuple(hot),
        memory=memory,
        sources={FILE: textwrap.dedent(source).strip("\n")},
    )


def fn(name, line, total, self_s=None, cpu=None, calls=None):
    return FunctionStat(
        name,
        FILE,
        line,
        self_s if self_s is not None else total,
        total,
        cpu,
        cpu,
        calls,
        calls,
        10,
        "__main__",
        True,
    )


def hl(line, self_s, total=None, function="f", source=""):
    return HotLine(FILE, line, function, self_s, total if total is not None else self_s, source)


# -- float64-downcast ------------------------------------------------------------------------


def _arr(dtype="float64", nbytes=80 * MB, err=6e-8, overflow=False):
    return ArrayObservation(FILE, 2, "load", "prices", dtype, (nbytes // 8,), nbytes, err, overflow)


def _mem(arrays=(), sites=()):
    return MemoryReport(10 * MB, 200 * MB, 50 * MB, top_lines=tuple(sites), arrays=tuple(arrays))


SRC_ARRAY = """
def load():
    prices = np.random.default_rng(0).normal(size=10_000_000)
    return prices
"""


def test_downcast_fires_for_large_float64_that_float32_holds():
    (h,) = rule_float64_downcast(make(SRC_ARRAY, memory=_mem([_arr()])))
    assert h.rule == "float64-downcast" and h.bytes_saved == 40 * MB
    assert "perfkit.downcast(prices" in h.suggestion and "80.0 MiB" in h.evidence


def test_downcast_silent_on_float32_small_overflowing_or_imprecise_arrays():
    for arr in (_arr(dtype="float32"), _arr(nbytes=MB), _arr(overflow=True), _arr(err=1e-3)):
        assert list(rule_float64_downcast(make(SRC_ARRAY, memory=_mem([arr])))) == []
    assert list(rule_float64_downcast(make(SRC_ARRAY))) == []


# -- copy-not-view ---------------------------------------------------------------------------

SRC_COPY = """
def stats(panel):
    work = panel.astype(np.float64)
    view = panel[:100]
    return work, view
"""


def _site(line, size):
    return AllocationSite(FILE, line, "stats", size, 1, "", "rss_growth")


def test_copy_fires_on_large_astype_line():
    (h,) = rule_copy_not_view(make(SRC_COPY, memory=_mem(sites=[_site(2, 64 * MB)])))
    assert h.line == 2 and "astype" in h.evidence and "perfkit.no_copy" in h.suggestion


def test_copy_silent_on_small_allocation_and_on_a_slice():
    assert list(rule_copy_not_view(make(SRC_COPY, memory=_mem(sites=[_site(2, MB)])))) == []
    assert list(rule_copy_not_view(make(SRC_COPY, memory=_mem(sites=[_site(3, 64 * MB)])))) == []


# -- numba-loop ------------------------------------------------------------------------------

SRC_LOOP = """
def sma(x, window):
    out = np.empty(len(x))
    for i in range(window, len(x)):
        total = 0.0
        for j in range(i - window, i):
            total += x[j]
        out[i] = total / window
    return out
"""

SRC_STRING_LOOP = """
def sma(x, window):
    out = []
    for i in range(window, len(x)):
        total = 0.0
        for j in range(i - window, i):
            total += float(x[j].strip())
        out.append(f"{total:.2f}")
    return out
"""


def test_numba_fires_on_hot_numeric_loop():
    prof = make(
        SRC_LOOP,
        [fn("sma", 1, 0.8, 0.8)],
        [hl(6, 0.6, function="sma"), hl(5, 0.15, function="sma")],
    )
    (h,) = rule_numba_loop(prof)
    assert h.line == 3 and "numba.njit" in h.suggestion and "0.75 s" in h.evidence


def test_numba_silent_when_cold_or_not_compilable():
    cold = make(SRC_LOOP, [fn("sma", 1, 0.05)], [hl(6, 0.04, function="sma")])
    assert list(rule_numba_loop(cold)) == []
    strings = make(SRC_STRING_LOOP, [fn("sma", 1, 0.8)], [hl(6, 0.6, function="sma")])
    assert list(rule_numba_loop(strings)) == []


# -- joblib-candidate ------------------------------------------------------------------------

SRC_FANOUT = """
def work(item):
    return sum(i * i for i in range(item))

def main(items):
    return [work(item) for item in items]
"""

SRC_CHAIN = """
def work(item):
    return sum(i * i for i in range(item))

def main(items):
    state = 1
    for item in items:
        state = work(state + item)
    return state
"""


def test_joblib_fires_on_independent_calls_in_a_loop():
    prof = make(SRC_FANOUT, [fn("work", 1, 0.9, cpu=0.88), fn("main", 4, 0.95, 0.0)])
    (h,) = rule_joblib_candidate(prof)
    assert h.function == "work" and h.line == 5 and "joblib.Parallel" in h.suggestion


def test_joblib_silent_on_chained_calls_on_waiting_code_and_cold_code():
    chained = make(SRC_CHAIN, [fn("work", 1, 0.9, cpu=0.88)])
    assert list(rule_joblib_candidate(chained)) == []
    sleeping = make(SRC_FANOUT, [fn("work", 1, 0.9, cpu=0.01)])
    assert list(rule_joblib_candidate(sleeping)) == []
    cold = make(SRC_FANOUT, [fn("work", 1, 0.05, cpu=0.05)])
    assert list(rule_joblib_candidate(cold)) == []
    once = make(SRC_FANOUT, [fn("work", 1, 0.9, cpu=0.9, calls=1)])
    assert list(rule_joblib_candidate(once)) == []


# -- list-only-iterated ----------------------------------------------------------------------

SRC_LISTS = """
def score(values, a, b, c):
    total = sum([v * v for v in values])
    for p in [a, b, c]:
        total += p
    for v in list(values):
        total -= v
    kept = [v for v in values if v > 0]
    return total, kept
"""


def test_list_rule_fires_for_sum_of_listcomp_list_display_and_list_call():
    prof = make(
        SRC_LISTS,
        hot=[
            hl(2, 0.3, function="score"),
            hl(3, 0.1, function="score"),
            hl(5, 0.2, function="score"),
        ],
    )
    hints = {h.line: h for h in rule_list_only_iterated(prof)}
    assert set(hints) == {2, 3, 5}
    assert "generator" in hints[2].suggestion and "tuple" in hints[3].suggestion
    assert "list() copies" in hints[5].suggestion


def test_list_rule_silent_on_kept_lists_and_cold_lines():
    prof = make(SRC_LISTS, hot=[hl(7, 0.5, function="score"), hl(2, 0.01, function="score")])
    assert list(rule_list_only_iterated(prof)) == []


def test_find_hints_orders_by_value_and_dedupes():
    prof = make(
        SRC_LOOP, [fn("sma", 1, 0.8)], [hl(6, 0.6, function="sma"), hl(6, 0.6, function="sma")]
    )
    hints = find_hints(prof)
    assert [h.rule for h in hints] == ["numba-loop"]
    assert find_hints(make("x = 1\n")) == []
