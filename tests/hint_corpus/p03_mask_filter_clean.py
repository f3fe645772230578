"""Clean control: boolean-mask filtering copies by nature; no view could replace it."""

import numpy as np


def filter_returns(work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    positive = work[work > 0]
    ok = np.isfinite(work) & (work < 2.5)
    kept = work[ok]
    return positive, kept


def main() -> None:
    rng = np.random.default_rng(2)
    work = rng.standard_normal((2000, 4000), dtype=np.float32)
    positive, kept = filter_returns(work)
    print(positive.size, kept.size, float(positive.mean()))


if __name__ == "__main__":
    main()
