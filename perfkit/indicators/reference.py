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

from perfkit.indicators.specs import IndicatorSpec, parse_spec


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
    import pandas as pd

    sp = spec if isinstance(spec, IndicatorSpec) else parse_spec(spec)
    c = frames["close"]
    p = [int(x) if float(x).is_integer() else float(x) for x in sp.params]
    name = sp.name
    if name == "sma":
        res = [c.rolling(p[0]).mean()]
    elif name == "ema":
        res = [_seeded_ewm(c, p[0], 2.0 / (p[0] + 1))]
    elif name == "wma":
        w = np.arange(1, p[0] + 1, dtype=float)
        res = [c.rolling(p[0]).apply(lambda a: float(np.dot(a, w)) / w.sum(), raw=True)]
    elif name == "rsi":
        d = c.diff()
        up = _seeded_ewm(d.clip(lower=0).iloc[1:], p[0], 1.0 / p[0])
        dn = _seeded_ewm((-d).clip(lower=0).iloc[1:], p[0], 1.0 / p[0])
        tot = up + dn
        rsi = (100.0 * up / tot).where(tot > 0, 0.0).where(tot.notna())
        res = [rsi.reindex(c.index)]
    elif name == "macd":
        fast, slow, sig = p
        fe = _seeded_ewm(c.iloc[slow - fast :], fast, 2.0 / (fast + 1)).reindex(c.index)
        se = _seeded_ewm(c, slow, 2.0 / (slow + 1))
        line = fe - se
        signal = _seeded_ewm(line.iloc[slow - 1 :], sig, 2.0 / (sig + 1)).reindex(c.index)
        line = line.where(signal.notna())
        res = [line, signal, line - signal]
    elif name in ("bbands", "std", "zscore"):
        mid = c.rolling(p[0]).mean()
        sd = c.rolling(p[0]).std(ddof=0)
        if name == "bbands":
            res = [mid, mid + p[1] * sd, mid - p[1] * sd]
        elif name == "std":
            res = [sd]
        else:
            res = [((c - mid) / sd).where(sd > 0)]
    elif name == "atr":
        h, lo = frames["high"], frames["low"]
        prev = c.shift(1)
        tr = pd.concat([h - lo, (prev - h).abs(), (prev - lo).abs()]).groupby(level=0).max()
        tr = tr.reindex(c.index).iloc[1:]
        res = [
            (tr if p[0] == 1 else _seeded_ewm(tr, p[0], 1.0 / p[0])).reindex(c.index),
        ]
    elif name == "stoch":
        h, lo = frames["high"], frames["low"]
        hh = h.rolling(p[0]).max()
        ll = lo.rolling(p[0]).min()
        rng = hh - ll
        raw = (100.0 * (c - ll) / rng).where(rng != 0, 0.0).where(rng.notna())
        k = raw.rolling(p[1]).mean()
        d = k.rolling(p[2]).mean()
        res = [k.where(d.notna()), d]
    elif name == "obv":
        v = frames["volume"]
        sign = np.sign(c.diff()).fillna(0.0)
        signed = (sign * v).astype(float)
        signed.iloc[0] = v.iloc[0]
        res = [signed.cumsum()]
    elif name == "roc":
        old = c.shift(p[0])
        res = [((c / old - 1.0) * 100.0).where(old != 0, 0.0).where(old.notna())]
    elif name == "logret":
        res = [np.log(c / c.shift(p[0]))]
    elif name == "min":
        res = [c.rolling(p[0]).min()]
    elif name == "max":
        res = [c.rolling(p[0]).max()]
    else:  # pragma: no cover - specs only admit the names above
        raise ValueError(name)
    return dict(zip(sp.outputs, res, strict=True))


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
