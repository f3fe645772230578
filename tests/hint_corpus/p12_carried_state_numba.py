"""A simulation: each step depends on the previous state (not parallel), numeric inner loop."""

import numpy as np


def step(state: np.ndarray, shock: float) -> np.ndarray:
    new = np.empty_like(state)
    n = len(state)
    for i in range(n):  # planted: numba-loop
        left = state[i - 1] if i > 0 else state[n - 1]
        right = state[i + 1] if i < n - 1 else state[0]
        new[i] = 0.5 * state[i] + 0.25 * (left + right) + shock
    return new


def main() -> None:
    rng = np.random.default_rng(12)
    state = rng.standard_normal(2000)
    shocks = rng.standard_normal(100) * 0.01
    for t in range(len(shocks)):
        state = step(state, shocks[t])
    print(float(state.mean()))


if __name__ == "__main__":
    main()
