"""``perfkit.indicators.compute``: many indicators for a whole panel of instruments in one call.

The panel comes in one of three shapes and the results come back in the same shape and labels:

* a dict of 2-D arrays, one per price field, each ``(n_bars, n_instruments)`` (time-major;
  a 1-D array is one instrument) -> a dict of output name -> array of the same shape;
* a dict of wide DataFrames (index = time, columns = instruments), or a single wide frame
  taken as ``close`` -> a dict of output name -> wide DataFrame;
* a long DataFrame with ``instrument`` and ``time`` columns and one column per field ->
  the same frame (same rows, same order) with one column per output added.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from perfkit.errors import UsageError
from perfkit.indicators import parallel
from perfkit.indicators.specs import IndicatorSpec, parse_specs

FIELDS = ("open", "high", "low", "close", "volume")
NAN_MODES = ("propagate", "restart")


@dataclass(frozen=True)
class ComputeInfo:
    """What ``compute`` did: the backend (and why), the split, the size and the time taken."""

    backend: str
    reason: str
    n_jobs: int
    batch_size: int
    n_batches: int
    n_bars: int
    n_instruments: int
    outputs: tuple[str, ...]
    wall_s: float
    extra: Mapping[str, Any]

    def _repr_html_(self) -> str:
        """The notebook view: the report as HTML (see :mod:`perfkit.display`)."""
        from perfkit.display import repr_html

        return repr_html(self)

    def __repr__(self) -> str:
        from perfkit.display import short_repr

        return short_repr(self)


@dataclass
class _Panel:
    fields: dict[str, np.ndarray]
    kind: str  # "arrays", "array1d", "wide", "long"
    index: Any = None
    columns: Any = None
    long_frame: Any = None
    long_pos: tuple[np.ndarray, np.ndarray] | None = None
    order: str = ""


def _numeric(name: str, values: Any) -> np.ndarray:
    """``values`` as an array after checking its dtype (no conversion, no copy)."""
    arr = np.asarray(values)
    if arr.dtype == object or arr.dtype.kind in "USVOMm":
        raise UsageError(
            f"field {name!r} has non-numeric dtype {arr.dtype}",
            "convert prices to numbers first (e.g. pd.to_numeric)",
        )
    if arr.dtype.kind == "b":
        raise UsageError(f"field {name!r} is boolean, not prices", "pass numeric price arrays")
    if arr.dtype.kind not in "iuf":
        raise UsageError(f"field {name!r} has unsupported dtype {arr.dtype}", "pass float arrays")
    return arr


def _as_float(name: str, values: Any) -> np.ndarray:
    """A C-contiguous float64 array (no copy when it already is one)."""
    arr = _numeric(name, values)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return np.ascontiguousarray(arr, dtype=np.float64)


def _check_values(fields: dict[str, np.ndarray], proven: set[str]) -> None:
    """Refuse +-inf in the fields used, scanning only those the kernels did not prove finite."""
    from perfkit.indicators.kernels import first_inf

    for name, arr in fields.items():
        if name in proven or not arr.size:
            continue
        pos = first_inf(arr)
        if pos >= 0:
            row, col = divmod(int(pos), arr.shape[1])
            raise UsageError(
                f"field {name!r} holds an infinite value at bar {row}, instrument {col}",
                "replace inf with NaN (a gap) or a real price",
            )


def _from_arrays(panel: Mapping[str, Any]) -> _Panel:
    # dtypes and shapes are checked here; only the fields the specs use are converted later
    fields: dict[str, np.ndarray] = {}
    one_d = None
    for key, values in panel.items():
        name = str(key).lower()
        arr = _numeric(name, values)
        if arr.ndim not in (1, 2):
            raise UsageError(
                f"field {name!r} has {arr.ndim} dimensions",
                "pass 2-D arrays shaped (n_bars, n_instruments) or 1-D series",
            )
        one_d = (arr.ndim == 1) if one_d is None else one_d
        fields[name] = arr
    shapes = {k: (v.shape if v.ndim == 2 else (v.shape[0], 1)) for k, v in fields.items()}
    if len(set(shapes.values())) > 1:
        raise UsageError(
            f"fields have mismatched shapes: {shapes}",
            "every field must be (n_bars, n_instruments) with the same sizes",
        )
    return _Panel(fields, "array1d" if one_d else "arrays")


def _from_wide(frames: Mapping[str, Any]) -> _Panel:
    import pandas as pd

    first = None
    fields: dict[str, np.ndarray] = {}
    for key, df in frames.items():
        name = str(key).lower()
        if not isinstance(df, pd.DataFrame):
            raise UsageError(f"field {name!r} is a {type(df).__name__}, not a DataFrame")
        if first is None:
            first = df
            if df.index.has_duplicates:
                dup = df.index[df.index.duplicated()][0]
                raise UsageError(
                    f"wide frame {name!r} has duplicated timestamps (first: {dup})",
                    "drop or aggregate duplicated bars",
                )
            if not df.index.is_monotonic_increasing:
                raise UsageError(
                    f"wide frame {name!r} has unsorted timestamps",
                    "sort it first: df.sort_index()",
                )
        elif not (df.index.equals(first.index) and df.columns.equals(first.columns)):
            raise UsageError(
                f"wide frame {name!r} does not share the index and columns of the others",
                "align the frames (df.reindex_like) before computing",
            )
        non_numeric = [c for c, dt in df.dtypes.items() if dt.kind not in "iuf"]
        if non_numeric:
            raise UsageError(
                f"field {name!r} has non-numeric columns: {non_numeric[:5]}",
                "convert prices to numbers first (e.g. pd.to_numeric)",
            )
        fields[name] = _LazyField(df)  # converted only if an indicator reads it
    return _Panel(fields, "wide", index=first.index, columns=first.columns)


def _time_order(column: Any, name: str) -> Any:
    """The values of a time column as something that sorts in time order.

    Numbers and datetimes are used as they are. Text is parsed: as numbers if every value is
    one, else as dates (ISO ``2024-01-15``, US-order ``01/15/2024``; one format for the whole
    column, inferred from its first value). Text that is neither (``t0 ... t119``) would sort
    as text (``t10`` before ``t2``): it is refused, naming the column.
    """
    import warnings

    import pandas as pd

    kind = column.dtype.kind
    if kind == "b":
        raise UsageError(
            f"time column {name!r} holds booleans, which cannot be put in time order",
            "give dates or numbers as times",
        )
    if kind in "iufM" or isinstance(column.dtype, pd.DatetimeTZDtype):
        return column
    if kind == "m":
        return column
    try:
        return pd.to_numeric(column, errors="raise")
    except (ValueError, TypeError):
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.to_datetime(column, errors="raise")
    except (ValueError, TypeError, OverflowError, pd.errors.ParserError) as exc:
        sample = next((v for v in column if isinstance(v, str)), column.iloc[0])
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise UsageError(
            f"time column {name!r} cannot be read as dates or numbers (e.g. {sample!r}: "
            f"{detail}), so its rows cannot be put in time order",
            "write times as ISO dates (2024-01-15), one date format per column, or numbers; "
            "or drop the column to take the rows in file order",
        ) from None


def _from_long(df: Any, instrument_col: str, time_col: str) -> _Panel:
    """A long table: rows of (instrument, time, fields...) in any order.

    Without the instrument column the table is one instrument; without the time column each
    instrument's bars are taken in file (row) order.
    """
    import pandas as pd

    if len(df) == 0:
        raise UsageError(
            "the price table has no rows (only a header)", "give a table with some price rows"
        )
    has_inst = instrument_col in df.columns
    has_time = time_col in df.columns
    present = [c for c in df.columns if str(c).lower() in FIELDS]
    if not present:
        raise UsageError(
            f"the price table has no price columns (columns: {list(df.columns)[:10]})",
            f"add some of: {', '.join(FIELDS)} columns",
        )
    names = [str(c).lower() for c in present]
    if len(set(names)) != len(names):
        raise UsageError(
            f"the price table has duplicated price columns: {present}",
            "keep one column per field (names are case-insensitive)",
        )
    key_cols = [c for c, ok in ((instrument_col, has_inst), (time_col, has_time)) if ok]
    if has_time:  # without times, repeated rows are successive bars
        dup = df.duplicated(key_cols)
        if dup.any():
            row = df.loc[dup, key_cols].iloc[0]
            if len(key_cols) == 2:
                what = f"(instrument, time) row: ({row[instrument_col]}, {row[time_col]})"
            else:
                what = f"{key_cols[0]} value: {row[key_cols[0]]}"
            raise UsageError(
                f"duplicated {what}", "drop or aggregate duplicated bars before computing"
            )
    if has_inst:
        inst_codes, instruments = _factorize(df[instrument_col])
    else:
        inst_codes, instruments = np.zeros(len(df), np.intp), pd.Index([None])
    if has_time:
        # Rows may come in any order: each instrument's bars are put in time order here, and
        # the results go back to the input's row order.
        time_codes, times = _factorize(_time_order(df[time_col], time_col), sort=True)
        order = f"time order ({time_col!r})"
    else:
        time_codes = pd.Series(inst_codes).groupby(inst_codes).cumcount().to_numpy(np.intp)
        times = pd.RangeIndex(int(time_codes.max()) + 1)
        order = f"file order (no {time_col!r} column)"
    n_bars, n_inst = len(times), len(instruments)
    fields: dict[str, Any] = {}
    for col in present:
        fields[str(col).lower()] = _LongField(
            df[col], col, time_codes, inst_codes, (n_bars, n_inst)
        )
    return _Panel(
        fields,
        "long",
        index=times,
        columns=instruments,
        long_frame=df,
        long_pos=(time_codes, inst_codes),
        order=order,
    )


class _LazyField:
    """A wide frame, turned into a ``(n_bars, n_instruments)`` float64 array only if used."""

    def __init__(self, frame: Any) -> None:
        self.frame, self.shape = frame, frame.shape

    def to_array(self, name: str) -> np.ndarray:
        return _as_float(name, self.frame.to_numpy(dtype=np.float64, na_value=np.nan))


class _LongField:
    """A long table's column, turned into a ``(n_bars, n_instruments)`` array only if used."""

    def __init__(
        self, column: Any, label: Any, t: np.ndarray, j: np.ndarray, shape: tuple[int, int]
    ) -> None:
        self.column, self.label, self.t, self.j, self.shape = column, label, t, j, shape

    def to_array(self, name: str) -> np.ndarray:
        import pandas as pd

        col = self.column
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise UsageError(
                f"column {self.label!r} has non-numeric dtype {col.dtype}",
                "convert prices to numbers first (e.g. pd.to_numeric)",
            )
        vals = _numeric(name, col.to_numpy(dtype=float, na_value=np.nan))
        arr = np.full(self.shape, np.nan)
        arr[self.t, self.j] = vals
        return arr


def _factorize(series: Any, sort: bool = False) -> tuple[np.ndarray, Any]:
    import pandas as pd

    codes, uniques = pd.factorize(series, sort=sort)
    if (codes < 0).any():
        raise UsageError(
            f"column {series.name!r} has missing values", "every row needs an instrument and time"
        )
    return codes, uniques


def _normalize(panel: Any, instrument_col: str, time_col: str) -> _Panel:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a core dependency
        pd = None
    if pd is not None and isinstance(panel, pd.DataFrame):
        # A long table has an instrument or a time column, or price columns by name (one
        # instrument in row order); any other frame is a wide frame of closing prices.
        cols = {str(c).lower() for c in panel.columns}
        if instrument_col in panel.columns or time_col in panel.columns or cols & set(FIELDS):
            return _from_long(panel, instrument_col, time_col)
        return _from_wide({"close": panel})
    if isinstance(panel, np.ndarray):
        return _from_arrays({"close": panel})
    if not isinstance(panel, Mapping):
        raise UsageError(
            f"panel must be a dict of arrays or DataFrames, or a DataFrame; got "
            f"{type(panel).__name__}",
            "pass {'close': array, ...}",
        )
    if not panel:
        raise UsageError("the panel is empty (no fields)", "pass at least a 'close' field")
    values = list(panel.values())
    if pd is not None and all(isinstance(v, pd.DataFrame) for v in values):
        return _from_wide(panel)
    if pd is not None and any(isinstance(v, pd.DataFrame) for v in values):
        raise UsageError("mix of DataFrames and arrays in the panel", "pass one kind")
    return _from_arrays(panel)


def _progress_bar(total: int, enabled: bool) -> tuple[Any, Any]:
    if not enabled:
        return None, lambda n: None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("indicators"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} instruments"),
        TimeElapsedColumn(),
        transient=True,
    )
    task = bar.add_task("indicators", total=total)
    return bar, lambda n: bar.advance(task, n)


def compute(
    panel: Any,
    specs: str | IndicatorSpec | Iterable[str | IndicatorSpec],
    *,
    n_jobs: int | None = None,
    backend: str = "auto",
    batch_size: int | None = None,
    scheduler: Any = None,
    nan: str = "propagate",
    progress: bool | None = None,
    instrument_col: str = "instrument",
    time_col: str = "time",
    out: Mapping[str, np.ndarray] | None = None,
    return_info: bool = False,
) -> Any:
    """Compute indicators for every instrument of a panel, in parallel, TA-Lib-exact.

    Parameters
    ----------
    panel
        A dict of ``(n_bars, n_instruments)`` arrays (``close``, ``high``, ``low``,
        ``volume``, ``open``), a dict of wide DataFrames, a wide DataFrame (close), or a long
        DataFrame: rows of ``instrument``/``time`` and price columns in any order. A long
        table without an instrument column is one instrument; without a time column each
        instrument's rows are its bars in file order. Text times are parsed (ISO or US-order
        dates, or numbers); text that is neither is refused. Ints are converted to float64;
        only the fields the specs read are converted and checked.
    specs
        ``"sma:20,rsi:14,macd:12,26,9"``, a list of such strings, or :class:`IndicatorSpec`.
    n_jobs
        Workers (default: the cores this process may use).
    backend
        ``"auto"`` or a name of :data:`parallel.BACKENDS`: ``"serial"``, ``"threads"``,
        ``"loky"``, ``"numba"``, ``"dask"``. ``auto`` decides by measurement: a one-off
        calibration of serial vs threads on this machine, then the times of earlier calls of
        the same shape (see :class:`parallel.AutoTuner`).
    batch_size
        Instruments per task (default: one wide batch per worker).
    scheduler
        For ``dask``: ``"tcp://host:8786"`` or a ``distributed.Client``; giving one makes
        ``auto`` pick dask.
    nan
        ``"propagate"`` (TA-Lib's rules: leading NaNs skipped, a gap propagates) or
        ``"restart"`` (each run of valid bars is a fresh series: outputs resume one lookback
        after a gap).
    progress
        Show a progress bar (default: when stderr is a terminal and the panel is large).
    out
        Preallocated outputs: output name -> C-contiguous float64 array of the panel's shape
        (``(n_bars,)`` for 1-D input). Results are written in place and those very arrays
        are returned; outputs not given are allocated. On an error their contents are
        unspecified.
    return_info
        Also return a :class:`ComputeInfo` (backend chosen and why, sizes, time).

    Returns
    -------
    The results in the panel's shape (see the module docstring); with ``return_info``, a
    ``(results, info)`` pair.

    Raises
    ------
    UsageError
        Malformed specs, unknown backend, empty panel, mismatched shapes, non-numeric or
        infinite prices, a missing field an indicator needs, duplicated (instrument, time) rows,
        a time column that cannot be ordered, a bad ``out`` array.

    Examples
    --------
    >>> import numpy as np
    >>> close = 100 + np.cumsum(np.random.default_rng(0).normal(size=(500, 3)), axis=0)
    >>> res = compute({"close": close}, "sma:20,rsi:14", backend="serial")
    >>> sorted(res), res["sma_20"].shape
    (['rsi_14', 'sma_20'], (500, 3))
    """
    started = time.perf_counter()
    spec_list = parse_specs(specs)
    runner = None if backend == "auto" else parallel.get_backend(backend)
    if nan not in NAN_MODES:
        raise UsageError(f"unknown nan mode {nan!r}", "use nan='propagate' or nan='restart'")
    if n_jobs is None:
        n_jobs = parallel.cpu_count()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs == 0:
        raise UsageError(f"n_jobs must be a non-zero integer, got {n_jobs!r}")
    if n_jobs < 0:
        n_jobs = max(1, parallel.cpu_count() + 1 + int(n_jobs))
    n_jobs = int(n_jobs)
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")

    pan = _normalize(panel, instrument_col, time_col)
    if "close" not in pan.fields:
        raise UsageError(
            f"the panel has no 'close' field (fields: {sorted(pan.fields)})",
            "name the closing prices 'close'",
        )
    for spec in spec_list:
        missing = [f for f in spec.fields if f not in pan.fields]
        if missing:
            raise UsageError(
                f"{spec} needs {', '.join(spec.fields)}; the panel lacks {', '.join(missing)}",
                "add those fields to the panel or drop the indicator",
            )
    read = {f for s in spec_list for f in s.fields}
    needed = [f for f in ("close", "high", "low", "volume") if f in read]
    fields: dict[str, np.ndarray] = {}
    for name in needed:
        raw = pan.fields[name]
        lazy = isinstance(raw, _LongField | _LazyField)
        fields[name] = raw.to_array(name) if lazy else _as_float(name, raw)
    n_bars, n_inst = fields["close"].shape
    if n_bars == 0 or n_inst == 0:
        raise UsageError(
            f"the panel is empty ({n_bars} bars x {n_inst} instruments)", "pass some prices"
        )
    names = [name for spec in spec_list for name in spec.outputs]
    outputs = _outputs(out, names, (n_bars, n_inst), pan.kind, fields)

    reason = "asked for"
    key = (tuple(str(s) for s in spec_list), n_bars, n_inst, nan, n_jobs)
    if runner is None:
        name, reason = parallel.choose_backend(
            n_bars, n_inst, len(spec_list), n_jobs, scheduler, key=key
        )
        runner = parallel.get_backend(name)
    restart = nan == "restart"
    if restart and not runner.supports_restart:
        reason = f"nan='restart' runs lane by lane, which {runner.name} cannot: threads instead"
        runner = parallel.get_backend("threads")
    job = parallel.Job(fields=fields, specs=spec_list, outputs=outputs, restart=restart)
    workers = n_jobs if runner.parallel else 1
    if runner.fixed_batches or (not runner.parallel and batch_size is None):
        ranges = [(0, n_inst)]
    else:
        ranges = parallel.batches(n_inst, workers, batch_size)
    if progress is None:
        progress = n_bars * n_inst * len(spec_list) > 50_000_000 and sys.stderr.isatty()
    bar, advance = _progress_bar(n_inst, bool(progress))
    ran = time.perf_counter()
    with bar if bar is not None else _nullcontext():
        extra = dict(runner.run(job, ranges, workers, advance, scheduler))
    parallel.AUTO.record(key, runner.name, time.perf_counter() - ran)
    # +-inf: the kernels prove most fields finite for free (running states, flags); scan the rest
    _check_values(fields, job.proven_fields)

    result = _shape_results(pan, outputs)
    if out is not None and pan.kind in ("arrays", "array1d"):
        result.update({k: v for k, v in out.items() if k in result})  # the caller's own arrays
    if not return_info:
        return result
    if pan.order:
        extra["order"] = pan.order
    info = ComputeInfo(
        backend=runner.name,
        reason=reason,
        n_jobs=workers,
        batch_size=max(b - a for a, b in ranges),
        n_batches=len(ranges),
        n_bars=n_bars,
        n_instruments=n_inst,
        outputs=tuple(names),
        wall_s=time.perf_counter() - started,
        extra=extra,
    )
    return result, info


def _outputs(
    out: Mapping[str, np.ndarray] | None,
    names: list[str],
    shape: tuple[int, int],
    kind: str,
    fields: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """The output arrays: the caller's ``out`` arrays (checked, as 2-D views) or new ones."""
    if out is None:
        return {name: np.empty(shape) for name in names}
    if not isinstance(out, Mapping):
        raise UsageError(f"out must be a dict of arrays, got {type(out).__name__}")
    unknown = sorted(set(map(str, out)) - set(names))
    if unknown:
        raise UsageError(
            f"out has arrays for outputs these specs do not make: {unknown[:5]}",
            f"the outputs are: {', '.join(names)}",
        )
    want_1d = kind == "array1d"
    result: dict[str, np.ndarray] = {}
    given: list[np.ndarray] = []
    for name in names:
        arr = out.get(name)
        if arr is None:
            result[name] = np.empty(shape)
            continue
        need = (shape[0],) if want_1d else shape
        ok = (
            isinstance(arr, np.ndarray)
            and arr.dtype == np.float64
            and arr.shape == need
            and arr.flags.c_contiguous
            and arr.flags.writeable
        )
        if not ok:
            what = f"{arr.dtype} {arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__
            raise UsageError(
                f"out[{name!r}] must be a writeable C-contiguous float64 array of shape {need}, "
                f"got {what}",
                "allocate it with np.empty(shape)",
            )
        if any(np.shares_memory(arr, x) for x in [*fields.values(), *given]):
            raise UsageError(
                f"out[{name!r}] overlaps an input or another output",
                "give each output its own array",
            )
        given.append(arr)
        result[name] = arr if arr.shape == shape else arr.reshape(shape)
    return result


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _shape_results(pan: _Panel, outputs: dict[str, np.ndarray]) -> Any:
    if pan.kind == "arrays":
        return outputs
    if pan.kind == "array1d":
        return {k: v.reshape(v.shape[0]) for k, v in outputs.items()}
    import pandas as pd

    if pan.kind == "wide":
        return {
            k: pd.DataFrame(v, index=pan.index, columns=pan.columns, copy=False)
            for k, v in outputs.items()
        }
    frame = pan.long_frame.copy()
    t_codes, j_codes = pan.long_pos
    for k, v in outputs.items():
        frame[k] = v[t_codes, j_codes]
    return frame
