"""Regression: ``%perfkit_bench`` passed a candidate whose integer output was off by one.

The check compared integers with the float default ``rtol=1e-7``, so 332833500 vs 332833501
(relative difference 3e-9) read as equal; integer outputs (scalars and arrays) are now exact
unless an ``atol`` is given.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("IPython")

from perfkit.magics import compare_outputs  # noqa: E402


def test_integer_scalars_off_by_one_fail() -> None:
    assert not compare_outputs(332_833_500, 332_833_501).ok
    assert compare_outputs(332_833_500, 332_833_500).ok
    assert compare_outputs(332_833_500, 332_833_501, atol=1).ok


def test_integer_arrays_off_by_one_fail() -> None:
    a = np.array([332_833_500, 7], dtype=np.int64)
    assert not compare_outputs(a, a + np.array([1, 0])).ok
    assert compare_outputs(a, a.copy()).ok


def test_floats_keep_the_relative_tolerance() -> None:
    assert compare_outputs(1.0, 1.0 + 1e-9).ok
    assert not compare_outputs(1.0, 1.0 + 1e-3).ok
