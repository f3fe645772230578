"""Data preparation: astype to the dtype the array already has, beside a real conversion."""

import numpy as np


def prepare(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = raw.astype(np.float32)  # planted: copy-not-view
    x -= x.mean()
    half = raw.astype(np.float16)
    return x, half


def main() -> None:
    rng = np.random.default_rng(10)
    raw = rng.random((3000, 3000), dtype=np.float32)
    x, half = prepare(raw)
    print(float(x.std()), half.dtype)


if __name__ == "__main__":
    main()
