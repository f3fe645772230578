"""Hypothesis properties of the kernels: invariants that hold for any price series."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from perfkit.indicators import compute

prices = arrays(
    np.float64,
    st.integers(min_value=1, max_value=120),
    elements=st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
)
windows = st.integers(min_value=2, max_value=30)
FAST = settings(max_examples=60, deadline=None)


@FAST
@given(
    value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    n=windows,
    size=st.integers(1, 80),
)
def test_sma_of_constant_is_the_constant(value: float, n: int, size: int) -> None:
    out = compute({"close": np.full(size, value)}, f"sma:{n},ema:{n}", backend="serial")
    for arr in out.values():
        assert np.isnan(arr[: n - 1]).all()
        np.testing.assert_allclose(arr[n - 1 :], value, rtol=1e-12, atol=1e-300)


@FAST
@given(x=prices, n=windows)
def test_rsi_is_between_0_and_100(x: np.ndarray, n: int) -> None:
    rsi = compute({"close": x}, f"rsi:{n}", backend="serial")[f"rsi_{n}"]
    ok = ~np.isnan(rsi)
    assert ((rsi[ok] >= 0.0) & (rsi[ok] <= 100.0)).all()
    assert ok.sum() == max(0, len(x) - n)


@FAST
@given(x=prices, n=windows, k=st.floats(min_value=0.1, max_value=4.0))
def test_bollinger_upper_mid_lower_are_ordered(x: np.ndarray, n: int, k: float) -> None:
    out = compute({"close": x}, f"bbands:{n},{k}", backend="serial")
    mid, up, lo = (out[name] for name in sorted(out, key=lambda s: ("mid" not in s, "up" not in s)))
    ok = ~np.isnan(mid)
    assert (up[ok] >= mid[ok]).all() and (mid[ok] >= lo[ok]).all()


@FAST
@given(x=prices, n=windows)
def test_rolling_min_max_bound_the_window(x: np.ndarray, n: int) -> None:
    out = compute({"close": x}, f"min:{n},max:{n}", backend="serial")
    for t in range(n - 1, len(x)):
        win = x[t - n + 1 : t + 1]
        assert out[f"min_{n}"][t] == win.min() and out[f"max_{n}"][t] == win.max()


@FAST
@given(x=prices)
def test_stochastic_is_between_0_and_100(x: np.ndarray) -> None:
    out = compute({"close": x, "high": x * 1.01, "low": x * 0.99}, "stoch:5,3,3", backend="serial")
    for arr in out.values():
        ok = ~np.isnan(arr)
        assert ((arr[ok] >= -1e-9) & (arr[ok] <= 100 + 1e-9)).all()


# values that stress the one-series min/max path: ties of 0.0 and -0.0, NaN gaps, +-inf, and
# long monotone runs (the four-blocks-in-lockstep loop runs only on a NaN/inf-free series)
_ODD = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, np.nan, np.inf, -np.inf])


@FAST
@given(
    x=st.one_of(
        arrays(np.float64, st.integers(1, 200), elements=_ODD),
        arrays(np.float64, st.integers(1, 300), elements=st.floats(-1e6, 1e6)),
        st.integers(1, 300).map(lambda k: np.arange(k, 0, -1.0)),
    ),
    n=st.integers(1, 40),
)
def test_one_series_min_max_equals_the_panel_loop_bit_for_bit(x: np.ndarray, n: int) -> None:
    from perfkit.indicators import kernels

    for kernel in (kernels.k_min, kernels.k_max):
        one = np.full((x.size, 1), 7.0)
        kernel(*[x.reshape(-1, 1)] * 4, one, one, one, float(n), 0.0, 0.0, 0, 1, 0, x.size)
        two = np.full((x.size, 2), 7.0)  # two lanes: the panel's van Herk loop
        xx = np.repeat(x.reshape(-1, 1), 2, axis=1)
        kernel(*[xx] * 4, two, two, two, float(n), 0.0, 0.0, 0, 2, 0, x.size)
        got, want = one[:, 0], two[:, 0]
        assert np.array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        assert np.array_equal(got[ok].view(np.int64), want[ok].view(np.int64))  # 0.0 vs -0.0 too
        win = np.lib.stride_tricks.sliding_window_view(x, n) if x.size >= n else x[:0, None]
        with np.errstate(invalid="ignore"):
            ref = win.max(axis=1) if kernel is kernels.k_max else win.min(axis=1)
        np.testing.assert_array_equal(got[n - 1 :], ref)
        assert np.isnan(got[: n - 1]).all()


@FAST
@given(
    n_bars=st.integers(4_000, 12_000),
    n=st.integers(1, 70),
    odd=st.lists(st.tuples(st.floats(0.0, 1.0), _ODD), max_size=4),
    seed=st.integers(0, 2**16),
)
def test_long_one_series_min_max_with_late_odd_values_equals_the_panel_loop(
    n_bars: int, n: int, odd: list[tuple[float, float]], seed: int
) -> None:
    """Series long enough for several probed chunks of the lockstep loop, with NaN/inf/0.0
    placed anywhere (often after clean chunks): the switch to the per-block loop mid-series
    must give the panel loop's bits."""
    from perfkit.indicators import kernels

    x = np.round(np.random.default_rng(seed).normal(0, 3, n_bars))  # many ties, 0.0 and -0.0
    x[x == 0] = -0.0 if seed % 2 else 0.0
    for where, value in odd:
        x[int(where * (n_bars - 1))] = value
    for kernel in (kernels.k_min, kernels.k_max):
        one = np.full((n_bars, 1), 7.0)
        kernel(*[x.reshape(-1, 1)] * 4, one, one, one, float(n), 0.0, 0.0, 0, 1, 0, n_bars)
        two = np.full((n_bars, 2), 7.0)
        xx = np.repeat(x.reshape(-1, 1), 2, axis=1)
        kernel(*[xx] * 4, two, two, two, float(n), 0.0, 0.0, 0, 2, 0, n_bars)
        got, want = one[:, 0], two[:, 0]
        assert np.array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        assert np.array_equal(got[ok].view(np.int64), want[ok].view(np.int64))


@settings(max_examples=25, deadline=None)
@given(
    n_bars=st.integers(8_000, 20_000),
    params=st.tuples(st.integers(1, 40), st.integers(1, 6), st.integers(1, 6)),
    odd=st.lists(st.tuples(st.sampled_from([0, 1, 2]), st.floats(0.0, 1.0), _ODD), max_size=4),
    seed=st.integers(0, 2**16),
)
def test_long_one_series_stoch_equals_the_panel_loop(
    n_bars: int, params: tuple[int, int, int], odd: list[tuple[int, float, float]], seed: int
) -> None:
    """One series runs STOCH fused in chunks of 8 192 bars (extremes into scratch, then the
    tail); the panel runs it unfused. Across chunk boundaries, with NaN/inf/flat windows
    anywhere, both give the same bits and the same inf proof."""
    from perfkit.indicators import kernels

    rng = np.random.default_rng(seed)
    close = np.round(100 + np.cumsum(rng.normal(0, 1, n_bars)), 1)  # flat windows happen
    fields = [close.copy(), close + np.round(rng.random(n_bars), 1), close - 0.5]
    for which, where, value in odd:
        fields[which][int(where * (n_bars - 1))] = value
    c, h, lo = fields
    p = [float(v) for v in params]
    one = [np.full((n_bars, 1), 7.0) for _ in range(3)]
    r1 = kernels.k_stoch(*[a.reshape(-1, 1) for a in (c, h, lo, c)], *one, *p, 0, 1, 0, n_bars)
    two = [np.full((n_bars, 2), 7.0) for _ in range(3)]
    wide = [np.repeat(a.reshape(-1, 1), 2, axis=1) for a in (c, h, lo, c)]
    kernels.k_stoch(*wide, *two, *p, 0, 2, 0, n_bars)
    for got, want in zip(one[:2], two[:2], strict=True):
        assert np.array_equal(got[:, 0].view(np.int64), want[:, 0].view(np.int64))
    has_inf = any(np.isinf(a).any() for a in (c, h, lo))
    if not has_inf:
        assert r1 == 0.0  # no inf: the kernel's proof holds
