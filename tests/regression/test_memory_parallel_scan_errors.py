"""Regression: a float division by zero inside the numba ``prange`` scan raised on a worker
thread, and the parallel run silently dropped that thread's chunks (stats left uninitialised,
so columns were judged on half their values). The kernels now use NumPy's error model and the
caller checks that every chunk reported back."""

from __future__ import annotations

import numpy as np

from perfkit.memory.downcast import _MIN_CHUNK, downcast


def test_zeros_in_every_chunk_do_not_drop_chunks():
    n = 4 * _MIN_CHUNK
    cols = [np.zeros(n), np.zeros(n), np.round(np.linspace(0, 1000, n)), np.zeros(n)]
    cols[3][-1] = 70000.5  # only the last chunk of the last column rules out float16
    df_like = np.column_stack(cols)
    outs, report = downcast(df_like, axis=0)
    assert [o.dtype.name for o in outs] == ["int8", "int8", "int16", "float32"]
    assert "overflows" in report.columns[3].reason
