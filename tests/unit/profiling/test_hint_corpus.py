"""The hint rules on the hint corpus (tests/hint_corpus): every planted problem is found at its
line, no rule falls below its precision target, and clean controls get no hint at all.

The programs run under ``perfkit profile --memory`` in subprocesses (about a minute in all);
their planted problems dominate their run, so the outcome does not depend on sampling noise.
The rules themselves are deterministic given a profile (see test_profiling_hints.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if str(Path(__file__).resolve().parents[3]) not in sys.path:  # a plain `pytest` run
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.hint_corpus import evaluate as ev  # noqa: E402

TARGETS, PROGRAMS = ev.load_expectations()


def test_corpus_shape_and_expectations_match_the_markers() -> None:
    files = sorted(p.name for p in ev.HERE.glob("p[0-9]*.py"))
    assert files == sorted(p.file for p in PROGRAMS)
    assert len(PROGRAMS) >= 12
    assert sum(p.kind == "clean" for p in PROGRAMS) >= 3
    for program in PROGRAMS:
        assert set(ev.markers(ev.HERE / program.file)) == set(program.expected), program.file
        assert (program.kind == "clean") == (not program.expected), program.file
    planted = {e.rule for p in PROGRAMS for e in p.expected}
    assert planted == set(ev.rule_ids()), "every rule needs a planted problem"


def test_scores_and_verdicts_count_correctly() -> None:
    program = ev.Program("x.py", "planted", "t", (ev.Expected("numba-loop", 3),))
    hit = ev.Outcome(program, found=[("numba-loop", 3)], unexpected=[("copy-not-view", 5, "t")])
    miss = ev.Outcome(program, missed=[("numba-loop", 3)])
    table = ev.scores([hit, miss], ["numba-loop", "copy-not-view"])
    assert (table["numba-loop"].tp, table["numba-loop"].fn) == (1, 1)
    assert table["numba-loop"].recall == 0.5 and table["copy-not-view"].precision == 0.0
    verdict = ev.verdicts(table, {"recall": 1.0, "precision": 0.9})
    assert not verdict["numba-loop"][0] and "recall 0.50" in verdict["numba-loop"][1]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[ev.Outcome]:
    """One profile per program; a program that missed a planted hint is profiled once more.

    On a loaded CI machine (the other xdist worker busy) a run can come out with too few samples
    for a rule that needs CPU/wall evidence. A second run may supply the missing hint, but every
    hint either run gives that is not expected still counts against precision, so the retry can
    only forgive sampling noise, never a rule that does not fire or fires wrongly.
    """
    first = ev.evaluate(PROGRAMS, tmp_path_factory.mktemp("hint-corpus"))
    # A run that crashed is NOT retried: a crash is a defect (the --memory SIGSEGV this once
    # forgave is fixed, tests/regression/test_profiling_memory_locals_crash.py).
    again = [o.program for o in first if o.missed and not o.error]
    if not again:
        return first
    second = {o.program.file: o for o in ev.evaluate(again, tmp_path_factory.mktemp("retry"))}
    merged = []
    for o in first:
        s = second.get(o.program.file)
        if s is None:
            merged.append(o)
            continue
        found = sorted(set(o.found) | set(s.found))
        merged.append(
            ev.Outcome(
                o.program,
                found=found,
                missed=[m for m in o.missed if m not in found],
                unexpected=o.unexpected + [u for u in s.unexpected if u not in o.unexpected],
                wall_s=o.wall_s + s.wall_s,
                error=s.error,  # the retry crashing fails the test too
            )
        )
    return merged


@pytest.mark.slow
def test_every_program_profiles(outcomes: list[ev.Outcome]) -> None:
    assert [o.program.file for o in outcomes if o.error] == []


@pytest.mark.slow
def test_every_planted_problem_is_found_at_its_line(outcomes: list[ev.Outcome]) -> None:
    missed = {o.program.file: o.missed for o in outcomes if o.missed}
    table = ev.scores(outcomes, ev.rule_ids())
    for rule, score in table.items():
        assert score.recall is not None and score.recall >= TARGETS["recall"], (rule, missed)


@pytest.mark.slow
def test_precision_per_rule_meets_its_target(outcomes: list[ev.Outcome]) -> None:
    extra = {o.program.file: o.unexpected for o in outcomes if o.unexpected}
    for rule, score in ev.scores(outcomes, ev.rule_ids()).items():
        if score.precision is not None:
            assert score.precision >= TARGETS["precision"], (rule, extra)


@pytest.mark.slow
def test_clean_controls_get_no_hint(outcomes: list[ev.Outcome]) -> None:
    noisy = {o.program.file: o.unexpected for o in outcomes if o.program.kind == "clean"}
    assert all(not hints for hints in noisy.values()), noisy
