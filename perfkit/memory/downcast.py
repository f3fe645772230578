"""Shrink dtypes with a written guarantee: every value within tolerance, or left alone.

``downcast`` picks, per column, the smallest dtype that holds *every* value of the column within
``|new - old| <= atol + rtol * |old|``: the smallest integer type for integer columns (exact), an
integer type for float columns whose values are all integral, float32 or float16 for float
columns whose range (float16 tops out at 65504 and goes subnormal below 2**-14) and precision
hold for every value. NaN, +-inf and -0.0 survive; integral float columns with missing values
become pandas nullable integers. What does not fit is kept as it was, with the reason in the
report, or raises under ``strict=True``.

The decision costs one read pass per column (:mod:`perfkit.memory._scan`, numba, parallel over
columns); the conversion is one more pass that writes the output, so the peak memory is the input
plus the output, with no temporary copy of a column.

The work is split in three modules (no import cycle): :mod:`perfkit.memory._report` (the report),
:mod:`perfkit.memory._planning` (options, scan, per-column decisions) and
:mod:`perfkit.memory._conversion` (applying the plans); this module is the public entry point.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from perfkit.errors import UsageError
from perfkit.memory._conversion import _convert_all, _convert_numpy, _to_float16
from perfkit.memory._planning import (
    _MIN_CHUNK,
    _check_options,
    _Column,
    _finish,
    _Options,
    _pieces,
    _plan_numeric,
)
from perfkit.memory._report import ColumnReport, DowncastReport, LossyDowncastError

__all__ = [
    "ColumnReport",
    "DowncastReport",
    "LossyDowncastError",
    "downcast",
    "plan_downcast",
]
#: Re-exported for callers and tests that import them from here.
_REEXPORTED = (_MIN_CHUNK, _to_float16)


def plan_downcast(
    obj: Any,
    rtol: float = 1e-6,
    atol: float = 0.0,
    floats: str | Iterable[str | np.dtype] | None = ("float32", "float16"),
    ints: bool = True,
    categories: bool = False,
    strict: bool = False,
    *,
    axis: int | None = None,
    nullable_ints: bool = True,
    category_max_ratio: float = 0.5,
) -> DowncastReport:
    """Decide what :func:`downcast` would do, without converting anything (one read pass).

    Takes the same arguments as :func:`downcast` and returns its :class:`DowncastReport`, with
    ``converted=False``. Under ``strict=True`` it raises the same error ``downcast`` would.
    """
    opt = _check_options(
        rtol, atol, floats, ints, categories, strict, nullable_ints, category_max_ratio
    )
    _, report = _run(obj, opt, axis=axis, convert=False, inplace=False)
    return report


def downcast(
    obj: Any,
    rtol: float = 1e-6,
    atol: float = 0.0,
    floats: str | Iterable[str | np.dtype] | None = ("float32", "float16"),
    ints: bool = True,
    categories: bool = False,
    strict: bool = False,
    *,
    axis: int | None = None,
    nullable_ints: bool = True,
    category_max_ratio: float = 0.5,
    inplace: bool = False,
) -> tuple[Any, DowncastReport]:
    """Shrink each column to the smallest dtype that keeps every value within tolerance.

    A value ``x`` stored as ``y`` is kept when ``|y - x| <= atol + rtol * |x|``; a column is
    changed only when *all* its values are kept. NaN, +-inf and -0.0 are preserved; integer
    columns shrink exactly; float columns whose values are all integral become integers (pandas
    nullable integers when they have NaN), else float32 or float16 when every value fits.

    Parameters
    ----------
    obj
        A NumPy array, pandas DataFrame or Series, polars DataFrame or Series, or torch tensor.
    rtol, atol
        Relative and absolute tolerance (finite, >= 0). ``rtol=0, atol=0`` allows exact
        conversions only.
    floats
        Float dtypes that may be used, by name (``"float32"``, ``"float16"``); ``()`` keeps
        floats as floats unless integral.
    ints
        Shrink integer columns and turn integral float columns into integers.
    categories
        Store low-cardinality string columns (pandas) as ``category``.
    strict
        Raise :class:`LossyDowncastError` instead of keeping a numeric column that no smaller
        dtype holds within tolerance.
    axis
        For a 2-D NumPy array: ``None`` treats the whole array as one column (one dtype);
        ``0`` decides per column ``a[:, j]`` and ``1`` per row, and the result is then a list of
        1-D arrays.
    nullable_ints
        Integral float columns with NaN become pandas nullable integers (``Int16``...) in pandas
        input; ``False`` keeps them float (and downcasts them as floats).
    category_max_ratio
        A string column becomes ``category`` when distinct values / rows is at most this.
    inplace
        pandas DataFrame only: replace the columns of ``obj`` itself (lower peak memory).

    Returns
    -------
    (result, DowncastReport)
        The new object (the input is never modified unless ``inplace=True``; columns left
        alone are shared, not copied) and the per-column report with the measured errors.

    Raises
    ------
    UsageError
        Bad options (``rtol < 0``, unknown dtype names) or an unsupported object.
    LossyDowncastError
        ``strict=True`` and a column could not be shrunk within tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> small, report = downcast(np.array([1.5, 2.25, -0.0, np.nan]))
    >>> small.dtype, report.max_abs_error
    (dtype('float16'), 0.0)
    """
    opt = _check_options(
        rtol, atol, floats, ints, categories, strict, nullable_ints, category_max_ratio
    )
    return _run(obj, opt, axis=axis, convert=True, inplace=inplace)


def _run(obj: Any, opt: _Options, *, axis: int | None, convert: bool, inplace: bool):
    if isinstance(obj, np.ndarray):
        if inplace:
            raise UsageError(
                "inplace=True cannot change a NumPy array's dtype",
                "use the returned array: small, report = downcast(a)",
            )
        return _run_numpy(obj, opt, axis, convert)
    module = type(obj).__module__.split(".")[0]
    if axis is not None:
        raise UsageError(
            f"axis applies to 2-D NumPy arrays only, got {type(obj).__name__}",
            "drop axis=: DataFrames are always downcast per column",
        )
    if module == "pandas":
        from perfkit.memory import _frames

        return _frames.run_pandas(obj, opt, convert, inplace, _plan_numeric, _finish)
    if module == "polars":
        if inplace:
            raise UsageError("inplace=True is for pandas DataFrames", "use the returned frame")
        from perfkit.memory import _frames

        return _frames.run_polars(obj, opt, convert, _plan_numeric, _finish)
    if module == "torch":
        if inplace:
            raise UsageError("inplace=True is for pandas DataFrames", "use the returned tensor")
        from perfkit.memory import _torch

        return _torch.run_torch(obj, opt, convert, _run_numpy, _finish)
    raise UsageError(
        f"downcast takes a NumPy array, pandas or polars DataFrame/Series, or torch tensor; "
        f"got {type(obj).__name__}",
        "wrap plain sequences with np.asarray(...) first",
    )


def _run_numpy(a: np.ndarray, opt: _Options, axis: int | None, convert: bool):
    if axis is not None:
        if a.ndim != 2:
            raise UsageError(
                f"axis= needs a 2-D array, got {a.ndim}-D", "use axis=None for one dtype overall"
            )
        if axis not in (0, 1, -1, -2):
            raise UsageError(f"axis must be 0 or 1 for a 2-D array, got {axis}", "use 0 or 1")
        axis = axis % 2
        views = [a[:, j] if axis == 0 else a[j, :] for j in range(a.shape[1 - axis])]
        names = [f"[:, {j}]" if axis == 0 else f"[{j}, :]" for j in range(len(views))]
    else:
        views = [a]
        names = ["array"]
    cols = [
        _Column(
            name=n,
            values=v if v.dtype.kind in "iuf" else None,
            dtype=v.dtype,
            nbytes=v.nbytes,
            size=v.size,
            pieces=_pieces(v) if v.dtype.kind in "iuf" else [],
        )
        for n, v in zip(names, views, strict=True)
    ]
    plans = _plan_numeric(cols, opt, False, "NumPy has no missing-value integers")
    report = _finish(plans, opt, converted=convert)
    if not convert:
        return None, report
    pairs = list(zip(views, plans, strict=True))
    outs = _convert_all(lambda vp: _convert_numpy(vp[0], vp[1]), pairs)
    if axis is None:
        return outs[0], report
    return outs, report
