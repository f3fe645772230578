"""Unit tests of perfkit.memory.downcast: choices, guarantees, reports and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from perfkit.errors import UsageError
from perfkit.memory.downcast import LossyDowncastError, downcast, plan_downcast


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values, NaN where NaN, and the same sign of every zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | ((a == b) & (np.signbit(a) == np.signbit(b)))))


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        ([-128, 127], "int64", "int8"),
        ([0, 255], "int64", "uint8"),
        ([-129, 0], "int64", "int16"),
        ([0, 65535], "int32", "uint16"),
        ([0, 2**31], "int64", "uint32"),
        ([-(2**40), 2**40], "int64", "int64"),
        ([0, 2**64 - 1], "uint64", "uint64"),
        ([1.0, 2.0, 300.0], "float64", "int16"),
        ([16777217.0], "float64", "int32"),
        ([1.5, 2.25, np.inf, -np.inf], "float64", "float16"),
        ([0.1, 0.2], "float64", "float32"),
        ([1.5, 3.0], "float32", "float16"),
        ([1.0, 2.0], "float16", "int8"),
    ],
)
def test_picks_the_smallest_dtype_that_holds_every_value(values, dtype, expected):
    x = np.array(values, dtype=dtype)
    small, report = downcast(x)
    assert small.dtype == np.dtype(expected)
    assert report.columns[0].new_dtype == expected
    if small.dtype.kind in "iu":
        assert small.tolist() == x.tolist()
    else:
        assert np.allclose(small.astype(np.float64), x.astype(np.float64), rtol=1e-6, atol=0)


def test_nan_inf_and_negative_zero_survive():
    x = np.array([1.5, -0.0, np.nan, np.inf, -np.inf, 2.0])
    small, report = downcast(x)
    assert small.dtype == np.float16
    assert _same(small, x)
    assert report.max_abs_error == 0.0


def test_negative_zero_blocks_integers():
    x = np.array([1.0, -0.0, 3.0])
    small, report = downcast(x, floats=())
    assert small.dtype == np.float64
    assert "-0.0 would lose its sign" in report.columns[0].reason


def test_subnormal_is_not_flushed_to_zero():
    x = np.array([1e-310, 1.0])
    small, report = downcast(x)
    assert small.dtype == np.float64
    assert "1e-310 -> 0.0" in report.columns[0].reason
    # with an absolute tolerance covering it, flushing is allowed and reported
    small, report = downcast(x, atol=1e-300)
    assert small.dtype == np.float16
    assert report.max_abs_error == 1e-310


def test_measured_errors_are_reported():
    x = np.array([0.1, 1 / 3, 12345.6789])
    small, report = downcast(x)
    err = np.abs(small.astype(np.float64) - x)
    assert small.dtype == np.float32
    assert report.max_abs_error == err.max()
    assert report.max_rel_error == (err / np.abs(x)).max()


def test_rtol_zero_allows_exact_only():
    small, _ = downcast(np.array([0.1]), rtol=0.0)
    assert small.dtype == np.float64
    small, _ = downcast(np.array([0.5, 0.25]), rtol=0.0)
    assert small.dtype == np.float16


def test_plan_matches_downcast_and_converts_nothing():
    x = np.array([1.25, 70000.5, np.nan])
    plan = plan_downcast(x)
    small, report = downcast(x)
    assert not plan.converted and report.converted
    assert plan.columns == report.columns
    assert plan.bytes_after == small.nbytes


def test_input_is_never_modified():
    x = np.array([1.5, 2.5, 3.5])
    before = x.copy()
    small, _ = downcast(x)
    small[0] = 99
    assert np.array_equal(x, before)


def test_axis_decides_per_column():
    a = np.column_stack([np.arange(10.0), np.linspace(0, 1, 10), np.full(10, 1e6 + 0.5)])
    cols, report = downcast(a, axis=0)
    assert [c.dtype.name for c in cols] == ["int8", "float32", "float32"]
    assert [c.name for c in report.columns] == ["[:, 0]", "[:, 1]", "[:, 2]"]
    whole, report = downcast(a)
    assert whole.dtype == np.float32 and whole.shape == a.shape
    rows, _ = downcast(a, axis=1)
    assert len(rows) == 10


def test_non_contiguous_and_read_only_arrays():
    base = np.arange(40.0).reshape(8, 5)
    view = base[::2, 1::2]
    assert not view.flags.c_contiguous
    small, _ = downcast(view)
    assert small.dtype == np.int8 and np.array_equal(small, view)
    ro = np.linspace(0, 1, 31)
    ro.setflags(write=False)
    small, report = downcast(ro)
    assert small.dtype == np.float32 and small.flags.writeable
    cols, _ = downcast(base, axis=0)  # strided columns
    assert all(np.array_equal(c, base[:, j]) for j, c in enumerate(cols))


def test_strict_raises_instead_of_keeping():
    x = np.array([0.1, 12345.6789])
    with pytest.raises(LossyDowncastError, match="cannot be shrunk within tolerance"):
        downcast(x, floats=("float16",), strict=True)
    small, _ = downcast(x, floats=("float32",), strict=True)
    assert small.dtype == np.float32


def test_report_render_and_dict():
    small, report = downcast(np.array([1.0, 2.0, 3.0]))
    text = report.render()
    assert "float64" in text and "int8" in text and "saved" in text
    d = report.to_dict()
    assert d["bytes_before"] == 24 and d["bytes_after"] == 3
    assert d["columns"][0]["changed"] is True
    assert report["array"].new_dtype == "int8"
    from perfkit.memory.downcast import DowncastReport

    assert DowncastReport.from_dict(json.loads(json.dumps(d))) == report


@pytest.mark.parametrize(
    ("x", "reason"),
    [
        (np.array([], dtype=np.float64), "empty"),
        (np.array([1 + 2j]), "complex"),
        (np.array(["2020-01-01"], dtype="datetime64[ns]"), "datetime64"),
        (np.array([True, False]), "bool"),
        (np.array([1, "a"], dtype=object), "object dtype"),
        (np.array(["ab"]), "not numeric"),
    ],
)
def test_bad_input_is_kept_with_a_reason(x, reason):
    small, report = downcast(x)
    assert small is x
    assert not report.columns[0].changed
    assert reason in report.columns[0].reason


def test_zero_d_array_is_one_value():
    small, report = downcast(np.array(3.0))
    assert small.shape == () and small.dtype == np.int8 and small == 3


def test_all_nan_column_keeps_nan():
    x = np.full(5, np.nan)
    small, report = downcast(x)
    assert small.dtype == np.float16 and np.isnan(small).all()
    assert "all values are NaN" in report.columns[0].reason


def test_integral_floats_with_nan_stay_float_in_numpy():
    small, report = downcast(np.array([1.0, np.nan, 100000.0]))
    assert small.dtype == np.float32
    assert "NumPy has no missing-value integers" in report.columns[0].reason


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rtol": -1e-6}, "rtol must be a finite number >= 0"),
        ({"atol": float("nan")}, "atol must be a finite number >= 0"),
        ({"rtol": float("inf")}, "rtol must be a finite number >= 0"),
        ({"rtol": "1e-6"}, "rtol must be a number"),
        ({"floats": ("float8",)}, "unknown dtype name 'float8'"),
        ({"floats": ("float64",)}, "floats may only name smaller float dtypes"),
        ({"floats": "int8"}, "floats may only name smaller float dtypes"),
        ({"category_max_ratio": 0}, "category_max_ratio"),
    ],
)
def test_bad_options_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        downcast(np.array([1.0]), **kwargs)
    with pytest.raises(UsageError):
        plan_downcast(np.array([1.0]), **kwargs)


def test_unsupported_objects_and_arguments():
    with pytest.raises(UsageError, match="wrap plain sequences"):
        downcast([1.0, 2.0])
    with pytest.raises(UsageError, match="inplace=True cannot change a NumPy array"):
        downcast(np.array([1.0]), inplace=True)
    with pytest.raises(UsageError, match="axis= needs a 2-D array"):
        downcast(np.zeros((2, 2, 2)), axis=0)
    with pytest.raises(UsageError, match="axis must be 0 or 1"):
        downcast(np.zeros((2, 2)), axis=2)


def test_ints_false_leaves_integers_alone():
    small, report = downcast(np.array([1, 2, 3]), ints=False)
    assert small.dtype == np.int64 and "ints=False" in report.columns[0].reason
    small, _ = downcast(np.array([1.0, 2.0]), ints=False)
    assert small.dtype == np.float16


def test_long_columns_use_many_chunks():
    """Columns longer than one scan chunk: a violation deep inside is still found."""
    x = np.arange(300_000, dtype=np.float64)
    x[250_001] = 0.5
    small, report = downcast(x, floats=())
    assert small.dtype == np.float64
    assert "row 250001: 0.5 is not integral" in report.columns[0].reason
    y = np.arange(300_000, dtype=np.float64)
    small, _ = downcast(y)
    assert small.dtype == np.int32 and np.array_equal(small, y)


def test_non_native_byte_order_is_kept_with_a_reason():
    x = np.array([1.5, 2.5], dtype=">f8")
    small, report = downcast(x)
    assert small is x
    assert "non-native byte order" in report.columns[0].reason


def test_long_double_is_kept():
    x = np.array([1.5], dtype=np.longdouble)
    small, report = downcast(x)
    if x.dtype.itemsize in (4, 8):  # platforms where long double is double
        assert small.dtype != x.dtype
    else:
        assert small is x and "not supported" in report.columns[0].reason


def test_public_names_are_the_functions_not_the_submodule():
    import perfkit
    import perfkit.memory
    import perfkit.memory.cases  # noqa: F401 - imports the perfkit.memory.downcast submodule

    assert callable(perfkit.memory.downcast) and perfkit.memory.downcast is downcast
    assert perfkit.downcast is downcast and perfkit.plan_downcast is plan_downcast
