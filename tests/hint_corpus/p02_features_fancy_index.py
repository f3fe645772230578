"""Feature engineering: the recent half of a price panel, taken with an index array."""

import numpy as np


def recent_half(prices: np.ndarray) -> np.ndarray:
    n = prices.shape[1]
    idx = np.arange(n)
    recent = prices[:, idx[n // 2 :]]  # planted: copy-not-view
    return recent


def features(recent: np.ndarray) -> tuple[float, float]:
    up = recent[recent > 0]
    ratio = float(up.size) / recent.size
    return ratio, float(recent.std())


def main() -> None:
    rng = np.random.default_rng(1)
    prices = rng.standard_normal((2000, 5000), dtype=np.float32)
    recent = recent_half(prices)
    print(features(recent))


if __name__ == "__main__":
    main()
