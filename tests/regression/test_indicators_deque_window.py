"""Regression: the rolling min/max ring buffer pushed the new index before evicting the one that
left the window, so a strictly monotone run of exactly ``n`` values overflowed the ring."""

from __future__ import annotations

import numpy as np

from perfkit.indicators import compute


def test_monotone_runs_longer_than_the_window() -> None:
    x = np.concatenate([np.arange(50.0, 0.0, -1.0), np.arange(1.0, 51.0)])
    for n in (2, 3, 7, 50):
        out = compute({"close": x}, f"min:{n},max:{n}", backend="serial")
        win = np.lib.stride_tricks.sliding_window_view(x, n)
        np.testing.assert_array_equal(out[f"max_{n}"][n - 1 :], win.max(axis=1))
        np.testing.assert_array_equal(out[f"min_{n}"][n - 1 :], win.min(axis=1))
