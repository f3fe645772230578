"""Property tests: after downcast every value is within tolerance, and the report's errors are
the true maxima, over random arrays of every numeric dtype with NaN, inf and extremes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from perfkit.memory import _scan
from perfkit.memory.downcast import downcast, plan_downcast

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOATS = ["float16", "float32", "float64"]

# Values near the traps: float16's range and subnormals, float32's 2**24, int8's endpoints.
SPECIAL = [
    0.0, -0.0, np.nan, np.inf, -np.inf, 65504.0, 65519.0, 65520.0, 6e-5, 6.1e-5, 2.0**-24,
    2.0**-25, 1e-8, 1e-310, 16777216.0, 16777217.0, -128.0, 127.0, 128.0, 2049.0, 12345.6789,
    3.4028235e38, 1e300,
]  # fmt: skip


def _arrays(dtype: str) -> st.SearchStrategy[np.ndarray]:
    dt = np.dtype(dtype)
    elements = hnp.from_dtype(dt)
    if dt.kind == "f":
        specials = [v for v in SPECIAL if not np.isfinite(v) or abs(v) <= float(np.finfo(dt).max)]
        elements = st.one_of(elements, st.sampled_from(specials))
    return hnp.arrays(dt, st.integers(1, 40), elements=elements)


def _check(x: np.ndarray, small: np.ndarray, report, rtol: float, atol: float) -> None:
    col = report.columns[0]
    assert small.shape == x.shape
    if x.dtype.kind in "iu":
        assert small.dtype.kind in "iu"
        assert small.tolist() == x.tolist()
        assert col.max_abs_error == 0.0 and col.max_rel_error == 0.0
        return
    a = x.astype(np.float64)
    y = small.astype(np.float64)
    assert np.array_equal(np.isnan(a), np.isnan(y)), "NaN where NaN was"
    inf = np.isinf(a)
    assert np.array_equal(a[inf], y[inf]), "inf kept"
    zero = a == 0
    assert np.array_equal(np.signbit(a[zero]), np.signbit(y[zero])), "signed zeros kept"
    fin = np.isfinite(a)
    err = np.abs(y[fin] - a[fin])
    assert np.all(err <= atol + rtol * np.abs(a[fin])), "every value within tolerance"
    true_abs = float(err.max()) if err.size else 0.0
    nz = a[fin] != 0
    true_rel = float((err[nz] / np.abs(a[fin][nz])).max()) if nz.any() else 0.0
    assert col.max_abs_error == true_abs
    assert col.max_rel_error == true_rel


@settings(max_examples=120, deadline=None)
@given(
    data=st.data(),
    dtype=st.sampled_from(INTS + FLOATS),
    rtol=st.sampled_from([0.0, 1e-6, 1e-3]),
    atol=st.sampled_from([0.0, 1e-9]),
)
def test_every_value_within_tolerance_and_errors_are_true_maxima(data, dtype, rtol, atol):
    x = data.draw(_arrays(dtype))
    original = x.copy()
    small, report = downcast(x, rtol=rtol, atol=atol)
    assert np.array_equal(x, original, equal_nan=x.dtype.kind == "f"), "input untouched"
    _check(x, small, report, rtol, atol)
    assert plan_downcast(x, rtol=rtol, atol=atol).columns == report.columns


@settings(max_examples=60, deadline=None)
@given(data=st.data(), rtol=st.sampled_from([1e-6, 1e-3]))
def test_per_column_guarantee_on_2d_arrays(data, rtol):
    x = data.draw(
        hnp.arrays(
            np.float64,
            st.tuples(st.integers(1, 12), st.integers(1, 4)),
            elements=st.one_of(hnp.from_dtype(np.dtype("float64")), st.sampled_from(SPECIAL)),
        )
    )
    cols, report = downcast(x, rtol=rtol, axis=0)
    for j, (c, col_report) in enumerate(zip(cols, report.columns, strict=True)):

        class _One:
            columns = (col_report,)

        _check(x[:, j], c, _One, rtol, 0.0)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.floats(allow_nan=False, width=64), st.sampled_from(SPECIAL[1:])))
def test_float16_rounding_has_numpy_error(v):
    """The kernel's float16 rounding errs exactly as much as NumPy's cast (ties aside, equal)."""
    ours = _scan.round_f16_array(np.array([v]))[0]
    with np.errstate(over="ignore"):
        ref = float(np.float16(v))
    if np.isnan(ref):
        assert np.isnan(ours)
    elif np.isinf(ref):
        assert ours == ref
    else:
        assert abs(ours - v) == abs(ref - v)


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        st.sampled_from([np.float64, np.float32]),
        st.integers(1, 30),
        elements=st.one_of(st.floats(width=32), st.sampled_from(SPECIAL[:-2])),
    )
)
def test_float16_conversion_kernel_is_bit_exact(x):
    with np.errstate(over="ignore"):
        ref = x.astype(np.float16)
    out = np.empty(x.size, dtype=np.uint16)
    _scan.to_float16_bits(x.ctypes.data, x.size, np.empty(0, dtype=x.dtype), out)
    assert np.array_equal(out, ref.view(np.uint16))


def test_large_float16_conversion_uses_the_kernel_and_matches_numpy():
    from perfkit.memory.downcast import _MIN_CHUNK, _to_float16

    x = np.linspace(-70000.0, 70000.0, 2 * _MIN_CHUNK + 3)
    x[::7] = 1e-7  # float16 subnormals
    x[5] = np.nan
    with np.errstate(over="ignore"):
        ref = x.astype(np.float16)
    assert np.array_equal(_to_float16(x).view(np.uint16), ref.view(np.uint16))
