"""Regression: LOGRET divided by the lagged price under numba's Python error model, so a zero
price raised ZeroDivisionError (a traceback out of compute()). It now gives TA-Lib's answer:
LN(CLOSE) - LN(CLOSE[lag]) is +inf after a zero and -inf at it."""

from __future__ import annotations

import numpy as np

from perfkit.indicators import compute


def test_zero_price_gives_infinite_log_returns_not_an_exception() -> None:
    x = np.array([1.0, 2.0, 0.0, 3.0, 4.0])
    for panel in (x, np.stack([x, x + 1.0], 1)):  # the one-series path and the lane path
        got = compute({"close": panel}, "logret:1,roc:1", backend="serial")
        lr = got["logret_1"] if panel.ndim == 1 else got["logret_1"][:, 0]
        roc = got["roc_1"] if panel.ndim == 1 else got["roc_1"][:, 0]
        assert np.isnan(lr[0]) and lr[2] == -np.inf and lr[3] == np.inf
        assert lr[1] == np.log(2.0) and lr[4] == np.log(4.0 / 3.0)
        assert roc[3] == 0.0  # TA-Lib's ROC: 0 when the old price is 0
