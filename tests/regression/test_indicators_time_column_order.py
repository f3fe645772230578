"""Regression (issue 13): a long table's time column was sorted as text.

US-order text dates across a year end (``12/31/2023`` sorts after ``01/15/2024`` as text) gave
16 of 120 SMA values different from the same data with ISO dates, with exit 0; labels
``t0 ... t119`` (``t10`` before ``t2``) were silently mis-ordered too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfkit.errors import UsageError
from perfkit.indicators import compute


def _table(times: list[str]) -> pd.DataFrame:
    close = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, len(times))))
    return pd.DataFrame({"instrument": "A", "time": times, "close": close}).sample(
        frac=1.0, random_state=1
    )


def test_us_text_dates_across_a_year_end_sort_as_dates() -> None:
    days = pd.date_range("2023-11-01", periods=120, freq="D")  # crosses 2023 -> 2024
    us = _table(list(days.strftime("%m/%d/%Y")))
    iso = us.assign(time=pd.to_datetime(us["time"], format="%m/%d/%Y").dt.strftime("%Y-%m-%d"))
    got = compute(us, "sma:5", backend="serial")["sma_5"].to_numpy()
    want = compute(iso, "sma:5", backend="serial")["sma_5"].to_numpy()
    np.testing.assert_array_equal(got, want)
    # and both equal the series in true time order
    ordered = us.assign(t=pd.to_datetime(us["time"], format="%m/%d/%Y")).sort_values("t")
    direct = compute({"close": ordered["close"].to_numpy()}, "sma:5", backend="serial")["sma_5"]
    np.testing.assert_array_equal(pd.Series(got, index=us.index)[ordered.index], direct)


def test_numbers_written_as_text_sort_as_numbers() -> None:
    t = _table([str(i) for i in range(120)])  # "10" < "2" as text
    got = compute(t, "sma:3", backend="serial")["sma_3"]
    back = compute(t.assign(time=t["time"].astype(int)), "sma:3", backend="serial")["sma_3"]
    np.testing.assert_array_equal(got.to_numpy(), back.to_numpy())


def test_labels_that_cannot_be_ordered_are_refused_naming_the_column() -> None:
    t = _table([f"t{i}" for i in range(120)]).rename(columns={"time": "stamp"})
    with pytest.raises(UsageError, match="time column 'stamp' cannot be read as dates or numbers"):
        compute(t, "sma:5", time_col="stamp", backend="serial")
