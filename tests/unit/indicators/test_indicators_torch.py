"""The batched torch form agrees with the numba kernels (CPU here; CUDA where available)."""

from __future__ import annotations

import numpy as np
import pytest

from perfkit.errors import UsageError
from perfkit.indicators import compute, parse_spec

torch = pytest.importorskip("torch")
tk = pytest.importorskip("perfkit.indicators.torch_kernels")


def _close() -> np.ndarray:
    rng = np.random.default_rng(2)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (700, 5)), axis=0))


def _check(device: str) -> None:
    close = _close()
    x = torch.from_numpy(close).to(device)
    for spec, fn in tk.TORCH_SPECS.items():
        want = compute({"close": close}, spec, backend="serial")
        for name, got in zip(parse_spec(spec).outputs, fn(x), strict=True):
            g = got.cpu().numpy()
            assert np.array_equal(np.isnan(g), np.isnan(want[name])), name
            np.testing.assert_allclose(g, want[name], rtol=1e-9, err_msg=name)


def test_torch_cpu_matches_numba() -> None:
    _check("cpu")


def test_linear_scan_matches_a_loop() -> None:
    u = torch.from_numpy(np.random.default_rng(0).normal(size=(150, 3)))
    got = tk.linear_scan(u, 0.9, block=16).numpy()
    y = np.zeros(3)
    for t in range(150):
        y = 0.9 * y + u[t].numpy()
        np.testing.assert_allclose(got[t], y, rtol=1e-12)


def test_torch_kernels_refuse_nan_and_wrong_dtype() -> None:
    with pytest.raises(UsageError, match="NaN-free"):
        tk.sma(torch.tensor([[1.0], [float("nan")]], dtype=torch.float64), 2)
    with pytest.raises(UsageError, match="float64"):
        tk.sma(torch.ones(5, 2, dtype=torch.float32), 2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_torch_cuda_matches_numba() -> None:
    _check("cuda")
