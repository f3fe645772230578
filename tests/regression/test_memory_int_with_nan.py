"""Regression: an integer column with missing values (float64 with NaN in pandas) must not be
squeezed into float16 (the Kaggle snippet turns 4097 into 4096) nor lose its NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfkit.memory.cases import reduce_mem_usage
from perfkit.memory.downcast import downcast


def test_int_with_nan_becomes_nullable_int():
    df = pd.DataFrame({"qty": [4097.0, np.nan, 1.0, 3000.0]})
    kaggle = reduce_mem_usage(df.copy(), verbose=False)
    assert kaggle["qty"].dtype == np.float16 and kaggle["qty"][0] == 4096  # the trap
    out, report = downcast(df)
    assert str(out["qty"].dtype) == "Int16"
    assert out["qty"].isna().tolist() == [False, True, False, False]
    assert out["qty"].dropna().tolist() == [4097, 1, 3000]


def test_int8_endpoints_are_used():
    """The snippet's strict ``>``/``<`` sends -128..127 to int16; perfkit uses int8."""
    df = pd.DataFrame({"s": np.array([-128, 0, 127], dtype=np.int64)})
    assert reduce_mem_usage(df.copy(), verbose=False)["s"].dtype == np.int16
    out, _ = downcast(df)
    assert out["s"].dtype == np.int8 and out["s"].tolist() == [-128, 0, 127]


def test_negative_zero_keeps_its_sign_where_to_numeric_drops_it():
    s = pd.Series([-0.0, 1.0, 2.0])
    assert not np.signbit(pd.to_numeric(s, downcast="integer").to_numpy(dtype=float)[0])
    out, _ = downcast(s)
    assert np.signbit(out.to_numpy(dtype=float)[0])
