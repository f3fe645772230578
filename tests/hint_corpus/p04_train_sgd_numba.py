"""A training loop: logistic regression by SGD written as pure-Python loops."""

import math

import numpy as np


def train(X: np.ndarray, y: np.ndarray, epochs: int, lr: float) -> np.ndarray:
    n, d = X.shape
    w = np.zeros(d)
    for _epoch in range(epochs):  # planted: numba-loop
        for i in range(n):
            z = 0.0
            for j in range(d):
                z += X[i, j] * w[j]
            p = 1.0 / (1.0 + math.exp(-z))
            g = p - y[i]
            for j in range(d):
                w[j] -= lr * g * X[i, j]
    return w


def main() -> None:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4000, 8))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.float64)
    w = train(X, y, 4, 0.05)
    print(np.round(w, 3))


if __name__ == "__main__":
    main()
