"""Image batch preparation: np.array() of an existing array and flatten() copy it."""

import numpy as np


def normalize(batch: np.ndarray) -> np.ndarray:
    frame = np.array(batch)  # planted: copy-not-view
    frame -= frame.mean(axis=(0, 2, 3), keepdims=True)
    return frame


def to_vector(frame: np.ndarray) -> np.ndarray:
    flat = frame.flatten()  # planted: copy-not-view
    flat *= np.float32(1.0 / 255.0)
    return flat


def main() -> None:
    rng = np.random.default_rng(13)
    batch = rng.random((64, 3, 256, 256), dtype=np.float32)
    frame = normalize(batch)
    meta = np.array([1, 2, 3])
    flat = to_vector(frame)
    print(flat.size, float(flat[:10].sum()), meta.sum())


if __name__ == "__main__":
    main()
