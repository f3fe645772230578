"""Shared price data for the indicator tests: small, deterministic, TA-Lib-comparable."""

from __future__ import annotations

import numpy as np
import pytest


def ohlcv(n: int, scale: float = 1.0, seed: int = 0) -> dict[str, np.ndarray]:
    """A positive random walk with high >= close >= low and integer volumes."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    spread = np.abs(rng.normal(0, 0.005, n))
    return {
        "close": close * scale,
        "high": close * (1 + spread) * scale,
        "low": close * (1 - spread) * scale,
        "volume": rng.integers(1, 1000, n).astype(float),
    }


def with_gaps(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Leading NaNs (skipped, as TA-Lib does) and a gap inside the series."""
    out = {k: v.copy() for k, v in data.items()}
    for k in ("close", "high", "low"):
        out[k][:5] = np.nan
        out[k][300:303] = np.nan
    return out


DATASETS = {
    "random_walk": lambda: ohlcv(1200),
    "tiny": lambda: ohlcv(1200, scale=1e-9, seed=1),
    "huge": lambda: ohlcv(1200, scale=1e9, seed=2),
    "constant": lambda: {
        "close": np.full(300, 5.0),
        "high": np.full(300, 5.0),
        "low": np.full(300, 5.0),
        "volume": np.full(300, 10.0),
    },
    "nan_gaps": lambda: with_gaps(ohlcv(1200, seed=3)),
    "short": lambda: ohlcv(7, seed=4),
}


@pytest.fixture(params=sorted(DATASETS))
def dataset(request: pytest.FixtureRequest) -> tuple[str, dict[str, np.ndarray]]:
    return request.param, DATASETS[request.param]()
