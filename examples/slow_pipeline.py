"""A realistic slow data pipeline: the demo program for ``perfkit profile`` (``make demo``).

Synthetic daily prices for a panel of assets, technical indicators computed in pure-Python
loops, float64 everywhere and needless copies. ``slow_pipeline_fixed.py`` is the same pipeline
after following perfkit's hints; ``perfkit diff`` between their profiles shows the speed-up.

Usage: python examples/slow_pipeline.py [--assets N] [--days N] [--scale F]
"""

from __future__ import annotations

import argparse

import numpy as np


def make_prices(n_assets: int, n_days: int, seed: int = 7) -> np.ndarray:
    """Geometric random-walk prices, shape (n_assets, n_days), float64."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0003, 0.01, size=(n_assets, n_days))
    return 100.0 * np.exp(np.cumsum(returns, axis=1))


def sma(x, window):
    """Simple moving average, one Python loop per output value."""
    out = np.full(len(x), np.nan)
    for i in range(window - 1, len(x)):
        total = 0.0
        for j in range(i - window + 1, i + 1):
            total += x[j]
        out[i] = total / window
    return out


def ema(x, span):
    """Exponential moving average seeded with the first value."""
    alpha = 2.0 / (span + 1.0)
    out = np.empty(len(x))
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = alpha * x[i] + (1.0 - alpha) * out[i - 1]
    return out


def rsi(x, period):
    """Relative strength index with simple averages of gains and losses."""
    out = np.full(len(x), np.nan)
    for i in range(period, len(x)):
        gain = 0.0
        loss = 0.0
        for j in range(i - period + 1, i + 1):
            change = x[j] - x[j - 1]
            if change > 0:
                gain += change
            else:
                loss -= change
        out[i] = 100.0 if loss == 0 else 100.0 - 100.0 / (1.0 + gain / loss)
    return out


def process_asset(row):
    """All indicators of one asset (a copy of the row first, for no reason)."""
    prices = np.array(row)
    fast = sma(prices, 10)
    slow = sma(prices, 30)
    trend = ema(prices, 20)
    strength = rsi(prices, 14)
    return np.stack([fast, slow, trend, strength])


def market_stats(panel):
    """Cross-sectional statistics of a large returns panel, with needless copies."""
    work = panel.astype(np.float64)
    positive = work[work > 0]
    centred = np.array(work) - work.mean(axis=0)
    return float(positive.mean()), float(np.abs(centred).mean())


def score(features):
    """A score per asset from its last indicator values."""
    return sum([float(np.nan_to_num(f[:, -1]).sum()) for f in features])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=12)
    parser.add_argument("--days", type=int, default=2500)
    parser.add_argument("--scale", type=float, default=1.0, help="shrink or grow the work")
    args = parser.parse_args()
    n_assets = max(2, int(args.assets * args.scale))
    n_days = max(60, int(args.days * args.scale))
    prices = make_prices(n_assets, n_days)
    features = [process_asset(prices[i]) for i in range(n_assets)]
    rng = np.random.default_rng(11)
    panel = rng.normal(0.0, 0.01, size=(max(200, int(2000 * args.scale)), 1000))
    pos_mean, dispersion = market_stats(panel)
    print(f"assets={n_assets} days={n_days}")
    print(f"score={score(features):.4f}")
    print(f"pos_mean={pos_mean:.6f} dispersion={dispersion:.6f}")


if __name__ == "__main__":
    main()
