"""Regression: the scan measures float32 only once float16 has failed. When float16 fails late
in a column, chunks that finished earlier (in parallel) skipped float32 and must be measured
again; otherwise the column would be kept, or its float32 errors under-reported."""

from __future__ import annotations

import numpy as np

from perfkit.memory.downcast import _MIN_CHUNK, downcast


def _late_failure(n: int) -> np.ndarray:
    x = (np.arange(n) % 64) / 4.0  # exact in float16
    x[-1] = 0.1  # float16 fails only here; float32 holds within rtol=1e-6
    return x


def test_late_float16_failure_still_gives_float32_with_true_errors():
    x = _late_failure(6 * _MIN_CHUNK)
    small, report = downcast(x, ints=False)
    assert small.dtype == np.float32
    err = abs(float(np.float32(0.1)) - 0.1)
    assert report.max_abs_error == err and report.max_rel_error == err / 0.1


def test_late_failure_in_strided_and_multi_piece_columns():
    x = _late_failure(3 * _MIN_CHUNK)
    strided = np.repeat(x, 2)[::2]
    assert not strided.flags.c_contiguous
    small, report = downcast(strided, ints=False)
    assert small.dtype == np.float32 and report.max_abs_error > 0
    grid = np.column_stack([x, x[::-1]])[::2]  # 2-D, non-contiguous: scanned in pieces
    small, report = downcast(grid, ints=False)
    assert small.dtype == np.float32
    assert report.max_abs_error == abs(float(np.float32(0.1)) - 0.1)
