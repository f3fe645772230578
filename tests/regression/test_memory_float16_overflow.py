"""Regression: values above float16's 65504 (or rounding past it) must never become inf.

The Kaggle ``reduce_mem_usage`` snippet checks only ``max < 65504``; 65519.99 still rounds to
65504 (fine) but 65520 rounds to inf, and a column whose max exceeds the range must stay wider.
"""

from __future__ import annotations

import numpy as np

from perfkit.memory.downcast import downcast


def test_values_above_float16_range_never_become_inf():
    x = np.array([1.0, 65520.0])
    small, report = downcast(x, rtol=1e-3, floats=("float16",), ints=False)
    assert small.dtype == np.float64
    assert "overflows to inf (max 65504)" in report.columns[0].reason
    small, _ = downcast(x, rtol=1e-3, ints=False)
    assert small.dtype == np.float32 and np.isfinite(small).all()


def test_largest_float16_and_just_below_the_rounding_edge():
    x = np.array([65504.0, -65504.0, 0.5])
    small, _ = downcast(x, rtol=0.0)
    assert small.dtype == np.float16 and small.tolist() == [65504.0, -65504.0, 0.5]
    near = np.array([65519.0, 0.5])  # rounds to 65504 (error 15): kept within rtol=1e-3 only
    small, report = downcast(near, rtol=1e-3, floats=("float16",), ints=False)
    assert small.dtype == np.float16 and report.max_abs_error == 15.0


def test_float16_subnormals_are_measured_not_flushed():
    x = np.array([1e-8, 1.0])  # 1e-8 is below float16's smallest subnormal (6e-8): it would be 0
    small, report = downcast(x, floats=("float16",))
    assert small.dtype == np.float64
    assert "1e-08 -> 0.0" in report.columns[0].reason
