"""The one table of indicators: adding an indicator is one :class:`Indicator` entry plus its kernel.

An entry says everything the rest of perfkit needs: the CLI/spec name, the price fields it
reads, its output columns, its parameters (with their validation), its lookback, the numba
kernel that computes it (``kernels.k_<kernel>``, with its ``prange`` driver
``kernels.p_<kernel>``), the plain NumPy/pandas reference (``reference.ref_<name>``) and the
TA-Lib call the tests compare it with. Nothing else keeps a list of indicators: specs, the
dispatcher, the CLI help, the benchmark and the tests all read this table, and no integer ids
are copied between files.

This module imports nothing heavy (no numpy), so ``perfkit indicators --help`` can list the
names from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Largest window accepted (TA-Lib's own limit).
MAX_WINDOW = 100_000


@dataclass(frozen=True)
class Param:
    """One parameter of an indicator.

    Parameters
    ----------
    name
        As shown in messages (``window``, ``fast``, ``nbdev``).
    minimum
        Smallest value accepted (windows: an integer in ``[minimum, MAX_WINDOW]``).
    default
        Used when the spec leaves the parameter out (``rsi`` is ``rsi:14``); ``None``: required.
    integer
        Windows are integers; ``False`` for a positive real (Bollinger's ``nbdev``).
    optional
        May be left out at the end of a spec that gives the ones before it (``bbands:20``).
    """

    name: str
    minimum: float = 1
    default: float | None = None
    integer: bool = True
    optional: bool = False


Talib = Callable[[Any, Mapping[str, Any], Sequence[float]], list[Any]]


@dataclass(frozen=True)
class Indicator:
    """One indicator: everything perfkit needs to parse, compute, document and test it."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: tuple[Param, ...]
    lookback: Callable[[Sequence[int]], int]
    kernel: str
    talib: str
    talib_call: Talib
    summary: str
    check: Callable[[Sequence[float]], str | None] | None = None

    @property
    def block_kernel(self) -> Callable[..., float]:
        """The numba kernel over a block of instruments (``kernels.k_<kernel>``)."""
        return _kernel(f"k_{self.kernel}")

    @property
    def prange_kernel(self) -> Callable[..., float]:
        """The ``prange`` driver of the kernel (``kernels.p_<kernel>``)."""
        return _kernel(f"p_{self.kernel}")

    @property
    def reference(self) -> Callable[..., list[Any]]:
        """The NumPy/pandas reference: ``ref(frames, *params) -> [DataFrame per output]``."""
        from perfkit.indicators import reference

        return getattr(reference, f"ref_{self.name}")

    @property
    def example(self) -> str:
        """A valid spec for messages (``sma:20``, ``macd:12,26,9``, ``obv``)."""
        if not self.params:
            return self.name
        vals = [p.default if p.default is not None else 20 for p in self.params]
        return f"{self.name}:{','.join(_fmt(v) for v in vals)}"


_KERNELS: dict[str, Callable[..., float]] = {}


def _kernel(name: str) -> Callable[..., float]:
    fn = _KERNELS.get(name)
    if fn is None:
        from perfkit.indicators import kernels  # numba: loaded on first use only

        fn = _KERNELS[name] = getattr(kernels, name)
    return fn


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _window(minimum: int = 1, default: int | None = None) -> tuple[Param, ...]:
    return (Param("window", minimum, default),)


def _macd_check(p: Sequence[float]) -> str | None:
    return None if p[0] < p[1] else "the fast period must be shorter than the slow one"


C = ("close",)
HLC = ("high", "low", "close")

INDICATORS: dict[str, Indicator] = {
    d.name: d
    for d in (
        Indicator(
            "sma", C, ("sma",), _window(), lambda p: p[0] - 1, "sma", "SMA",
            lambda ta, d, p: [ta.SMA(d["close"], p[0])],
            "simple moving average",
        ),
        Indicator(
            "ema", C, ("ema",), _window(), lambda p: p[0] - 1, "ema", "EMA",
            lambda ta, d, p: [ta.EMA(d["close"], p[0])],
            "exponential moving average, seeded with the SMA of the first window",
        ),
        Indicator(
            "wma", C, ("wma",), _window(), lambda p: p[0] - 1, "wma", "WMA",
            lambda ta, d, p: [ta.WMA(d["close"], p[0])],
            "linearly weighted moving average",
        ),
        Indicator(
            "rsi", C, ("rsi",), _window(2, 14), lambda p: p[0], "rsi", "RSI",
            lambda ta, d, p: [ta.RSI(d["close"], p[0])],
            "Wilder's relative strength index",
        ),
        Indicator(
            "macd", C, ("macd", "macd_signal", "macd_hist"),
            (Param("fast", 2, 12), Param("slow", 2, 26), Param("signal", 1, 9)),
            lambda p: p[1] + p[2] - 2, "macd", "MACD",
            lambda ta, d, p: list(ta.MACD(d["close"], *p)),
            "MACD line, signal and histogram", _macd_check,
        ),
        Indicator(
            "bbands", C, ("bb_mid", "bb_upper", "bb_lower"),
            (Param("window", 2, 20), Param("nbdev", 0, 2.0, integer=False, optional=True)),
            lambda p: p[0] - 1, "bbands", "BBANDS",
            lambda ta, d, p: (lambda u, m, lo: [m, u, lo])(
                *ta.BBANDS(d["close"], p[0], p[1], p[1], 0)
            ),
            "Bollinger bands (population std)",
        ),
        Indicator(
            "atr", HLC, ("atr",), _window(1, 14), lambda p: p[0], "atr", "ATR",
            lambda ta, d, p: [ta.ATR(d["high"], d["low"], d["close"], p[0])],
            "Wilder's average true range",
        ),
        Indicator(
            "stoch", HLC, ("stoch_k", "stoch_d"),
            (Param("fastk", 1, 5), Param("slowk", 1, 3), Param("slowd", 1, 3)),
            lambda p: p[0] + p[1] + p[2] - 3, "stoch", "STOCH",
            lambda ta, d, p: list(
                ta.STOCH(d["high"], d["low"], d["close"], p[0], p[1], 0, p[2], 0)
            ),
            "stochastic oscillator, SMA-smoothed %K and %D",
        ),
        Indicator(
            "obv", ("close", "volume"), ("obv",), (), lambda p: 0, "obv", "OBV",
            lambda ta, d, p: [ta.OBV(d["close"], d["volume"])],
            "on-balance volume",
        ),
        Indicator(
            "std", C, ("std",), _window(2), lambda p: p[0] - 1, "std", "STDDEV",
            lambda ta, d, p: [ta.STDDEV(d["close"], p[0], 1.0)],
            "rolling population standard deviation",
        ),
        Indicator(
            "zscore", C, ("zscore",), _window(2), lambda p: p[0] - 1, "zscore",
            "(CLOSE - SMA) / STDDEV",
            lambda ta, d, p: [_talib_zscore(ta, d["close"], p[0])],
            "rolling z-score of the close (NaN on a flat window)",
        ),
        Indicator(
            "roc", C, ("roc",), _window(1, 10), lambda p: p[0], "roc", "ROC",
            lambda ta, d, p: [ta.ROC(d["close"], p[0])],
            "rate of change in percent",
        ),
        Indicator(
            "logret", C, ("logret",), (Param("lag", 1, 1),), lambda p: p[0], "logret",
            "LN(CLOSE) - LN(CLOSE[lag])",
            lambda ta, d, p: [_talib_logret(ta, d["close"], p[0])],
            "log return over a lag",
        ),
        Indicator(
            "min", C, ("min",), _window(2), lambda p: p[0] - 1, "min", "MIN",
            lambda ta, d, p: [ta.MIN(d["close"], p[0])],
            "rolling minimum",
        ),
        Indicator(
            "max", C, ("max",), _window(2), lambda p: p[0] - 1, "max", "MAX",
            lambda ta, d, p: [ta.MAX(d["close"], p[0])],
            "rolling maximum",
        ),
    )
}  # fmt: skip


def _talib_zscore(ta: Any, c: Any, n: int) -> Any:
    import numpy as np

    sd = ta.STDDEV(c, n, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (c - ta.SMA(c, n)) / sd
    return np.where(sd > 0, z, np.nan)


def _talib_logret(ta: Any, c: Any, lag: int) -> Any:
    import numpy as np

    ln = ta.LN(c)
    out = np.full_like(ln, np.nan)
    out[lag:] = ln[lag:] - ln[:-lag]
    return out


def known_indicators() -> list[str]:
    """The indicator names a spec may use, sorted."""
    return sorted(INDICATORS)


def fields_for(names: Sequence[str]) -> tuple[str, ...]:
    """The price fields a list of indicators reads, in a stable order."""
    seen: dict[str, None] = {}
    for name in names:
        for f in INDICATORS[name].inputs:
            seen.setdefault(f, None)
    return tuple(seen)
