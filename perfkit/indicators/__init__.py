"""Technical indicators for a whole panel of instruments, TA-Lib-exact, at memory speed.

``compute(panel, ["sma:20", "rsi:14", "macd:12,26,9"], backend="auto")`` runs one-pass numba
kernels (:mod:`perfkit.indicators.kernels`) over batches of instruments, fanned out with
threads, numba ``prange``, joblib's loky or a dask cluster. Every indicator is one entry of
:data:`perfkit.indicators.definitions.INDICATORS`; :mod:`perfkit.indicators.reference` holds
the plain NumPy/pandas versions the tests and benchmarks compare against.

The names below load on first use: ``perfkit.indicators.definitions`` (the table) can be
imported without numpy or numba, so ``perfkit indicators --help`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from perfkit.indicators.compute import ComputeInfo, compute
    from perfkit.indicators.specs import IndicatorSpec, known_indicators, parse_spec, parse_specs

__all__ = [
    "compute",
    "ComputeInfo",
    "IndicatorSpec",
    "known_indicators",
    "parse_spec",
    "parse_specs",
]

_WHERE = {
    "compute": "perfkit.indicators.compute",
    "ComputeInfo": "perfkit.indicators.compute",
    "IndicatorSpec": "perfkit.indicators.specs",
    "known_indicators": "perfkit.indicators.specs",
    "parse_spec": "perfkit.indicators.specs",
    "parse_specs": "perfkit.indicators.specs",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'perfkit.indicators' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
