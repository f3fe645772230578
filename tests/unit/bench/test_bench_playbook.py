"""The playbook cases' checks pass on the real pair and catch a wrong candidate."""

from __future__ import annotations

import numpy as np
import pytest

from perfkit.bench import get
from perfkit.bench.playbook import fib_gen, fib_list


def _point(name: str) -> tuple:
    c = get(name)
    p = next(c.grid(quick=True))
    return c, c.make_inputs({**p, "device": "cpu"})


@pytest.mark.parametrize(
    "name",
    [
        "fib_divisible_by_3",
        "small_sequence_literal",
        "select_rows_view",
        "scale_in_place",
        "feature_matrix_dtype",
        "release_temporaries",
    ],
)
def test_check_passes_on_the_real_pair(name: str) -> None:
    c, x = _point(name)
    v = c.check(c.baseline(x), c.candidate(x))
    assert v.ok, v.detail


def test_fib_helpers_agree_with_known_values() -> None:
    assert fib_list(10) == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
    assert list(fib_gen(10)) == fib_list(10)
    c = get("fib_divisible_by_3")
    # Every 4th Fibonacci number (F0, F4, F8, ...) is divisible by 3.
    assert c.candidate(100) == c.baseline(100) == 25
    assert not c.check(25, 24).ok


def test_view_check_rejects_a_copy_with_equal_values() -> None:
    c, x = _point("select_rows_view")
    b = c.baseline(x)
    v = c.check(b, b.copy())
    assert not v.ok and "view=False" in v.detail


def test_feature_dtype_reports_storage_ratio_and_rejects_bad_rounding() -> None:
    c = get("feature_matrix_dtype")
    x = c.make_inputs({"dtype": "float32", "rows": 2000, "cols": 4, "device": "cpu"})
    b, cand = c.baseline(x), c.candidate(x)
    v = c.check(b, cand)
    assert v.figures["storage_ratio"] == pytest.approx(2.0)
    assert v.max_rel_error <= 2 * np.finfo(np.float32).eps
    worse = (cand + np.float32(1e-3)).astype(np.float32)
    assert not c.check(b, worse).ok


def test_scale_in_place_is_bit_identical_and_catches_drift() -> None:
    c, x = _point("scale_in_place")
    b = c.baseline(x)
    assert c.check(b, c.candidate(x)).max_abs_error == 0.0
    assert not c.check(b, b + np.float32(0.5)).ok


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_feature_dtype_torch_path_matches_on_cpu_tensors(dtype: str) -> None:
    """The CUDA form's torch code, exercised on CPU tensors so CI covers it without a GPU."""
    torch = pytest.importorskip("torch")
    c = get("feature_matrix_dtype")
    x = c.make_inputs({"dtype": dtype, "rows": 3000, "cols": 5, "device": "cpu"})
    t = {k: torch.from_numpy(v) for k, v in x.items() if isinstance(v, np.ndarray)}
    t.update(lib=torch, dtype=getattr(torch, dtype))
    out = c.candidate(t)
    assert out.dtype == getattr(torch, dtype)
    v = c.check(c.baseline(t), out)
    assert v.ok, v.detail
    assert v.figures["storage_ratio"] == pytest.approx(8 / np.dtype(dtype).itemsize)
    np_v = c.check(c.baseline(x), c.candidate(x))
    assert v.max_abs_error == pytest.approx(np_v.max_abs_error, rel=0.5)
