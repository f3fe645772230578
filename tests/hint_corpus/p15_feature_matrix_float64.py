"""Feature engineering: a float64 feature matrix filled column by column."""

import numpy as np


def build(x: np.ndarray) -> np.ndarray:
    n = len(x)
    feats = np.empty((n, 6))  # planted: float64-downcast
    feats[:, 0] = x
    feats[:, 1] = np.square(x)
    feats[:, 2] = np.abs(x)
    feats[:, 3] = np.sign(x)
    feats[:, 4] = np.round(x, 2)
    feats[:, 5] = np.clip(x, -1.0, 1.0)
    return feats


def main() -> None:
    rng = np.random.default_rng(15)
    x = rng.standard_normal(1_000_000, dtype=np.float32)
    feats = build(x)
    print(feats.shape, float(feats[:, 1].mean()))


if __name__ == "__main__":
    main()
