"""Indicators per instrument: a pure-Python rolling z-score, called once per instrument."""

import math

import numpy as np


def rolling_zscore(x: np.ndarray, window: int) -> np.ndarray:
    out = np.empty(len(x))
    for i in range(len(x)):  # planted: numba-loop
        lo = max(0, i - window + 1)
        s = 0.0
        ss = 0.0
        for j in range(lo, i + 1):
            s += x[j]
            ss += x[j] * x[j]
        m = s / (i + 1 - lo)
        var = ss / (i + 1 - lo) - m * m
        out[i] = (x[i] - m) / math.sqrt(var) if var > 0 else 0.0
    return out


def main() -> None:
    rng = np.random.default_rng(5)
    panel = rng.standard_normal((8, 2500), dtype=np.float32).cumsum(axis=1)
    results = []
    for k in range(panel.shape[0]):
        results.append(rolling_zscore(panel[k], 20))  # planted: joblib-candidate
    print(len(results), float(results[0][-1]))


if __name__ == "__main__":
    main()
