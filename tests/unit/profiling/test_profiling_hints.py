"""Each hint rule fires on a small program that has the problem, and stays silent on clean or
cold code. Measurements are given as a sampler would record them, so the tests are exact."""

from __future__ import annotations

import dataclasses
import textwrap

from _profiling_builders import func_stat, profile_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    HotLine,
    MemoryReport,
    Profile,
)

#: Bounded and derandomized, like the hostile-input layer.
HOSTILE_SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)

FILE = "/prog/app.py"
MB = 1 << 20


def make(source: str, functions=(), hot=(), memory=None, wall=1.0) -> Profile:
    return profile_of({FILE: textwrap.dedent(source).strip("\n")}, functions, hot, memory, wall)


def fn(name, line, total, self_s=None, cpu=None, calls=None):
    return func_stat(name, FILE, line, total, self_s, cpu, calls)


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


SRC_FILLED = """
def build(x):
    n = len(x)
    feats = np.empty((n, 6))
    feats[:, 0] = x
    feats[:, 1] = x * x
    return feats
"""


def test_downcast_points_at_the_line_that_created_the_array():
    seen = ArrayObservation(FILE, 5, "build", "feats", "float64", (10**6, 6), 48 * MB, 5e-8)
    (h,) = rule_float64_downcast(make(SRC_FILLED, memory=_mem([seen])))
    assert h.line == 3 and "np.empty" in h.source


SRC_PARAM = """
def stats(panel):
    work = panel * 2.0
    return work

def main():
    panel = rng.normal(size=(2000, 1000))
    return stats(panel)
"""


def test_downcast_of_a_parameter_points_at_the_caller_line_that_made_it():
    seen = ArrayObservation(FILE, 2, "stats", "panel", "float64", (2000, 1000), 16 * MB, 5e-8)
    (h,) = rule_float64_downcast(make(SRC_PARAM, memory=_mem([seen])))
    assert h.line == 6 and "rng.normal" in h.source
    two_callers = SRC_PARAM + "\ndef other():\n    cube = load()\n    return stats(cube)\n"
    (h,) = rule_float64_downcast(make(two_callers, memory=_mem([seen])))
    assert h.line == 2  # callers disagree: the line where the array was seen


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


def _seen(name, dtype, line=2):
    return ArrayObservation(FILE, line, "stats", name, dtype, (1000, 1000), 8 * MB, None)


def test_copy_fires_on_large_astype_to_the_same_dtype():
    mem = _mem(arrays=[_seen("panel", "float64")], sites=[_site(2, 64 * MB)])
    (h,) = rule_copy_not_view(make(SRC_COPY, memory=mem))
    assert h.line == 2 and "astype" in h.evidence and "perfkit.no_copy" in h.suggestion


def test_copy_silent_on_astype_that_converts_or_of_unknown_dtype():
    """A real conversion (float32 -> float64) cannot be a view; an unseen dtype is no evidence."""
    converting = _mem(arrays=[_seen("panel", "float32")], sites=[_site(2, 64 * MB)])
    assert list(rule_copy_not_view(make(SRC_COPY, memory=converting))) == []
    unknown = _mem(sites=[_site(2, 64 * MB)])
    assert list(rule_copy_not_view(make(SRC_COPY, memory=unknown))) == []


SRC_MASKS = """
def features(work, values, prices, n):
    positive = work[work > 0]
    ok = np.isfinite(work) & (work < 3)
    kept = work[ok]
    big = [v for v in values if v > 0]
    idx = np.arange(n)
    recent = prices[:, idx[n // 2 :]]
    picked = prices[[0, 5, 9]]
    row = prices[n - 1]
    order = np.argsort(values)
    ranked = prices[:, order]
    return positive, kept, big, recent, picked, row, ranked
"""


def _sites(*lines):
    return _mem(sites=[_site(line, 64 * MB) for line in lines])


def test_boolean_mask_is_never_a_copy_a_view_could_avoid():
    prof = make(SRC_MASKS, memory=_sites(2, 3, 4))
    assert list(rule_copy_not_view(prof)) == []


def test_list_comprehension_is_not_called_mask_indexing():
    assert list(rule_copy_not_view(make(SRC_MASKS, memory=_sites(5)))) == []


def test_fancy_index_where_a_slice_is_a_view_is_reported_at_its_line():
    (h,) = rule_copy_not_view(make(SRC_MASKS, memory=_sites(7)))
    assert h.line == 7 and "slice" in h.evidence and "view" in h.evidence
    assert "boolean" not in h.evidence
    hints = {h.line: h for h in rule_copy_not_view(make(SRC_MASKS, memory=_sites(8, 9, 11)))}
    assert set(hints) == {8, 11}  # a list index and an argsort order copy; prices[n - 1] is a view


SRC_LATE = """
def normalize(batch):
    frame = np.array(batch)
    frame -= frame.mean()
    return frame
"""


def test_rss_growth_charged_to_the_next_line_goes_back_to_the_copy():
    """The RSS sampler charges a copy that ends between two samples to the following line."""
    frame = ArrayObservation(FILE, 3, "normalize", "frame", "float32", (6 * MB,), 24 * MB, None)
    site = AllocationSite(FILE, 3, "normalize", 24 * MB, 1, "", "rss_growth")
    (h,) = rule_copy_not_view(make(SRC_LATE, memory=_mem([frame], [site])))
    assert h.line == 2 and "np.asarray" in h.evidence and "line 3" in h.evidence
    # exact (tracemalloc) sites stay where they are
    exact = AllocationSite(FILE, 3, "normalize", 24 * MB, 1, "", "tracemalloc")
    assert list(rule_copy_not_view(make(SRC_LATE, memory=_mem([frame], [exact])))) == []
    # without an array of that size made by the copy, the growth is not the copy's
    small = ArrayObservation(FILE, 3, "normalize", "frame", "float32", (1000,), 4000, None)
    assert list(rule_copy_not_view(make(SRC_LATE, memory=_mem([small], [site])))) == []
    assert list(rule_copy_not_view(make(SRC_LATE, memory=_mem([], [site])))) == []


def test_memory_hint_needs_a_real_share_of_the_growth():
    """5 MiB in a run that grew by 2 GiB is cold; the same 5 MiB in a 50 MiB run is not."""
    site = [_site(7, 5 * MB)]
    cold = MemoryReport(10 * MB, 2058 * MB, 50 * MB, top_lines=tuple(site))
    assert list(rule_copy_not_view(make(SRC_MASKS, memory=cold))) == []
    hot = MemoryReport(10 * MB, 60 * MB, 50 * MB, top_lines=tuple(site))
    assert [h.line for h in rule_copy_not_view(make(SRC_MASKS, memory=hot))] == [7]


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


SRC_BOTH = """
def rolling(x, window):
    out = np.full(len(x), np.nan)
    for i, v in enumerate(x):
        lo = max(0, i - window + 1)
        s = 0.0
        for j in range(lo, i + 1):
            s += x[j]
        out[i] = math.sqrt(abs(s)) + v
    return out

def main(panel):
    results = []
    for k in range(len(panel)):
        results.append(rolling(panel[k], 20))
    return results
"""


def test_numba_and_joblib_both_fire_on_a_hot_numeric_loop_called_per_item():
    prof = make(
        SRC_BOTH,
        [fn("rolling", 1, 0.9, 0.0, cpu=0.88), fn("main", 11, 0.95, 0.0, cpu=0.9)],
        [hl(7, 0.6, function="rolling"), hl(8, 0.2, function="rolling")],
    )
    rules = {(h.rule, h.line) for h in find_hints(prof)}
    assert rules == {("numba-loop", 3), ("joblib-candidate", 14)}


SRC_BLAS = """
def main(a, b):
    for _ in range(30):
        a = (a @ b) / 700.0
    total = 0.0
    for _ in range(30):
        total += np.sqrt(a).sum()
    return a, total
"""

SRC_TOP = """
best = 0
for n in range(1, 10000):
    m = n
    steps = 0
    while m != 1:
        m = m // 2 if m % 2 == 0 else 3 * m + 1
        steps += 1
    best = max(best, steps)
"""


def test_numba_counts_samples_with_no_line_as_loop_time():
    """CPython 3.11 gives a call-free loop's back edge no line: those samples are the loop's."""
    prof = make(
        SRC_LOOP,
        [fn("sma", 1, 0.8, 0.8)],
        [HotLine(FILE, 0, "sma", 0.7, 0.7), hl(6, 0.05, function="sma")],
    )
    (h,) = rule_numba_loop(prof)
    assert h.line == 3


def test_numba_silent_on_loops_whose_time_is_in_numpy():
    prof = make(
        SRC_BLAS,
        [fn("main", 1, 0.9, 0.0)],
        [hl(3, 0.5, function="main"), hl(6, 0.35, function="main")],
    )
    assert list(rule_numba_loop(prof)) == []


def test_numba_fires_on_a_hot_loop_at_the_top_level_of_a_script():
    prof = make(
        SRC_TOP,
        [fn("<module>", 1, 0.95, 0.0)],
        [hl(6, 0.5, function="<module>"), hl(7, 0.3, function="<module>")],
    )
    (h,) = rule_numba_loop(prof)
    assert h.line == 2


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


def test_joblib_cpu_bound_is_relative_to_the_cpu_the_run_got():
    """On a loaded machine (the run got 17% of a core) a function at 9% CPU/wall computes; on an
    idle one (run at 95%) it mostly waits. Code that sleeps (0.4%) waits either way."""
    loaded = make(SRC_FANOUT, [fn("work", 1, 0.9, cpu=0.083)], wall=1.0)
    loaded = dataclasses.replace(loaded, cpu_s=0.17)
    assert [h.rule for h in rule_joblib_candidate(loaded)] == ["joblib-candidate"]
    idle = dataclasses.replace(loaded, cpu_s=0.95)
    assert list(rule_joblib_candidate(idle)) == []
    sleeping = make(SRC_FANOUT, [fn("work", 1, 0.9, cpu=0.004)], wall=1.0)
    assert list(rule_joblib_candidate(dataclasses.replace(sleeping, cpu_s=0.01))) == []


def test_joblib_cpu_bound_uses_the_run_queue_wait_when_the_profile_has_it():
    """Linux profiles carry the main thread's run-queue wait: a loop that sleeps on an idle
    machine (5% CPU/wall, never queued) waits, however little CPU the whole run used; the same
    5% on a machine where the thread was queued 95% of its runnable time computes."""
    waiting = make(SRC_FANOUT, [fn("work", 1, 0.9, cpu=0.045)], wall=1.0)
    waiting = dataclasses.replace(
        waiting,
        cpu_s=0.05,
        environment={"main_thread_sched": {"cpu_s": 0.05, "runqueue_wait_s": 0.001}},
    )
    assert list(rule_joblib_candidate(waiting)) == []
    starved = dataclasses.replace(
        waiting, environment={"main_thread_sched": {"cpu_s": 0.05, "runqueue_wait_s": 0.95}}
    )
    assert [h.rule for h in rule_joblib_candidate(starved)] == ["joblib-candidate"]


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


# -- robustness and determinism --------------------------------------------------------------

_SNIPPETS = [
    "x = a[b > 0]",
    "y = a[:, idx[n // 2 :]]",
    "z = np.array(a).astype(np.float32)",
    "for i in range(n):\n    s += x[i]",
    "while m != 1:\n    m = m // 2",
    "w = [v for v in values if v > 0]",
    "total = sum([v for v in values])",
    "def f(a, b):\n    return a[b]",
    "class C:\n    def m(self):\n        return self.x[[1, 2]]",
    "with open(p) as fh:\n    data = fh.read()",
    "async def g():\n    await h()",
    "lambda q: q[q > 0]",
    "x[...] = y[None, :]",
    "a = b = c[d][e]",
    "(x := y[z])",
    "def broken(:",
    "\x00",
    "",
]


@HOSTILE_SETTINGS
@given(
    parts=st.lists(st.sampled_from(_SNIPPETS), min_size=0, max_size=6),
    lines=st.lists(st.integers(-2, 40), min_size=1, max_size=8),
    name=st.sampled_from(["f", "<module>", "m", "C.m", "g", "<lambda>", "f.<locals>.<listcomp>"]),
)
def test_rules_never_raise_and_are_deterministic(parts, lines, name):
    """Hints run on other people's programs: any source and any profile figures must give a
    list of hints (never an exception), and the same list twice, also after a JSON round trip."""
    source = "\n".join(parts)
    prof = make(
        source,
        [fn(name, ln, 0.5, 0.3, cpu=0.4, calls=3) for ln in lines],
        [hl(ln, 0.2, function=name) for ln in lines],
        memory=_mem(
            [
                ArrayObservation(FILE, ln, name, "a", "float64", (10,), 64 * MB, 1e-8)
                for ln in lines
            ],
            [_site(ln, 64 * MB) for ln in lines],
        ),
    )
    first = find_hints(prof)
    assert first == find_hints(prof)
    assert find_hints(Profile.from_dict(prof.to_dict())) == first


def test_pathologically_nested_source_gives_no_hint_and_no_error():
    deep = "y = a" + "[0]" * 3000 + "[b > 0]"
    assert find_hints(make(deep, memory=_mem(sites=[_site(1, 64 * MB)]))) == []
    parens = "y = " + "(" * 300 + "x[[1, 2]]" + ")" * 300
    assert find_hints(make(parens, memory=_mem(sites=[_site(1, 64 * MB)]))) == []
