"""Regression: TA-Lib 0.8 re-sums WMA every 8n and STDDEV every 32n outputs, so a gap stops
propagating there. Our first kernels kept NaN forever after a gap and disagreed with TA-Lib."""

from __future__ import annotations

import numpy as np
import pytest

from perfkit.indicators import compute

talib = pytest.importorskip("talib")


@pytest.mark.parametrize(
    ("spec", "fn", "n"), [("wma", "WMA", 5), ("wma", "WMA", 10), ("std", "STDDEV", 5)]
)
def test_nan_recovery_points_match_talib(spec: str, fn: str, n: int) -> None:
    x = 100 + np.cumsum(np.random.default_rng(0).normal(size=1500))
    x[:3] = np.nan
    x[200] = np.nan
    got = compute({"close": x}, f"{spec}:{n}", backend="serial")[f"{spec}_{n}"]
    want = getattr(talib, fn)(x, n)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert not np.isnan(got[-1])  # it did recover
