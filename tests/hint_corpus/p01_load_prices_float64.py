"""Data loading: a panel of prices built as float64 although float32 holds every value."""

import numpy as np


def load_prices(n_days: int, n_assets: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    steps = rng.standard_normal((n_days, n_assets), dtype=np.float32)
    prices = 100.0 + np.cumsum(steps, axis=0, dtype=np.float64)  # planted: float64-downcast
    first = prices[0].copy()
    scaled = (prices / first).astype(np.float32)
    return scaled


def main() -> None:
    panel = load_prices(2000, 2500)
    print(panel.shape, float(panel[-1].mean()))


if __name__ == "__main__":
    main()
