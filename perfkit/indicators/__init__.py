"""Technical indicators for a whole panel of instruments, TA-Lib-exact, at memory speed.

``compute(panel, ["sma:20", "rsi:14", "macd:12,26,9"], backend="auto")`` runs one-pass numba
kernels (:mod:`perfkit.indicators.kernels`) over batches of instruments, fanned out with
joblib (threads, loky), numba ``prange`` or a dask cluster. :mod:`perfkit.indicators.reference`
holds the plain NumPy/pandas versions the benchmarks compare against.

Importing this package loads numpy and numba; ``perfkit`` itself and ``perfkit --help`` do not.
"""

from __future__ import annotations

from perfkit.indicators.compute import ComputeInfo
from perfkit.indicators.compute import compute as compute
from perfkit.indicators.specs import IndicatorSpec, known_indicators, parse_spec, parse_specs

__all__ = [
    "compute",
    "ComputeInfo",
    "IndicatorSpec",
    "known_indicators",
    "parse_spec",
    "parse_specs",
]
