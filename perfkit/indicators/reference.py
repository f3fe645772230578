"""Plain NumPy/pandas and pure-Python versions of the indicators: baselines and a second oracle.

``pandas_indicator(spec, frames)`` is how one would write each indicator with pandas
``rolling``/``ewm`` on wide frames (time index, instrument columns), following TA-Lib's
conventions (SMA-seeded EMA, Wilder smoothing, population std) on NaN-free data. The
``loop_*`` functions are the pure-Python loops that numba replaces (one series, lists of
floats); they exist to be timed, and to show the algorithm in its plainest form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from perfkit.indicators.specs import IndicatorSpec


def _seeded_ewm(df: Any, n: int, alpha: float) -> Any:
    """EWM with TA-Lib's seed: the first output (row n-1) is the SMA of the first n rows."""
    seed = df.rolling(n).mean()
    start = df.copy()
    start.iloc[: n - 1] = np.nan
    start.iloc[n - 1] = seed.iloc[n - 1]
    return start.ewm(alpha=alpha, adjust=False, ignore_na=False).mean().where(seed.notna().cummax())


def pandas_indicator(spec: str | IndicatorSpec, frames: Mapping[str, Any]) -> dict[str, Any]:
    """Compute one indicator with pandas on wide frames; returns output name -> DataFrame.

    Parameters
    ----------
    spec
        An indicator spec (``"sma:20"``).
    frames
        ``close`` (and ``high``, ``low``, ``volume`` where needed) as wide DataFrames.
    """
    from perfkit.indicators.specs import parse_spec

    sp = spec if isinstance(spec, IndicatorSpec) else parse_spec(spec)
    p = [int(x) if float(x).is_integer() else float(x) for x in sp.params]
    res = sp.definition.reference(frames, *p)
    return dict(zip(sp.outputs, res, strict=True))


# One reference per indicator of the table: ``ref_<name>(frames, *params) -> [frame per output]``
def ref_sma(f: Mapping[str, Any], n: int) -> list[Any]:
    return [f["close"].rolling(n).mean()]


def ref_ema(f: Mapping[str, Any], n: int) -> list[Any]:
    return [_seeded_ewm(f["close"], n, 2.0 / (n + 1))]


def ref_wma(f: Mapping[str, Any], n: int) -> list[Any]:
    w = np.arange(1, n + 1, dtype=float)
    return [f["close"].rolling(n).apply(lambda a: float(np.dot(a, w)) / w.sum(), raw=True)]


def ref_rsi(f: Mapping[str, Any], n: int) -> list[Any]:
    c = f["close"]
    d = c.diff()
    up = _seeded_ewm(d.clip(lower=0).iloc[1:], n, 1.0 / n)
    dn = _seeded_ewm((-d).clip(lower=0).iloc[1:], n, 1.0 / n)
    tot = up + dn
    rsi = (100.0 * up / tot).where(tot > 0, 0.0).where(tot.notna())
    return [rsi.reindex(c.index)]


def ref_macd(f: Mapping[str, Any], fast: int, slow: int, sig: int) -> list[Any]:
    c = f["close"]
    fe = _seeded_ewm(c.iloc[slow - fast :], fast, 2.0 / (fast + 1)).reindex(c.index)
    se = _seeded_ewm(c, slow, 2.0 / (slow + 1))
    line = fe - se
    signal = _seeded_ewm(line.iloc[slow - 1 :], sig, 2.0 / (sig + 1)).reindex(c.index)
    line = line.where(signal.notna())
    return [line, signal, line - signal]


def _mean_std(f: Mapping[str, Any], n: int) -> tuple[Any, Any]:
    c = f["close"]
    return c.rolling(n).mean(), c.rolling(n).std(ddof=0)


def ref_bbands(f: Mapping[str, Any], n: int, k: float) -> list[Any]:
    mid, sd = _mean_std(f, n)
    return [mid, mid + k * sd, mid - k * sd]


def ref_std(f: Mapping[str, Any], n: int) -> list[Any]:
    return [_mean_std(f, n)[1]]


def ref_zscore(f: Mapping[str, Any], n: int) -> list[Any]:
    mid, sd = _mean_std(f, n)
    return [((f["close"] - mid) / sd).where(sd > 0)]


def ref_atr(f: Mapping[str, Any], n: int) -> list[Any]:
    import pandas as pd

    c, h, lo = f["close"], f["high"], f["low"]
    prev = c.shift(1)
    tr = pd.concat([h - lo, (prev - h).abs(), (prev - lo).abs()]).groupby(level=0).max()
    tr = tr.reindex(c.index).iloc[1:]
    return [(tr if n == 1 else _seeded_ewm(tr, n, 1.0 / n)).reindex(c.index)]


def ref_stoch(f: Mapping[str, Any], fastk: int, slowk: int, slowd: int) -> list[Any]:
    c, h, lo = f["close"], f["high"], f["low"]
    hh = h.rolling(fastk).max()
    ll = lo.rolling(fastk).min()
    rng = hh - ll
    raw = (100.0 * (c - ll) / rng).where(rng != 0, 0.0).where(rng.notna())
    k = raw.rolling(slowk).mean()
    d = k.rolling(slowd).mean()
    return [k.where(d.notna()), d]


def ref_obv(f: Mapping[str, Any]) -> list[Any]:
    c, v = f["close"], f["volume"]
    sign = np.sign(c.diff()).fillna(0.0)
    signed = (sign * v).astype(float)
    signed.iloc[0] = v.iloc[0]
    return [signed.cumsum()]


def ref_roc(f: Mapping[str, Any], n: int) -> list[Any]:
    c = f["close"]
    old = c.shift(n)
    return [((c / old - 1.0) * 100.0).where(old != 0, 0.0).where(old.notna())]


def ref_logret(f: Mapping[str, Any], lag: int) -> list[Any]:
    c = f["close"]
    return [np.log(c / c.shift(lag))]


def ref_min(f: Mapping[str, Any], n: int) -> list[Any]:
    return [f["close"].rolling(n).min()]


def ref_max(f: Mapping[str, Any], n: int) -> list[Any]:
    return [f["close"].rolling(n).max()]


def pandas_compute(specs: Sequence[str | IndicatorSpec], frames: Mapping[str, Any]) -> dict:
    """Every spec with pandas, merged into one dict (the baseline of the pandas cases)."""
    out: dict[str, Any] = {}
    for spec in specs:
        out.update(pandas_indicator(spec, frames))
    return out


# ------------------------------------------------------------------------------------------
# pure-Python loops (one series): what numba compiles away
# ------------------------------------------------------------------------------------------
def loop_sma(x: Sequence[float], n: int) -> list[float]:
    """Simple moving average, TA-Lib's lookback (n-1 leading NaNs)."""
    out = [math.nan] * len(x)
    total = 0.0
    for i, v in enumerate(x):
        total += v
        if i >= n:
            total -= x[i - n]
        if i >= n - 1:
            out[i] = total / n
    return out


def loop_ema(x: Sequence[float], n: int) -> list[float]:
    """EMA seeded with the SMA of the first window."""
    out = [math.nan] * len(x)
    if len(x) < n:
        return out
    k = 2.0 / (n + 1)
    prev = sum(x[:n]) / n
    out[n - 1] = prev
    for i in range(n, len(x)):
        prev = (x[i] - prev) * k + prev
        out[i] = prev
    return out


def loop_rsi(x: Sequence[float], n: int) -> list[float]:
    """Wilder's RSI; 0 where there was no movement at all (TA-Lib's rule)."""
    out = [math.nan] * len(x)
    if len(x) <= n:
        return out
    gain = loss = 0.0
    for i in range(1, n + 1):
        d = x[i] - x[i - 1]
        if d < 0:
            loss -= d
        else:
            gain += d
    gain /= n
    loss /= n
    out[n] = 100.0 * gain / (gain + loss) if gain + loss > 0 else 0.0
    for i in range(n + 1, len(x)):
        d = x[i] - x[i - 1]
        gain = (gain * (n - 1) + (d if d > 0 else 0.0)) / n
        loss = (loss * (n - 1) + (-d if d < 0 else 0.0)) / n
        out[i] = 100.0 * gain / (gain + loss) if gain + loss > 0 else 0.0
    return out


def loop_rolling_max(x: Sequence[float], n: int) -> list[float]:
    """Rolling maximum by rescanning each window: O(n * window)."""
    out = [math.nan] * len(x)
    for i in range(n - 1, len(x)):
        out[i] = max(x[i - n + 1 : i + 1])
    return out


def loop_bbands(x: Sequence[float], n: int, k: float) -> tuple[list[float], ...]:
    """Bollinger bands (population std) by recomputing each window."""
    mid = [math.nan] * len(x)
    up = [math.nan] * len(x)
    lo = [math.nan] * len(x)
    for i in range(n - 1, len(x)):
        win = x[i - n + 1 : i + 1]
        m = sum(win) / n
        sd = math.sqrt(max(sum((v - m) ** 2 for v in win) / n, 0.0))
        mid[i], up[i], lo[i] = m, m + k * sd, m - k * sd
    return mid, up, lo


#: spec -> pure-Python loop taking (list, *params) and returning one list or a tuple of lists
LOOPS = {
    "sma:20": lambda x: loop_sma(x, 20),
    "ema:20": lambda x: loop_ema(x, 20),
    "rsi:14": lambda x: loop_rsi(x, 14),
    "max:20": lambda x: loop_rolling_max(x, 20),
    "bbands:20,2": lambda x: loop_bbands(x, 20, 2.0),
}
