"""Regression: with FMA contraction on, LLVM fused a different multiply in the vectorized loop
than in the one-lane loop, so results changed (by ~1e-11) with the batch size and backend.
Kernels now compile without fastmath and every split gives the same bits."""

from __future__ import annotations

import numpy as np

from perfkit.indicators import compute


def test_batch_size_does_not_change_a_single_bit() -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (400, 19)), axis=0))
    close[:11, 5] = np.nan
    spec = "ema:12,rsi:14,macd:12,26,9,atr:14,bbands:20,2"
    panel = {"close": close, "high": close * 1.01, "low": close * 0.99}
    whole = compute(panel, spec, backend="serial")
    for size in (1, 3, 7):
        split = compute(panel, spec, backend="threads", n_jobs=2, batch_size=size)
        for name, arr in whole.items():
            np.testing.assert_array_equal(split[name], arr, err_msg=f"{name} batch={size}")
