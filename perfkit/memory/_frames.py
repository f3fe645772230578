"""pandas and polars front ends of :func:`perfkit.memory.downcast`.

Each column becomes a :class:`~perfkit.memory._planning._Column` holding a zero-copy NumPy view of
its values where there is one; numeric columns are planned by the shared numba scan, the rest
(nullable integers, strings, categories, dates, booleans...) here, each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from perfkit.memory._conversion import _convert_all, _convert_numpy
from perfkit.memory._planning import (
    _Column,
    _keep,
    _Options,
    _Plan,
    _plan_other_dtype,
    _smallest_int,
)
from perfkit.memory._report import ColumnReport

_STRINGS_HINT = "pass categories=True to store low-cardinality strings as category"


def _pandas_columns(obj: Any) -> tuple[list[Any], list[str]]:
    import pandas as pd

    if isinstance(obj, pd.Series):
        return [obj], [str(obj.name) if obj.name is not None else "series"]
    if isinstance(obj, pd.DataFrame):
        series = [obj.iloc[:, i] for i in range(obj.shape[1])]
        return series, [str(c) for c in obj.columns]
    raise TypeError(type(obj).__name__)


def _plan_pandas_other(name: str, s: Any, opt: _Options) -> _Plan:
    """Plans for pandas columns that are not plain NumPy numbers."""
    import pandas as pd
    from pandas.api import types as ptypes

    dtype = s.dtype
    nbytes = int(s.memory_usage(index=False, deep=False))
    if len(s) == 0:
        return _keep(name, dtype, nbytes, "kept: empty, nothing to downcast")
    if isinstance(dtype, pd.CategoricalDtype):
        return _keep(name, dtype, nbytes, "kept: already categorical")
    if ptypes.is_bool_dtype(dtype):
        return _keep(name, dtype, nbytes, "kept: boolean is already 1 byte per value")
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and ptypes.is_integer_dtype(dtype):
        return _plan_nullable_int(name, s, nbytes, opt)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and ptypes.is_float_dtype(dtype):
        return _keep(
            name,
            dtype,
            nbytes,
            f"kept: nullable {dtype} is not downcast; .astype('float64') (NA -> NaN) first",
        )
    if ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype):
        return _keep(name, dtype, nbytes, f"kept: {dtype} has no smaller lossless dtype")
    if ptypes.is_string_dtype(dtype) or ptypes.is_object_dtype(dtype):
        return _plan_strings(name, s, nbytes, opt)
    if isinstance(dtype, np.dtype):
        return _plan_other_dtype(name, dtype, nbytes, len(s))
    return _keep(name, dtype, nbytes, f"kept: {dtype} is not downcast")


def _plan_nullable_int(name: str, s: Any, nbytes: int, opt: _Options) -> _Plan:
    dtype = s.dtype
    if not opt.ints:
        return _keep(name, dtype, nbytes, "kept: ints=False")
    if s.isna().all():
        target = np.dtype("int8")
        lo = hi = 0
    else:
        lo, hi = int(s.min()), int(s.max())
        target = _smallest_int(lo, hi, dtype.numpy_dtype.itemsize, opt.int_ladder)
    if target is None:
        return _keep(name, dtype, nbytes, f"kept: range [{lo}, {hi}] needs {dtype}")
    new = target.name.capitalize() if target.kind == "i" else "UInt" + target.name[4:]
    if new == str(dtype):
        return _keep(name, dtype, nbytes, f"kept: range [{lo}, {hi}] needs {dtype}")
    report = ColumnReport(
        name,
        str(dtype),
        new,
        nbytes,
        len(s) * (target.itemsize + 1),
        reason=f"exact: range [{lo}, {hi}] with {int(s.isna().sum())} missing fits {new}",
    )
    return _Plan(report, "astype", new)


def _plan_strings(name: str, s: Any, nbytes: int, opt: _Options) -> _Plan:
    import pandas as pd

    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return _keep(
            name, s.dtype, nbytes, f"kept: object column of numbers ({kind}); use pd.to_numeric"
        )
    if kind not in ("string", "empty"):
        return _keep(
            name,
            s.dtype,
            nbytes,
            f"kept: mixed types (infer_dtype={kind!r}); clean the column before downcasting",
        )
    if not opt.categories:
        return _keep(name, s.dtype, nbytes, f"kept: strings ({_STRINGS_HINT})")
    deep = int(s.memory_usage(index=False, deep=True))
    uniques = int(s.nunique(dropna=False))
    ratio = uniques / len(s)
    if ratio > opt.category_max_ratio:
        return _keep(
            name,
            s.dtype,
            deep,
            f"kept: {uniques} distinct strings in {len(s)} rows (ratio {ratio:.2f} > "
            f"category_max_ratio {opt.category_max_ratio:g})",
        )
    codes = np.dtype("int8") if uniques < 128 else np.dtype("int16")
    if uniques >= 32768:
        codes = np.dtype("int32")
    estimate = len(s) * codes.itemsize + (deep // max(1, len(s))) * uniques
    report = ColumnReport(
        name,
        str(s.dtype),
        "category",
        deep,
        estimate,
        reason=f"lossless: {uniques} distinct strings in {len(s)} rows -> category",
    )
    return _Plan(report, "category", None)


def run_pandas(
    obj: Any,
    opt: _Options,
    convert: bool,
    inplace: bool,
    plan_numeric: Callable[..., list[_Plan]],
    finish: Callable[..., Any],
) -> tuple[Any, Any]:
    """Plan (and convert) a pandas DataFrame or Series column by column."""
    import pandas as pd

    if not isinstance(obj, (pd.DataFrame, pd.Series)):
        from perfkit.errors import UsageError

        raise UsageError(
            f"downcast takes a pandas DataFrame or Series, got {type(obj).__name__}",
            "pass df or df[column]",
        )
    if inplace and not isinstance(obj, pd.DataFrame):
        from perfkit.errors import UsageError

        raise UsageError("inplace=True needs a DataFrame", "use the returned Series")
    series, names = _pandas_columns(obj)
    cols: list[_Column] = []
    for name, s in zip(names, series, strict=True):
        dt = s.dtype
        if isinstance(dt, np.dtype) and dt.kind in "iuf":
            values = s.to_numpy()  # a read-only view under Copy-on-Write, never a copy
            cols.append(_Column(name, values, dt, values.nbytes, values.size, [values]))
        else:
            cols.append(_Column(name, None, dt, 0, len(s), [], source=s))
    numeric = plan_numeric(cols, opt, opt.nullable_ints, "nullable_ints=False")
    plans = [
        p if c.values is not None else _plan_pandas_other(c.name, c.source, opt)
        for c, p in zip(cols, numeric, strict=True)
    ]
    if not convert:
        return None, finish(plans, opt, False)
    finish(plans, opt, True)  # strict raises before anything is converted

    def one(item: tuple[_Column, Any, _Plan]) -> Any:
        col, s, plan = item
        if plan.kind in ("cast", "nullable"):
            return _convert_numpy(col.values, plan)
        if plan.kind == "astype":
            return s.astype(plan.target).array
        if plan.kind == "category":
            return s.astype("category").array
        return None

    new = _convert_all(one, list(zip(cols, series, plans, strict=True)))
    final: list[_Plan] = []
    for plan, arr in zip(plans, new, strict=True):
        if arr is not None and plan.kind == "category":
            after = int(pd.Series(arr).memory_usage(index=False, deep=True))
            plan = _Plan(_replace_after(plan.report, after), plan.kind, plan.target)
        final.append(plan)
    report = finish(final, opt, True)
    if isinstance(obj, pd.Series):
        out = obj if new[0] is None else pd.Series(new[0], index=obj.index, name=obj.name)
        return out, report
    if inplace:
        for i, arr in enumerate(new):
            if arr is not None:
                obj.isetitem(i, arr)
        return obj, report
    pairs = enumerate(zip(series, new, strict=True))
    data = {i: (arr if arr is not None else s) for i, (s, arr) in pairs}
    out = pd.DataFrame(data, index=obj.index, copy=False)
    out.columns = obj.columns
    out.attrs = dict(obj.attrs)
    return out, report


def _replace_after(report: ColumnReport, after: int) -> ColumnReport:
    from dataclasses import replace

    return replace(report, bytes_after=after)


# --------------------------------------------------------------------------------------------
# polars


def run_polars(
    obj: Any,
    opt: _Options,
    convert: bool,
    plan_numeric: Callable[..., list[_Plan]],
    finish: Callable[..., Any],
) -> tuple[Any, Any]:
    """Plan (and convert) a polars DataFrame or Series; polars nulls stay nulls."""
    import polars as pl

    if isinstance(obj, pl.Series):
        series: Sequence[Any] = [obj]
    elif isinstance(obj, pl.DataFrame):
        series = obj.get_columns()
    else:
        from perfkit.errors import UsageError

        raise UsageError(
            f"downcast takes a polars DataFrame or Series, got {type(obj).__name__}",
            "collect a LazyFrame first: lf.collect()",
        )
    cols: list[_Column] = []
    for s in series:
        dt = s.dtype
        if dt.is_numeric() and s.null_count() == 0 and not dt.is_decimal():
            values = s.to_numpy()  # zero-copy for numeric data without nulls
            cols.append(_Column(s.name, values, values.dtype, values.nbytes, values.size, [values]))
        else:
            cols.append(_Column(s.name, None, dt, 0, len(s), [], source=s))
    numeric = plan_numeric(cols, opt, False, "polars keeps NaN apart from null")
    plans = [
        p if c.values is not None else _plan_polars_other(c.source, opt)
        for c, p in zip(cols, numeric, strict=True)
    ]
    report = finish(plans, opt, convert)
    if not convert:
        return None, report

    def one(item: tuple[Any, _Plan]) -> Any:
        s, plan = item
        if plan.kind == "cast":
            return s.cast(_polars_dtype(np.dtype(plan.target)))
        if plan.kind == "astype":
            return s.cast(plan.target)
        if plan.kind == "category":
            return s.cast(pl.Categorical)
        return s

    new = _convert_all(one, list(zip(series, plans, strict=True)))
    final = []
    for plan, s in zip(plans, new, strict=True):
        if plan.kind == "category":
            plan = _Plan(_replace_after(plan.report, int(s.estimated_size())), plan.kind)
        final.append(plan)
    report = finish(final, opt, True)
    if isinstance(obj, pl.Series):
        return new[0], report
    return pl.DataFrame(new), report


def _polars_dtype(dt: np.dtype) -> Any:
    import polars as pl

    return {
        "int8": pl.Int8,
        "int16": pl.Int16,
        "int32": pl.Int32,
        "int64": pl.Int64,
        "uint8": pl.UInt8,
        "uint16": pl.UInt16,
        "uint32": pl.UInt32,
        "uint64": pl.UInt64,
        "float32": pl.Float32,
        "float16": pl.Float16,
    }[dt.name]


def _plan_polars_other(s: Any, opt: _Options) -> _Plan:
    import polars as pl

    name = s.name
    dt = s.dtype
    nbytes = int(s.estimated_size())
    if len(s) == 0:
        return _keep(name, dt, nbytes, "kept: empty, nothing to downcast")
    if dt.is_integer():
        if not opt.ints:
            return _keep(name, dt, nbytes, "kept: ints=False")
        lo, hi = s.min(), s.max()
        if lo is None:
            return _keep(name, dt, nbytes, "kept: every value is null")
        target = _smallest_int(int(lo), int(hi), _itemsize(s), opt.int_ladder)
        if target is None:
            return _keep(name, dt, nbytes, f"kept: range [{lo}, {hi}] needs {dt}")
        after = len(s) * target.itemsize + (len(s) + 7) // 8
        report = ColumnReport(
            name,
            str(dt),
            str(_polars_dtype(target)),
            nbytes,
            after,
            reason=f"exact: range [{lo}, {hi}] with {s.null_count()} nulls fits {target.name}",
        )
        return _Plan(report, "astype", _polars_dtype(target))
    if dt.is_float():
        return _keep(
            name, dt, nbytes, "kept: float column with nulls (fill_null(float('nan')) first)"
        )
    if dt == pl.String:
        if not opt.categories:
            return _keep(name, dt, nbytes, f"kept: strings ({_STRINGS_HINT})")
        uniques = s.n_unique()
        ratio = uniques / len(s)
        if ratio > opt.category_max_ratio:
            return _keep(
                name,
                dt,
                nbytes,
                f"kept: {uniques} distinct strings in {len(s)} rows (ratio {ratio:.2f} > "
                f"category_max_ratio {opt.category_max_ratio:g})",
            )
        report = ColumnReport(
            name,
            str(dt),
            "Categorical",
            nbytes,
            len(s) * 4 + nbytes // max(1, len(s)) * uniques,
            reason=f"lossless: {uniques} distinct strings in {len(s)} rows -> Categorical",
        )
        return _Plan(report, "category")
    if dt == pl.Boolean:
        return _keep(name, dt, nbytes, "kept: boolean is already bit-packed")
    return _keep(name, dt, nbytes, f"kept: {dt} is not downcast")


def _itemsize(s: Any) -> int:
    return {
        "Int8": 1,
        "UInt8": 1,
        "Int16": 2,
        "UInt16": 2,
        "Int32": 4,
        "UInt32": 4,
        "Int64": 8,
        "UInt64": 8,
        "Int128": 16,
        "UInt128": 16,
    }.get(str(s.dtype), 8)
