"""Regression: the pandas-vs-numba MACD case failed at full size (max rel error 6.3e-7 against a
1e-9 limit) although the largest absolute difference was 6.8e-13: MACD crosses zero, and the
check divided by the value itself. Errors are now relative to max(|x|, 1e-3·max|output|)."""

from __future__ import annotations

import numpy as np

from perfkit.indicators.cases import compare


def test_tiny_absolute_difference_at_a_zero_crossing_is_agreement() -> None:
    base = np.array([np.nan, 1.5, 0.8, 1e-6, -0.9, -1.2])
    cand = base.copy()
    cand[3] += 6.8e-13
    v = compare({"macd": base}, {"macd": cand})
    assert v.ok, v.detail
    assert v.max_abs_error == np.float64(6.8e-13) or abs(v.max_abs_error - 6.8e-13) < 1e-15


def test_a_real_disagreement_still_fails() -> None:
    base = np.array([1.5, 0.8, 1e-6, -0.9])
    cand = base.copy()
    cand[1] *= 1 + 1e-6
    assert not compare({"macd": base}, {"macd": cand}).ok
    moved_nan = base.copy()
    moved_nan[0] = np.nan
    assert not compare({"macd": base}, {"macd": moved_nan}).ok
