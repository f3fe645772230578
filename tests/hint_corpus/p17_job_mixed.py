"""A small research job: recent prices, gains, price levels and per-asset drawdowns."""

import numpy as np


def load(n_assets: int, n_days: int) -> np.ndarray:
    rng = np.random.default_rng(17)
    prices = rng.standard_normal((n_assets, n_days), dtype=np.float32).cumsum(axis=1)
    prices += 200.0
    return prices


def second_half(prices: np.ndarray) -> np.ndarray:
    n = prices.shape[1]
    idx = np.arange(n)
    recent = prices[:, idx[n // 2 :]]  # planted: copy-not-view
    np.log1p(np.abs(recent, out=recent), out=recent)  # log-levels, in place
    return recent


def drawdown(x: np.ndarray) -> float:
    peak = x[0]
    worst = 0.0
    for i in range(1, len(x)):  # planted: numba-loop
        if x[i] > peak:
            peak = x[i]
        dd = (x[i] - peak) / (abs(peak) + 1.0)
        if dd < worst:
            worst = dd
    return float(worst)


def main() -> None:
    prices = load(400, 24000)
    recent = second_half(prices)
    gains = recent[recent > 0.0]
    levels = [float(v) for v in recent[:16].ravel() if v > 0.0]
    worst = [drawdown(recent[k]) for k in range(32)]  # planted: joblib-candidate
    print(gains.size, len(levels), min(worst))


if __name__ == "__main__":
    main()
