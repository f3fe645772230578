"""Regression: the cosine of two identical tiny-valued outputs came out 0 instead of 1.

row_cosines divided the dot product by the product of the norms, which underflowed to 0 for
values near 1e-200 and was then clamped; found by the hypothesis property test. Rows are now
scaled by their max before normalising (all-subnormal rows are zero rows).
"""

from __future__ import annotations

import numpy as np

from perfkit.compress.fidelity import row_cosines


def test_tiny_identical_rows_have_cosine_one():
    a = np.array([[1e-200, 2e-200, 0.0], [1e-300, 0.0, 3e-300]])
    np.testing.assert_allclose(row_cosines(a, a.copy()), [1.0, 1.0])
    np.testing.assert_allclose(row_cosines(a, -a), [-1.0, -1.0])
    assert row_cosines(np.zeros((1, 3)), np.zeros((1, 3)))[0] == 1.0
    assert row_cosines(np.zeros((1, 3)), np.ones((1, 3)))[0] == 0.0
