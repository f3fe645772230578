"""Clean control: small, cold versions of every planted problem; the time goes to BLAS."""

import numpy as np


def tiny_loop(x: np.ndarray) -> float:
    total = 0.0
    for i in range(len(x)):
        total += x[i] * x[i]
    return total


def main() -> None:
    rng = np.random.default_rng(9)
    small = rng.standard_normal(200)
    print(tiny_loop(small), sum([v * 2 for v in small[:50]]))
    copy = np.array(small).astype(np.float64)
    print(float(copy[small > 0].sum()))
    a = rng.standard_normal((500, 500), dtype=np.float32)
    b = rng.standard_normal((500, 500), dtype=np.float32)
    for _ in range(30):
        a = (a @ b) / 500.0
    print(float(a[0, 0]))


if __name__ == "__main__":
    main()
