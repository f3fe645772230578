"""Regression (issue 11, item 9): a subnormal row against a zero row flipped under scaling.

``row_cosines`` called two zero rows identical (1.0) but a subnormal row (5e-324) against a zero
row orthogonal (0.0); scaling by 0.5 turns the subnormal into 0, so the property test
``test_row_cosines_bounded_symmetric_scale_invariant`` failed at random. A row whose values are
all zero or subnormal is now a zero row, before and after scaling.
"""

from __future__ import annotations

import numpy as np

from perfkit.compress.fidelity import row_cosines


def test_subnormal_row_against_zero_row_is_zero_against_zero_under_any_scale():
    a = np.zeros((5, 4))
    a[0, 0] = 5e-324
    b = np.zeros((5, 4))
    c = row_cosines(a, b)
    np.testing.assert_array_equal(c, np.ones(5))
    for scale in (0.1, 0.5, 2.0, 100.0):
        np.testing.assert_array_equal(row_cosines(a * scale, b), c)
        np.testing.assert_array_equal(row_cosines(b, a * scale), c)


def test_subnormal_row_against_itself_negated_is_still_zero_vs_zero():
    a = np.array([[5e-324, -1e-310, 0.0]])
    assert row_cosines(a, -a)[0] == 1.0
    assert row_cosines(a, np.ones((1, 3)))[0] == 0.0


def test_ordinary_rows_unchanged_and_nan_still_propagates():
    a = np.array([[1.0, 0.0], [3.0, 4.0]])
    b = np.array([[0.0, 2.0], [6.0, 8.0]])
    np.testing.assert_allclose(row_cosines(a, b), [0.0, 1.0])
    assert np.isnan(row_cosines(np.array([[np.nan, 1.0]]), np.array([[1.0, 1.0]]))[0])
