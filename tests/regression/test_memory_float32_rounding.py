"""Regression: ``astype(float32)`` turns 16777217 into 16777216; with rtol=0 that is a loss."""

from __future__ import annotations

import numpy as np

from perfkit.memory.downcast import downcast


def test_16777217_is_not_rounded_to_16777216():
    x = np.array([16777217.0, 0.5])
    small, report = downcast(x, rtol=0.0)
    assert small.dtype == np.float64
    assert "16777217.0 -> 16777216.0" in report.columns[0].reason
    assert small[0] == 16777217.0


def test_integral_16777217_becomes_an_exact_int():
    small, _ = downcast(np.array([16777217.0, 1.0]), rtol=0.0)
    assert small.dtype == np.int32 and int(small[0]) == 16777217


def test_within_rtol_float32_rounding_is_reported_exactly():
    x = np.array([16777217.0, 0.5])
    small, report = downcast(x, rtol=1e-7)
    assert small.dtype == np.float32
    assert report.max_abs_error == 1.0 and report.max_rel_error == 1.0 / 16777217.0
