"""The one-series kernels prove every field they read free of +-inf (so compute() skips its
scan), and an inf anywhere in such a field is still refused, naming the field and the bar."""

from __future__ import annotations

import numpy as np
import pytest

from perfkit.errors import UsageError
from perfkit.indicators import compute, parallel, parse_spec
from perfkit.indicators.specs import parse_specs

ONE_SERIES = ["obv", "atr:5", "roc:3", "logret:2", "min:4", "max:4", "stoch:5,3,3", "wma:4"]


def _series(n: int = 300) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    close = 100 + np.cumsum(rng.normal(size=n))
    return {
        "close": close,
        "high": close + rng.random(n),
        "low": close - rng.random(n),
        "volume": rng.random(n) * 1000,
    }


@pytest.mark.parametrize("spec", ONE_SERIES)
def test_clean_series_is_proven_for_every_field_read(spec: str) -> None:
    d = {k: v.reshape(-1, 1) for k, v in _series().items()}
    specs = parse_specs(spec)
    outs = {name: np.empty_like(d["close"]) for name in specs[0].outputs}
    proven = parallel.compute_batch(d, outs, specs, 0, 1)
    assert set(proven) == set(specs[0].fields)
    assert all(v == 1 for v in proven.values())


@pytest.mark.parametrize("spec", ONE_SERIES)
@pytest.mark.parametrize("where", [0, 1, 150, 299])
def test_inf_in_any_field_read_is_refused(spec: str, where: int) -> None:
    for field in parse_spec(spec).fields:
        d = _series()
        d[field] = d[field].copy()
        d[field][where] = np.inf if where % 2 else -np.inf
        if where == 0 and field != "close":
            d["close"] = d["close"].copy()
            d["close"][0] = np.nan  # the row before the first valid bar: no kernel reads it
        msg = f"field '{field}' holds an infinite value at bar {where}"
        with pytest.raises(UsageError, match=msg):
            compute(d, spec, backend="serial")


def test_wma_inf_that_left_the_window_before_a_resum_is_refused() -> None:
    # WMA re-sums every 8*n outputs from a fresh window: the inf at bar 5 has left that
    # window by then, so only the checksum taken before the re-sum can still see it
    x = _series(400)["close"]
    x[5] = np.inf
    with pytest.raises(UsageError, match="infinite value at bar 5"):
        compute({"close": x}, "wma:4", backend="serial")


def test_zero_price_gives_talib_results_not_an_exception() -> None:
    talib = pytest.importorskip("talib")
    x = _series(60)["close"]
    x[20] = 0.0
    out = compute({"close": x}, "roc:3,logret:2", backend="serial")
    np.testing.assert_allclose(out["roc_3"], talib.ROC(x, 3), rtol=1e-12, equal_nan=True)
    ln = talib.LN(x)
    want = np.full_like(x, np.nan)
    want[2:] = ln[2:] - ln[:-2]
    got = out["logret_2"]
    assert np.array_equal(np.isinf(got), np.isinf(want))
    ok = np.isfinite(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9)


@pytest.mark.parametrize("params", [(5, 1, 3), (5, 3, 1), (2, 7, 4), (1, 1, 1), (9, 4, 5)])
def test_fused_stoch_matches_talib_and_the_panel_path(params: tuple[int, int, int]) -> None:
    talib = pytest.importorskip("talib")
    d = _series(500)
    spec = "stoch:{},{},{}".format(*params)
    got = compute(d, spec, backend="serial")
    k, dd = talib.STOCH(d["high"], d["low"], d["close"], params[0], params[1], 0, params[2], 0)
    for g, w in zip(got.values(), (k, dd), strict=True):
        assert np.array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_allclose(g[~np.isnan(w)], w[~np.isnan(w)], rtol=1e-9, atol=1e-9)
    panel = compute({f: np.stack([v, v[::-1]], 1) for f, v in d.items()}, spec, backend="serial")
    for name, arr in got.items():
        np.testing.assert_array_equal(panel[name][:, 0], arr)  # same bits, one lane or many
