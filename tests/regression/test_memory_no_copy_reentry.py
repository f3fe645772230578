"""Regression (issue 11, finding 5): entering one ``no_copy()`` object twice raised ``KeyError``
and left the line tracer and tracemalloc on for the rest of the process. Nested re-entry is now a
clear UsageError, sequential re-use works, and the tracer/tracemalloc state is always restored."""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np
import pytest

from perfkit.errors import UsageError
from perfkit.memory.views import no_copy

X = np.arange(1_000_000.0)


def _state() -> tuple[object, bool]:
    return sys.gettrace(), tracemalloc.is_tracing()


@pytest.fixture(autouse=True)
def _clean_state():
    before = _state()
    yield
    assert _state() == before


def test_nested_reentry_is_a_clear_error_and_restores_state() -> None:
    before = _state()
    guard = no_copy(min_bytes=1 << 20, action="record")
    with pytest.raises(UsageError, match="already active"), guard:
        with guard:
            pass
    assert _state() == before
    # the object is usable again afterwards
    with guard:
        _ = X[np.arange(300_000)]
    assert [c.size_bytes for c in guard.copies] == [2_400_000]
    assert _state() == before


def test_sequential_reuse_reports_each_block() -> None:
    before = _state()
    guard = no_copy(min_bytes=1 << 20, action="record")
    with guard:
        _ = X[np.arange(500_000)]
    first = [c.size_bytes for c in guard.copies]
    assert _state() == before
    with guard:
        _ = X[np.arange(400_000)]
    assert first == [4_000_000]
    assert [c.size_bytes for c in guard.copies] == [3_200_000]
    assert _state() == before


def test_exception_inside_block_restores_state() -> None:
    before = _state()
    guard = no_copy(min_bytes=1 << 20, action="raise")
    with pytest.raises(ZeroDivisionError), guard:
        _ = 1 / 0
    assert _state() == before


def test_exit_without_enter_is_harmless() -> None:
    guard = no_copy()
    assert guard.__exit__(None, None, None) is None


def test_user_tracer_and_tracemalloc_are_kept() -> None:
    def tracer(frame, event, arg):  # noqa: ANN001, ANN202
        return None

    tracemalloc.start()
    sys.settrace(tracer)
    try:
        guard = no_copy(min_bytes=1 << 20, action="record")
        with guard:
            _ = X[np.arange(500_000)]
        assert sys.gettrace() is tracer and tracemalloc.is_tracing()
        assert guard.notes  # temporaries could not be tracked, and it says so
    finally:
        sys.settrace(None)
        tracemalloc.stop()
