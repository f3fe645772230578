"""downcast on pandas DataFrames/Series, polars and torch tensors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfkit.errors import UsageError
from perfkit.memory.downcast import downcast, plan_downcast


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "price": [1.25, 2.5, 1000.75, 3.0],
            "ids": [1, 2, 3, 40000],
            "qty": [1.0, np.nan, 3.0, 300.0],
            "flag": [True, False, True, True],
            "city": ["a", "b", "a", "a"],
            "mixed": [1, "a", 2.5, None],
            "when": pd.to_datetime(["2020-01-01"] * 4),
            "nullable": pd.array([1, None, 3, 4], dtype="Int64"),
            "nanall": [np.nan] * 4,
            "negzero": [-0.0, 1.0, 2.0, 3.0],
        }
    )


def test_dataframe_per_column(frame):
    before = frame.copy(deep=True)
    out, report = downcast(frame, categories=True, category_max_ratio=0.6)
    dt = out.dtypes.astype(str).to_dict()
    assert dt["price"] == "float32"
    assert dt["ids"] == "uint16"
    assert dt["qty"] == "Int16"
    assert dt["flag"] == "bool"
    assert dt["city"] == "category"
    assert dt["mixed"] == "object"
    assert dt["nullable"] == "Int8"
    assert dt["nanall"] == "float16"
    assert dt["negzero"] == "float16"
    assert "mixed types" in report["mixed"].reason
    assert "datetime64" in report["when"].reason
    pd.testing.assert_frame_equal(frame, before)  # input untouched
    assert out["qty"].isna().tolist() == [False, True, False, False]
    assert out["qty"].dropna().tolist() == [1, 3, 300]
    assert np.signbit(out["negzero"].to_numpy()[0])
    assert list(out.columns) == list(frame.columns)
    assert out.index.equals(frame.index)


def test_nullable_ints_false_keeps_float(frame):
    out, report = downcast(frame[["qty"]], nullable_ints=False)
    assert out["qty"].dtype == np.float16
    assert "nullable_ints=False" in report["qty"].reason


def test_strings_without_categories_are_kept_with_a_hint(frame):
    out, report = downcast(frame[["city"]])
    assert out["city"].dtype == frame["city"].dtype
    assert "categories=True" in report["city"].reason


def test_high_cardinality_strings_stay(frame):
    s = pd.Series([f"id{i}" for i in range(10)], name="ids")
    out, report = downcast(s, categories=True)
    assert out.dtype == s.dtype and "distinct strings" in report["ids"].reason


def test_series_keeps_index_and_name():
    s = pd.Series([1.0, 2.0, 3.0], index=[10, 20, 30], name="x")
    out, report = downcast(s)
    assert out.dtype == np.int8 and out.name == "x" and list(out.index) == [10, 20, 30]


def test_inplace_replaces_columns_of_the_frame():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [0.1, 0.2]})
    out, report = downcast(df, inplace=True)
    assert out is df and df["a"].dtype == np.int8 and df["b"].dtype == np.float32
    with pytest.raises(UsageError, match="inplace=True needs a DataFrame"):
        downcast(pd.Series([1.0]), inplace=True)


def test_empty_frame_and_columns():
    df = pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)})
    out, report = downcast(df)
    assert all("empty" in c.reason for c in report.columns)
    assert out.shape == (0, 2)


def test_duplicate_column_names_survive():
    df = pd.DataFrame([[1.0, 2.5]], columns=["x", "x"])
    out, _ = downcast(df)
    assert list(out.columns) == ["x", "x"]
    assert out.iloc[0, 1] == 2.5


def test_strict_on_frames():
    from perfkit.memory.downcast import LossyDowncastError

    df = pd.DataFrame({"a": [0.1, 12345.6789]})
    with pytest.raises(LossyDowncastError, match="'a'"):
        downcast(df, floats=("float16",), strict=True)
    with pytest.raises(LossyDowncastError):
        plan_downcast(df, floats=("float16",), strict=True)


def test_axis_is_rejected_for_frames(frame):
    with pytest.raises(UsageError, match="axis applies to 2-D NumPy arrays"):
        downcast(frame, axis=0)


def test_polars_frame():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame(
        {
            "p": [1.25, 2.5, 70000.5],
            "i": [1, 2, 3],
            "n": [1, None, 3],
            "s": ["a", "a", "b"],
            "f": [0.1, None, 0.3],
        }
    )
    out, report = downcast(df, categories=True, category_max_ratio=0.7)
    assert out.schema["p"] == pl.Float32
    assert out.schema["i"] == pl.Int8
    assert out.schema["n"] == pl.Int8 and out["n"].null_count() == 1
    assert out.schema["s"] == pl.Categorical
    assert out.schema["f"] == pl.Float64 and "nulls" in report["f"].reason
    assert df.schema["i"] == pl.Int64  # input untouched


def test_torch_cpu_tensor():
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.25, 2.5, float("nan"), -0.0], dtype=torch.float64)
    small, report = downcast(t)
    assert small.dtype == torch.float16
    assert torch.isnan(small[2]) and torch.signbit(small[3])
    ints, _ = downcast(torch.tensor([0, 40000]))
    assert ints.dtype == torch.int32  # torch's ladder skips uint16
    bf, report = downcast(torch.ones(3, dtype=torch.bfloat16))
    assert bf.dtype == torch.bfloat16 and "not downcast" in report.columns[0].reason


@pytest.mark.gpu
def test_torch_cuda_tensor_matches_cpu_decision():
    torch = pytest.importorskip("torch")
    x = torch.tensor([1.25, 2.5, 12345.6789, float("inf")], dtype=torch.float64)
    cpu, rep_cpu = downcast(x)
    gpu, rep_gpu = downcast(x.cuda())
    assert gpu.device.type == "cuda" and gpu.dtype == cpu.dtype
    assert rep_gpu.max_abs_error == rep_cpu.max_abs_error
