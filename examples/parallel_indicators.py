"""Indicators for many instruments, fanned out with ``joblib.Parallel(n_jobs=2)``: a seed-style job.

Each instrument's indicators (moving averages, Bollinger bands, RSI, momentum, rolling z-score,
mean absolute change) are computed with plain NumPy on the instrument's own row in a joblib/loky
worker process. ``perfkit profile examples/parallel_indicators.py`` follows the workers and shows
:func:`indicators` as the top consumer of CPU, which is invisible to a profiler that sees only the
parent (the parent just waits for its workers).

Usage: python examples/parallel_indicators.py [--instruments N] [--days N] [--jobs N]
"""

from __future__ import annotations

import argparse

import numpy as np
from joblib import Parallel, delayed
from numpy.lib.stride_tricks import sliding_window_view

WINDOWS = (10, 20, 50)


def make_prices(n_instruments: int, n_days: int, seed: int = 11) -> np.ndarray:
    """Geometric random-walk closes, shape (n_instruments, n_days), float64."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0002, 0.012, size=(n_instruments, n_days))
    return 100.0 * np.exp(np.add.accumulate(returns, axis=1))


def indicators(close: np.ndarray) -> dict[str, float]:
    """Every indicator of one instrument, with plain NumPy over sliding windows.

    Returns the last value of each indicator (the full series are computed, as a backtest
    would, and summarised so that the parent receives a small result).
    """
    out: dict[str, float] = {}
    change = np.subtract(close[1:], close[:-1])
    gains = np.maximum(change, 0.0)
    losses = np.maximum(np.negative(change), 0.0)
    for w in WINDOWS:
        win = sliding_window_view(close, w)
        mean = np.add.reduce(win, axis=1) / w
        dev = win - mean[:, None]
        std = np.sqrt(np.add.reduce(dev * dev, axis=1) / w)
        upper, lower = mean + 2.0 * std, mean - 2.0 * std
        z = (close[w - 1 :] - mean) / np.where(std > 0, std, 1.0)
        avg_gain = np.add.reduce(sliding_window_view(gains, w), axis=1) / w
        avg_loss = np.add.reduce(sliding_window_view(losses, w), axis=1) / w
        rsi = 100.0 - 100.0 / (1.0 + avg_gain / np.where(avg_loss > 0, avg_loss, 1e-12))
        momentum = close[w:] / close[:-w] - 1.0
        mad = np.add.reduce(np.abs(sliding_window_view(change, w)), axis=1) / w
        out[f"sma{w}"] = float(mean[-1])
        out[f"bb_width{w}"] = float((upper[-1] - lower[-1]) / mean[-1])
        out[f"z{w}"] = float(z[-1])
        out[f"rsi{w}"] = float(rsi[-1])
        out[f"mom{w}"] = float(momentum[-1])
        out[f"mad{w}"] = float(mad[-1])
    return out


def run(n_instruments: int, n_days: int, n_jobs: int) -> list[dict[str, float]]:
    """Indicators of every instrument, computed by ``n_jobs`` joblib (loky) worker processes."""
    prices = make_prices(n_instruments, n_days)
    return Parallel(n_jobs=n_jobs)(delayed(indicators)(row) for row in prices)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the job and print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", type=int, default=400)
    parser.add_argument("--days", type=int, default=4000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    results = run(args.instruments, args.days, args.jobs)
    mean_rsi = sum(r["rsi20"] for r in results) / len(results)
    print(f"{len(results)} instruments, mean RSI(20) {mean_rsi:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
