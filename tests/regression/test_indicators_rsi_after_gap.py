"""Regression: TA-Lib's RSI guard is ``gain + loss > 0``, so after a NaN it reads 0.0 (not NaN)
for the rest of the series. A NaN-propagating RSI disagreed with TA-Lib on every later bar."""

from __future__ import annotations

import numpy as np
import pytest

from perfkit.indicators import compute

talib = pytest.importorskip("talib")


def test_rsi_after_a_gap_reads_zero_like_talib() -> None:
    x = np.array([1, 2, 3, 4, 5, np.nan, 5, 6, 7, 8, 9, 10.0])
    got = compute({"close": x}, "rsi:2", backend="serial")["rsi_2"]
    np.testing.assert_array_equal(got, talib.RSI(x, 2))
    assert (got[5:] == 0.0).all()
