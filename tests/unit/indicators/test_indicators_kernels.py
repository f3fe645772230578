"""Every kernel against TA-Lib (values to 1e-9 relative, identical NaN positions) and pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfkit.indicators import compute, parse_spec
from perfkit.indicators.reference import LOOPS, pandas_indicator

talib = pytest.importorskip("talib")

SPECS = [
    "sma:20",
    "sma:1",
    "ema:20",
    "ema:1",
    "wma:10",
    "rsi:14",
    "macd:12,26,9",
    "bbands:20,2",
    "atr:14",
    "atr:1",
    "stoch:14,3,3",
    "obv",
    "std:20",
    "zscore:20",
    "roc:10",
    "logret",
    "min:20",
    "max:20",
]


def talib_outputs(spec: str, d: dict[str, np.ndarray]) -> list[np.ndarray]:
    """What TA-Lib (or a TA-Lib composition, where it has no such function) returns."""
    sp = parse_spec(spec)
    p = [int(x) if float(x).is_integer() else float(x) for x in sp.params]
    return sp.definition.talib_call(talib, d, p)


def assert_matches(got: np.ndarray, want: np.ndarray, label: str, scale: float) -> None:
    """Identical NaN positions; values within 1e-9 relative (absolute floor: 1e-9 * scale)."""
    gn, wn = np.isnan(got), np.isnan(want)
    assert np.array_equal(gn, wn), (
        f"{label}: NaN positions differ at {np.flatnonzero(gn != wn)[:5]}"
    )
    ok = ~gn
    err = np.abs(got[ok] - want[ok])
    tol = 1e-9 * np.maximum(np.abs(want[ok]), scale)
    assert (err <= tol).all(), f"{label}: max error {err.max():.3g} (tolerance {tol.min():.3g})"


# MIN/MAX/STOCH differ from TA-Lib inside gaps by design (see kernels' docstring).
GAP_DIFFERS = {"min", "max", "stoch"}


@pytest.mark.parametrize("spec", SPECS)
def test_kernel_matches_talib(spec: str, dataset: tuple[str, dict]) -> None:
    kind, d = dataset
    if kind == "nan_gaps" and parse_spec(spec).name in GAP_DIFFERS:
        d = {k: v[:290].copy() for k, v in d.items()}  # leading NaNs only
    got = compute(d, spec, backend="serial")
    want = talib_outputs(spec, d)
    scale = float(np.nanmax(np.abs(d["close"]))) * 1e-6
    if parse_spec(spec).name in ("rsi", "stoch", "roc", "logret", "zscore"):
        scale = 1e-6  # unitless outputs
    if parse_spec(spec).name == "obv":
        scale = 1.0
    for name, w in zip(parse_spec(spec).outputs, want, strict=True):
        assert_matches(got[name], w, f"{spec}/{name} on {kind}", scale)


@pytest.mark.parametrize("spec", SPECS)
def test_kernel_matches_pandas_reference(spec: str) -> None:
    d = {k: v[:, None] for k, v in DATA_FOR_REF.items()}
    got = compute(d, spec, backend="serial")
    ref = pandas_indicator(spec, {k: pd.DataFrame(v) for k, v in d.items()})
    for name in parse_spec(spec).outputs:
        assert_matches(got[name][:, 0], ref[name].to_numpy()[:, 0], f"{spec}/{name}", 1e-6)


def _ref_data() -> dict[str, np.ndarray]:
    from conftest import ohlcv

    return ohlcv(400, seed=9)


DATA_FOR_REF = _ref_data()


@pytest.mark.parametrize("spec", sorted(LOOPS))
def test_pure_python_loops_match_kernels(spec: str) -> None:
    x = DATA_FOR_REF["close"]
    out = LOOPS[spec](list(x))
    out = out if isinstance(out, tuple) else (out,)
    got = compute({"close": x}, spec, backend="serial")
    for name, vals in zip(parse_spec(spec).outputs, out, strict=True):
        assert_matches(got[name], np.asarray(vals), f"loop {spec}", 1e-6)


def test_panel_lanes_equal_single_series() -> None:
    """A panel (several lanes per kernel call) gives each instrument its one-series result,
    bit for bit (the one-series loops are separate code: unsigned indices, registers)."""
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (6000, 7)), axis=0))
    close[:40, 2] = np.nan  # lanes start at different bars
    close[:3, 5] = np.nan
    close[4000, 6] = np.nan  # a gap after clean chunks
    spec = (
        "sma:20,ema:10,wma:8,rsi:14,macd:12,26,9,bbands:20,2,std:10,zscore:10,roc:5,"
        "atr:14,min:20,max:20,stoch:5,3,3,obv,logret:1"
    )
    fields = {"close": close, "high": close * 1.01, "low": close * 0.99, "volume": close * 0 + 3}
    panel = compute(fields, spec, backend="serial")
    for j in range(close.shape[1]):
        single = compute({k: v[:, j] for k, v in fields.items()}, spec, backend="serial")
        for name, arr in single.items():
            np.testing.assert_array_equal(panel[name][:, j], arr, err_msg=name)


def test_edge_rules() -> None:
    x = DATA_FOR_REF["close"]
    out = compute({"close": x}, "ema:1,rsi:14,macd:12,26,9,ema:12,ema:26", backend="serial")
    np.testing.assert_array_equal(out["ema_1"], x)  # EMA(1) is a copy
    flat = compute({"close": np.full(50, 3.0)}, "rsi:14", backend="serial")["rsi_14"]
    assert np.isnan(flat[:14]).all() and (flat[14:] == 0.0).all()  # RSI of a flat series is 0
    assert np.isnan(out["macd_12_26_9"][:33]).all() and not np.isnan(out["macd_12_26_9"][33])
    naive = out["ema_12"] - out["ema_26"]
    assert np.nanmax(np.abs(out["macd_12_26_9"][33:60] - naive[33:60])) > 1e-6  # late seed


def test_series_shorter_than_window_is_all_nan() -> None:
    out = compute({"close": np.arange(1.0, 6.0)}, "sma:20,rsi:14,macd:12,26,9", backend="serial")
    assert all(np.isnan(v).all() for v in out.values())


def test_nan_restart_restarts_the_window_after_a_gap() -> None:
    x = DATA_FOR_REF["close"].copy()
    x[100:103] = np.nan
    spec = "sma:10,ema:10,rsi:14,atr:5"
    d = {"close": x, "high": x * 1.01, "low": x * 0.99}
    prop = compute(d, spec, backend="serial")
    rest = compute(d, spec, backend="serial", nan="restart")
    assert np.isnan(prop["sma_10"][103:]).all()  # TA-Lib: the gap propagates
    # restart: the part after the gap is computed as a fresh series
    after = compute({k: v[103:] for k, v in d.items()}, spec, backend="serial")
    before = compute({k: v[:100] for k, v in d.items()}, spec, backend="serial")
    for name in rest:
        np.testing.assert_array_equal(rest[name][103:], after[name])
        np.testing.assert_array_equal(rest[name][:100], before[name])
        assert np.isnan(rest[name][100:103]).all()
    assert np.isnan(rest["sma_10"][103:112]).all() and not np.isnan(rest["sma_10"][112])
