"""Overhead workload: NumPy-heavy (matrix products, reductions, sorting), about 1-2 s here.

Usage: python examples/overhead_numpy_heavy.py [--scale F]
"""

from __future__ import annotations

import sys

import numpy as np


def run(rounds):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 400))
    total = 0.0
    for _ in range(rounds):
        b = a @ a.T
        total += float(np.sort(b, axis=1)[:, -1].sum())
        a = np.tanh(b / 400.0)
    return total


if __name__ == "__main__":
    scale = float(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1.0
    print(f"{run(max(1, int(60 * scale))):.6f}")
