"""Regression (issue 13): a table without instrument/time columns, and a header-only table.

Without those columns ``sma`` raised an AttributeError traceback and ``atr`` claimed that
``high``/``low`` were missing although they were present (the table was read as a wide frame
of closing prices). It is now one instrument in file order. A header-only table said
"non-numeric dtype object"; it now says the table has no rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfkit.errors import UsageError
from perfkit.indicators import compute


def test_table_without_key_columns_is_one_instrument_in_file_order() -> None:
    rng = np.random.default_rng(0)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 80)))
    df = pd.DataFrame({"close": c, "high": c * 1.01, "low": c * 0.99})
    out, info = compute(df, "sma:5,atr:14", backend="serial", return_info=True)
    want = compute({"close": c, "high": c * 1.01, "low": c * 0.99}, "sma:5,atr:14")
    np.testing.assert_array_equal(out["sma_5"].to_numpy(), want["sma_5"])
    np.testing.assert_array_equal(out["atr_14"].to_numpy(), want["atr_14"])
    assert info.n_instruments == 1 and "file order" in info.extra["order"]


def test_instrument_without_time_takes_each_instrument_in_file_order() -> None:
    df = pd.DataFrame({"instrument": list("ABABAB"), "close": [1.0, 10, 2, 20, 3, 30]})
    out = compute(df, "sma:2", backend="serial")
    assert np.allclose(
        out["sma_2"].to_numpy(), [np.nan, np.nan, 1.5, 15.0, 2.5, 25.0], equal_nan=True
    )


def test_header_only_table_says_it_has_no_rows() -> None:
    empty = pd.DataFrame({"instrument": [], "time": [], "close": []}, dtype=object)
    with pytest.raises(UsageError, match="has no rows"):
        compute(empty, "sma:5")
