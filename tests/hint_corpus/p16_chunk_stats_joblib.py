"""Batch statistics: independent, CPU-bound, vectorized work per chunk (a joblib candidate)."""

import numpy as np


def chunk_stats(chunk: np.ndarray) -> tuple[float, float, float]:
    ordered = np.sort(chunk)
    q = np.percentile(ordered, [5, 50, 95])
    return float(q[0]), float(q[1]), float(q[2])


def main() -> None:
    rng = np.random.default_rng(16)
    chunks = [rng.standard_normal(200_000, dtype=np.float32) for _ in range(24)]
    stats = [chunk_stats(c) for c in chunks]  # planted: joblib-candidate
    print(len(stats), stats[0])


if __name__ == "__main__":
    main()
