"""Planning of :func:`perfkit.downcast`: what each column becomes, and why (one read pass).

Options are checked here (:func:`_check_options`), columns are described as :class:`_Column`
(zero-copy 1-D views), scanned by the numba kernels of :mod:`perfkit.memory._scan`, and each gets
a :class:`_Plan`: keep, cast, nullable, category or masked, with its :class:`ColumnReport`.
Nothing is converted here (:mod:`perfkit.memory._conversion` does that).

Import order inside :mod:`perfkit.memory` (no cycle): ``_report`` <- ``_planning`` <-
``_conversion`` <- ``_frames`` / ``_torch`` <- ``downcast``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from perfkit.errors import UsageError
from perfkit.memory._report import ColumnReport, DowncastReport, LossyDowncastError

_FLOAT_NAMES = ("float32", "float16")
#: Integer dtypes in the order tried: smaller first, signed before unsigned of the same size.
_INT_LADDER = tuple(
    np.dtype(t) for t in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
)
#: Fewer values than this per chunk is not worth a task of its own in the parallel scan.
_MIN_CHUNK = 1 << 16
_MAX_CHUNK = 1 << 20

# --------------------------------------------------------------------------------------------
# options


@dataclass(frozen=True)
class _Options:
    rtol: float
    atol: float
    floats: tuple[np.dtype, ...]
    ints: bool
    categories: bool
    strict: bool
    nullable_ints: bool
    category_max_ratio: float
    int_ladder: tuple[np.dtype, ...] = _INT_LADDER


def _check_options(
    rtol: float,
    atol: float,
    floats: str | np.dtype | Iterable[str | np.dtype] | None,
    ints: bool,
    categories: bool,
    strict: bool,
    nullable_ints: bool,
    category_max_ratio: float,
) -> _Options:
    for label, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise UsageError(f"{label} must be a number, got {value!r}", f"e.g. {label}=1e-6")
        if not math.isfinite(float(value)) or float(value) < 0:
            raise UsageError(
                f"{label} must be a finite number >= 0, got {value!r}",
                f"use {label}=0 for exact, or a small positive tolerance such as 1e-6",
            )
    if not (0.0 < float(category_max_ratio) <= 1.0):
        raise UsageError(
            f"category_max_ratio must be in (0, 1], got {category_max_ratio!r}",
            "e.g. 0.5: at most one distinct value per two rows",
        )
    if floats is None:
        names: list[Any] = []
    elif isinstance(floats, (str, np.dtype, type)):
        names = [floats]
    else:
        names = list(floats)
    chosen: list[np.dtype] = []
    for name in names:
        try:
            dt = np.dtype(name)
        except TypeError:
            raise UsageError(
                f"unknown dtype name {name!r} in floats",
                f"use any of {', '.join(_FLOAT_NAMES)}",
            ) from None
        if dt.name not in _FLOAT_NAMES:
            raise UsageError(
                f"floats may only name smaller float dtypes, got {dt.name!r}",
                f"use any of {', '.join(_FLOAT_NAMES)} (or floats=() to keep floats as floats)",
            )
        if dt not in chosen:
            chosen.append(dt)
    return _Options(
        rtol=float(rtol),
        atol=float(atol),
        floats=tuple(chosen),
        ints=bool(ints),
        categories=bool(categories),
        strict=bool(strict),
        nullable_ints=bool(nullable_ints),
        category_max_ratio=float(category_max_ratio),
    )


# --------------------------------------------------------------------------------------------
# planning: what each column becomes


@dataclass(frozen=True)
class _Plan:
    """One column's decision. ``kind``: keep, cast (NumPy astype), nullable, category, masked."""

    report: ColumnReport
    kind: str
    target: Any = None


def _smallest_int(
    lo: int, hi: int, limit_itemsize: int, ladder: Sequence[np.dtype] = _INT_LADDER
) -> np.dtype | None:
    """The smallest integer dtype holding ``lo..hi``, if smaller than ``limit_itemsize``."""
    for dt in ladder:
        if dt.itemsize >= limit_itemsize:
            return None
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return dt
    return None


def _nullable_name(dt: np.dtype) -> str:
    return dt.name.capitalize() if dt.kind == "i" else "UInt" + dt.name[4:]


def _example(x: np.ndarray, idx: int, target: np.dtype | str) -> str:
    """'row 17: 12345.6789 -> 12344 (rel err 1e-04)' for the reason of a rejected candidate."""
    v = float(x[idx])
    if target == "int":
        if v == 0.0 and math.copysign(1.0, v) < 0:
            return f"row {idx}: -0.0 would lose its sign"
        if not math.isfinite(v) or abs(v) >= 2.0**63:
            return f"row {idx}: {v!r} has no integer form"
        return f"row {idx}: {v!r} is not integral"
    with np.errstate(over="ignore"):
        y = float(np.asarray(v).astype(target))
    if not math.isfinite(y):
        return f"row {idx}: {v!r} overflows to {y!r} (max {float(np.finfo(target).max):g})"
    rel = abs(y - v) / abs(v) if v else math.inf
    return f"row {idx}: {v!r} -> {y!r} (rel err {rel:.2g})"


def _plan_int_array(name: str, x: np.ndarray, lo: int, hi: int, opt: _Options) -> _Plan:
    old = x.dtype
    nbytes = x.nbytes
    base = ColumnReport(name, old.name, old.name, nbytes, nbytes)
    if not opt.ints:
        return _Plan(replace(base, reason="kept: ints=False"), "keep")
    target = _smallest_int(lo, hi, old.itemsize, opt.int_ladder)
    if target is None:
        return _Plan(replace(base, reason=f"kept: range [{lo}, {hi}] needs {old.name}"), "keep")
    return _Plan(
        replace(
            base,
            new_dtype=target.name,
            bytes_after=x.size * target.itemsize,
            reason=f"exact: range [{lo}, {hi}] fits {target.name}",
        ),
        "cast",
        target,
    )


def _plan_float_array(
    name: str,
    x: np.ndarray,
    st: dict[str, Any],
    opt: _Options,
    allow_nullable: bool,
    why_no_nullable: str,
) -> _Plan:
    """Choose among integer, nullable integer, float32 and float16 from the merged scan stats."""
    old = x.dtype
    n = x.size
    nbytes = x.nbytes
    base = ColumnReport(name, old.name, old.name, nbytes, nbytes)
    tol = f"rtol={opt.rtol:g}, atol={opt.atol:g}"
    options: list[tuple[int, int, _Plan]] = []  # (bytes, preference, plan)
    rejected: list[str] = []
    has_finite = st["min"] <= st["max"]
    if opt.ints:
        if st["int_ok"] and st["n_inf"] == 0 and has_finite:
            lo, hi = int(st["min"]), int(st["max"])
            target = _smallest_int(lo, hi, 9, opt.int_ladder)
            if target is not None and st["n_nan"] == 0:
                plan = _Plan(
                    replace(
                        base,
                        new_dtype=target.name,
                        bytes_after=n * target.itemsize,
                        reason=f"exact: integral values in [{lo}, {hi}] fit {target.name}",
                    ),
                    "cast",
                    target,
                )
                options.append((n * target.itemsize, 0, plan))
            elif target is not None and allow_nullable:
                nb = n * (target.itemsize + 1)
                plan = _Plan(
                    replace(
                        base,
                        new_dtype=_nullable_name(target),
                        bytes_after=nb,
                        reason=(
                            f"exact: integral values in [{lo}, {hi}] with {st['n_nan']} missing "
                            f"-> nullable {_nullable_name(target)}"
                        ),
                    ),
                    "nullable",
                    target,
                )
                options.append((nb, 1, plan))
            elif target is not None:
                rejected.append(f"integers: {st['n_nan']} NaN ({why_no_nullable})")
        elif st["n_inf"]:
            rejected.append(f"integers: {st['n_inf']}+ infinite values")
        elif not has_finite and n:
            rejected.append("integers: no finite value")
        elif st["int_first"] >= 0:
            rejected.append("integers: " + _example(x, st["int_first"], "int"))
    for dt in opt.floats:
        if dt.itemsize >= old.itemsize:
            continue
        key = "f32" if dt == np.float32 else "f16"
        if st.get(f"{key}_skipped"):
            continue  # float16 holds every value: float32 was never in the running
        if st[f"{key}_ok"]:
            plan = _Plan(
                replace(
                    base,
                    new_dtype=dt.name,
                    bytes_after=n * dt.itemsize,
                    max_abs_error=st[f"{key}_abs"],
                    max_rel_error=st[f"{key}_rel"],
                    reason=(
                        "all values are NaN; kept as NaN"
                        if n and st["n_nan"] == n
                        else f"every value within {tol}"
                    ),
                ),
                "cast",
                dt,
            )
            options.append((n * dt.itemsize, 2, plan))
        else:
            bad = int(st[f"{key}_bad"])
            first = int(st[f"{key}_first"])
            # a failed candidate stops being checked, so the count is a lower bound
            rejected.append(
                f"{dt.name}: at least {bad} value{'s' if bad != 1 else ''} outside {tol}, "
                f"e.g. {_example(x, first, dt)}"
            )
    options = [o for o in options if o[0] < nbytes]
    if any(o[2].kind == "nullable" for o in options):
        # Integer columns with missing values become nullable ints even where float16 would be
        # a byte smaller: they are integers, and stay exact whatever their range.
        options = [o for o in options if o[2].kind == "nullable"]
    if options:
        options.sort(key=lambda o: (o[0], o[1]))
        best = options[0][2]
        if rejected:
            why = f"{best.report.reason} (not smaller: {'; '.join(rejected)})"
            best = replace(best, report=replace(best.report, reason=why))
        return best
    if not rejected:
        rejected.append("no smaller dtype was requested")
    return _Plan(replace(base, reason="kept: " + "; ".join(rejected)), "keep")


def _keep(name: str, dtype: Any, nbytes: int, reason: str) -> _Plan:
    return _Plan(ColumnReport(name, str(dtype), str(dtype), nbytes, nbytes, reason=reason), "keep")


def _plan_other_dtype(name: str, dtype: np.dtype, nbytes: int, size: int) -> _Plan:
    """Kept columns of dtypes that downcast does not shrink, each with its reason."""
    kind = dtype.kind
    if size == 0:
        return _keep(name, dtype, nbytes, "kept: empty, nothing to downcast")
    if kind == "b":
        return _keep(name, dtype, nbytes, "kept: bool is already 1 byte per value")
    if kind in "mM":
        return _keep(name, dtype, nbytes, f"kept: {dtype.name} has no smaller lossless dtype")
    if kind == "c":
        return _keep(
            name, dtype, nbytes, "kept: complex is not downcast (shrink .real and .imag yourself)"
        )
    if kind == "O":
        return _keep(
            name,
            dtype,
            nbytes,
            "kept: object dtype holds Python objects; convert to a numeric dtype first",
        )
    if kind in "SUV":
        return _keep(name, dtype, nbytes, f"kept: {dtype.name} is not numeric")
    return _keep(name, dtype, nbytes, f"kept: {dtype.name} is not supported")


# --------------------------------------------------------------------------------------------
# the scan: merged per-column stats from the numba kernels


def _tasks(lengths: Sequence[int], threads: int) -> np.ndarray:
    total = sum(lengths)
    chunk = max(_MIN_CHUNK, min(_MAX_CHUNK, -(-total // max(1, 4 * threads))))
    rows = [(j, s, min(s + chunk, n)) for j, n in enumerate(lengths) for s in range(0, n, chunk)]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def _scan_floats(
    arrays: Sequence[np.ndarray], opt: _Options, want_int: bool
) -> list[dict[str, Any]]:
    """Scan float32/float64 1-D arrays (any layout) and merge the per-chunk stats per array."""
    import numba

    from perfkit.memory import _scan as S

    threads = numba.get_num_threads()
    results: list[dict[str, Any] | None] = [None] * len(arrays)
    groups: dict[Any, list[int]] = {}
    for i, a in enumerate(arrays):
        if a.flags.c_contiguous:
            groups.setdefault(a.dtype, []).append(i)
        else:
            results[i] = _scan_strided(a, opt, want_int)
    f32_wanted = any(dt == np.float32 for dt in opt.floats)
    f16_wanted = any(dt == np.float16 for dt in opt.floats)
    for members in groups.values():
        cols = [arrays[i] for i in members]
        tasks = _tasks([c.size for c in cols], threads)
        alive = np.zeros((len(cols), 3), dtype=np.int8)
        alive[:, S.C_INT] = want_int
        alive[:, S.C_F32] = f32_wanted and cols[0].dtype == np.float64
        alive[:, S.C_F16] = f16_wanted
        stats = np.full((len(tasks), S.N_FLOAT_STATS), np.nan)
        if len(tasks):
            addrs = np.array([c.ctypes.data for c in cols], dtype=np.int64)
            lengths = np.array([c.size for c in cols], dtype=np.int64)
            like = np.empty(0, dtype=cols[0].dtype)
            S.scan_float(addrs, lengths, like, tasks, opt.rtol, opt.atol, alive, stats)
            if np.isnan(stats[:, S.F_DONE]).any():
                raise RuntimeError("the numba scan skipped chunks; please report this bug")
            _finish_float32(S, addrs, lengths, like, tasks, opt, alive, stats)
        for k, i in enumerate(members):
            rows = stats[tasks[:, 0] == k]
            done = bool(rows[:, S.F_DONE].all()) if len(rows) else True

            def first(col: int, rows: np.ndarray = rows) -> int:
                hits = rows[:, col][rows[:, col] >= 0]
                return int(hits.min()) if hits.size else -1

            results[i] = {
                "n_nan": int(rows[:, S.F_NAN].sum()),
                "n_inf": int(rows[:, S.F_INF].sum()),
                "min": float(rows[:, S.F_MIN].min()) if len(rows) else math.inf,
                "max": float(rows[:, S.F_MAX].max()) if len(rows) else -math.inf,
                "int_ok": bool(alive[k, S.C_INT]),
                "int_first": first(S.F_INT_FIRST),
                # float32 is only measured once float16 fails; while float16 holds it wins
                "f32_ok": bool(alive[k, S.C_F32]) and not alive[k, S.C_F16],
                "f32_skipped": bool(alive[k, S.C_F16]),
                "f32_abs": float(rows[:, S.F_32_ABS].max()) if len(rows) else 0.0,
                "f32_rel": float(rows[:, S.F_32_REL].max()) if len(rows) else 0.0,
                "f32_bad": int(rows[:, S.F_32_BAD].sum()),
                "f32_first": first(S.F_32_FIRST),
                "f16_ok": bool(alive[k, S.C_F16]),
                "f16_abs": float(rows[:, S.F_16_ABS].max()) if len(rows) else 0.0,
                "f16_rel": float(rows[:, S.F_16_REL].max()) if len(rows) else 0.0,
                "f16_bad": int(rows[:, S.F_16_BAD].sum()),
                "f16_first": first(S.F_16_FIRST),
                "done": done,
            }
    return [r for r in results if r is not None]


#: Scratch size for strided columns: they are scanned through a contiguous buffer this long.
_STRIDED_CHUNK = 1 << 20


def _finish_float32(S, addrs, lengths, like, tasks, opt, alive, stats) -> None:
    """Measure float32 on the chunks that skipped it while float16 was still open.

    The kernel checks float32 only once float16 has failed (a value within tolerance in
    float16 is within it in float32, and float16 wins when it holds). A chunk that finished
    before another chunk of its column failed float16 has not measured float32: it is
    scanned again here for float32 alone, so the figures of a float32 result cover every value.
    """
    col = tasks[:, 0]
    need = (
        (alive[col, S.C_F32] == 1)
        & (alive[col, S.C_F16] == 0)
        & (stats[:, S.F_32_UPTO] < tasks[:, 2])
    )
    if not need.any():
        return
    sub = tasks[need].copy()
    sub[:, 1] = stats[need, S.F_32_UPTO].astype(np.int64)
    sub_alive = np.zeros_like(alive)
    sub_alive[:, S.C_F32] = alive[:, S.C_F32]
    sub_stats = np.full((len(sub), S.N_FLOAT_STATS), np.nan)
    S.scan_float(addrs, lengths, like, sub, opt.rtol, opt.atol, sub_alive, sub_stats)
    rows = np.flatnonzero(need)
    for k, r in enumerate(rows):
        stats[r, S.F_32_BAD] += sub_stats[k, S.F_32_BAD]
        stats[r, S.F_32_ABS] = max(stats[r, S.F_32_ABS], sub_stats[k, S.F_32_ABS])
        stats[r, S.F_32_REL] = max(stats[r, S.F_32_REL], sub_stats[k, S.F_32_REL])
        if stats[r, S.F_32_FIRST] < 0:
            stats[r, S.F_32_FIRST] = sub_stats[k, S.F_32_FIRST]
    alive[:, S.C_F32] &= sub_alive[:, S.C_F32]


def _scan_strided(a: np.ndarray, opt: _Options, want_int: bool) -> dict[str, Any]:
    """Scan a non-contiguous column through a bounded contiguous buffer (no full copy)."""
    parts = []
    stopped = False
    for start in range(0, a.size, _STRIDED_CHUNK):
        piece = np.ascontiguousarray(a[start : start + _STRIDED_CHUNK])
        st = _scan_floats([piece], opt, want_int)[0]
        for key in ("int_first", "f32_first", "f16_first"):
            if st.get(key, -1) >= 0:
                st[key] += start
        parts.append((a, st))
        if not st["int_ok"] and not st["f32_ok"] and not st["f16_ok"]:
            stopped = start + _STRIDED_CHUNK < a.size
            break  # every candidate failed already
    merged, _ = _merge_piece_stats(_remeasure_float32(parts, opt, want_int))
    merged["done"] = merged["done"] and not stopped
    return merged


def _remeasure_float32(
    parts: list[tuple[np.ndarray, dict[str, Any]]], opt: _Options, want_int: bool
) -> list[tuple[np.ndarray, dict[str, Any]]]:
    """Pieces of one column that skipped float32 (float16 held there) while float16 failed in
    another piece: measure float32 on them now, so the merged float32 figures are complete."""
    if len(parts) < 2 or all(s.get("f16_ok") for _, s in parts):
        return parts
    if not any(s.get("f32_skipped") for _, s in parts):
        return parts
    no16 = replace(opt, floats=tuple(d for d in opt.floats if d != np.float16))
    out = []
    for p, s in parts:
        if s.get("f32_skipped"):
            again = _scan_floats([p], no16, False)[0] if p.flags.c_contiguous else None
            if again is None:
                again = _scan_strided(p, no16, False)
            s = {**s, **{k: v for k, v in again.items() if k.startswith("f32")}}
            s["f16_ok"] = False
        out.append((p, s))
    return out


def _scan_ints(arrays: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    """(min, max) of non-empty integer 1-D arrays, exactly (Python ints).

    NumPy's integer min/max are already SIMD and memory-bound, and release the GIL, so columns
    run in parallel on threads; a numba kernel would add one compile per integer dtype and
    layout for no speed.
    """
    return _parallel_map(lambda a: (int(a.min()), int(a.max())), list(arrays))


def _float16_stats(x: np.ndarray) -> dict[str, Any]:
    """Stats of a float16 column (numba has no CPU float16): only the int8 question is open."""
    f = x.astype(np.float32)  # float16 columns are small; the copy is half the size of float32
    finite = np.isfinite(f)
    vals = f[finite]
    integral = bool(np.all(vals == np.rint(vals))) and not bool(np.any((f == 0) & np.signbit(f)))
    bad = np.flatnonzero(finite & ((f != np.rint(f)) | ((f == 0) & np.signbit(f))))
    return {
        "n_nan": int(np.isnan(f).sum()),
        "n_inf": int(np.isinf(f).sum()),
        "min": float(vals.min()) if vals.size else math.inf,
        "max": float(vals.max()) if vals.size else -math.inf,
        "int_ok": integral,
        "int_first": int(bad[0]) if bad.size else -1,
        "f32_ok": False,
        "f16_ok": False,
        "done": True,
    }


# --------------------------------------------------------------------------------------------
# columns of each supported container


@dataclass
class _Column:
    """One logical column: a name and its values as 1-D NumPy pieces (views, never copies)."""

    name: str
    values: np.ndarray | None  # 1-D view for numeric NumPy-backed data
    dtype: Any
    nbytes: int
    size: int
    pieces: list[np.ndarray] = field(default_factory=list)
    source: Any = None  # the pandas/polars Series for non-NumPy dtypes


def _pieces(a: np.ndarray) -> list[np.ndarray]:
    """1-D views covering ``a`` (one view when ``a`` is contiguous; never a copy)."""
    if a.ndim == 1:
        return [a]
    if a.ndim == 0:
        return [a.reshape(1)]
    if a.flags.c_contiguous or a.flags.f_contiguous:
        return [a.ravel(order="K")]
    longest = int(np.argmax(a.shape))
    moved = np.moveaxis(a, longest, -1)
    return [moved[idx] for idx in np.ndindex(*moved.shape[:-1])]


def _plan_numeric(cols: Sequence[_Column], opt: _Options, allow_nullable: bool, why: str):
    """Plan every NumPy-backed numeric column: ints and floats through the numba scans."""
    plans: dict[int, _Plan] = {}
    for i, c in enumerate(cols):
        if c.values is not None and not c.dtype.isnative:
            plans[i] = _keep(
                c.name,
                c.dtype.str,
                c.nbytes,
                f"kept: non-native byte order ({c.dtype.str}); "
                f"convert with .astype('{c.dtype.newbyteorder('=').str}') first",
            )
    int_idx = [
        i
        for i, c in enumerate(cols)
        if c.values is not None and c.dtype.kind in "iu" and c.size and opt.ints and i not in plans
    ]
    float_idx = [
        i
        for i, c in enumerate(cols)
        if c.values is not None
        and c.dtype.kind == "f"
        and c.size
        and c.dtype.itemsize in (4, 8)
        and i not in plans
    ]
    if int_idx:
        pieces = [(i, p) for i in int_idx for p in cols[i].pieces]
        mm = _scan_ints([p for _, p in pieces])
        merged: dict[int, tuple[int, int]] = {}
        for (i, _), (lo, hi) in zip(pieces, mm, strict=True):
            a, b = merged.get(i, (lo, hi))
            merged[i] = (min(a, lo), max(b, hi))
        for i in int_idx:
            c = cols[i]
            plans[i] = _plan_int_array(c.name, c.values, *merged[i], opt)
    if float_idx:
        pieces = [(i, p) for i in float_idx for p in cols[i].pieces]
        stats = _scan_floats([p for _, p in pieces], opt, want_int=opt.ints)
        per: dict[int, list[tuple[np.ndarray, dict[str, Any]]]] = {}
        for (i, p), s in zip(pieces, stats, strict=True):
            per.setdefault(i, []).append((p, s))
        for i in float_idx:
            c = cols[i]
            st, x = _merge_piece_stats(_remeasure_float32(per[i], opt, opt.ints))
            plans[i] = _plan_float_array(c.name, x, st, opt, allow_nullable, why)
    for i, c in enumerate(cols):
        if i in plans:
            continue
        if c.values is not None and c.dtype.kind == "f" and c.dtype.itemsize == 2 and c.size:
            st = _float16_stats(c.values)
            plans[i] = _plan_float_array(c.name, c.values, st, opt, allow_nullable, why)
        elif c.values is not None and c.dtype.kind in "iu" and c.size:
            plans[i] = _plan_int_array(c.name, c.values, 0, 0, opt)  # ints=False
        elif isinstance(c.dtype, np.dtype):
            plans[i] = _plan_other_dtype(c.name, c.dtype, c.nbytes, c.size)
        else:  # a pandas/polars dtype: the front end plans it
            plans[i] = _keep(c.name, c.dtype, c.nbytes, "kept")
    return [plans[i] for i in range(len(cols))]


def _merge_piece_stats(
    parts: list[tuple[np.ndarray, dict[str, Any]]],
) -> tuple[dict[str, Any], np.ndarray]:
    """Merge the stats of one column's 1-D pieces (examples come from the first failing one)."""
    if len(parts) == 1:
        return parts[0][1], parts[0][0]
    st: dict[str, Any] = {
        "n_nan": sum(s["n_nan"] for _, s in parts),
        "n_inf": sum(s["n_inf"] for _, s in parts),
        "min": min(s["min"] for _, s in parts),
        "max": max(s["max"] for _, s in parts),
        "done": all(s["done"] for _, s in parts),
    }
    x = parts[0][0]
    for key in ("int", "f32", "f16"):
        st[f"{key}_ok"] = all(s.get(f"{key}_ok", False) for _, s in parts)
        st[f"{key}_skipped"] = all(s.get(f"{key}_skipped", False) for _, s in parts)
        st[f"{key}_abs"] = max(s.get(f"{key}_abs", 0.0) for _, s in parts)
        st[f"{key}_rel"] = max(s.get(f"{key}_rel", 0.0) for _, s in parts)
        st[f"{key}_bad"] = sum(s.get(f"{key}_bad", 0) for _, s in parts)
        st[f"{key}_first"] = -1
        for p, s in parts:
            if s.get(f"{key}_first", -1) >= 0:
                st[f"{key}_first"] = s[f"{key}_first"]
                if key != "int" or not st["int_ok"]:
                    x = p
                break
    return st, x


def _parallel_map(fn: Any, items: Sequence[Any]) -> list[Any]:
    """Run ``fn`` over ``items`` on a few threads (NumPy's reductions release the GIL)."""
    if len(items) < 2:
        return [fn(x) for x in items]
    import numba

    with ThreadPoolExecutor(max_workers=max(1, numba.get_num_threads())) as pool:
        return list(pool.map(fn, items))


def _finish(plans: Sequence[_Plan], opt: _Options, converted: bool, notes=()) -> DowncastReport:
    """Build the report; under strict, raise for the first column kept for lost values."""
    if opt.strict:
        for p in plans:
            r = p.report
            if not r.changed and r.reason.startswith("kept:") and _is_lossy_reason(r.reason):
                raise LossyDowncastError(
                    f"column {r.name!r} ({r.old_dtype}) cannot be shrunk within tolerance: "
                    f"{r.reason[len('kept: ') :]}",
                    "loosen rtol/atol, allow another dtype in floats, or drop strict=True",
                )
    return DowncastReport(
        columns=tuple(p.report for p in plans),
        rtol=opt.rtol,
        atol=opt.atol,
        converted=converted,
        notes=tuple(notes),
    )


def _is_lossy_reason(reason: str) -> bool:
    return " outside rtol=" in reason or "integers:" in reason
