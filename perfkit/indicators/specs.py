"""Indicator specs: ``"sma:20"``, ``"macd:12,26,9"``, ``"bbands:20,2"`` parsed into objects.

A spec names one indicator of :data:`perfkit.indicators.definitions.INDICATORS` and its
parameters. Parsing is strict: an unknown name, a window that is not a positive integer, or the
wrong number of parameters is a :class:`UsageError` that names the problem and shows a valid
example.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from perfkit.errors import UsageError
from perfkit.indicators.definitions import INDICATORS, MAX_WINDOW, Indicator, known_indicators

__all__ = ["MAX_WINDOW", "IndicatorSpec", "known_indicators", "parse_spec", "parse_specs"]

#: Which price fields each input code needs (``IndicatorSpec.inputs``).
FIELDS_FOR_INPUTS = {"c": ("close",), "hlc": ("high", "low", "close"), "cv": ("close", "volume")}
_INPUT_CODES = {v: k for k, v in FIELDS_FOR_INPUTS.items()}


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator and its parameters, e.g. ``IndicatorSpec("macd", (12, 26, 9))``.

    Parameters
    ----------
    name
        An indicator name from :func:`known_indicators`.
    params
        Its parameters in order (windows are ints; Bollinger's ``nbdev`` is a float).
    """

    name: str
    params: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        _validate(self.name, self.params, str(self))

    @property
    def definition(self) -> Indicator:
        """The table entry of this indicator."""
        return INDICATORS[self.name]

    @property
    def inputs(self) -> str:
        """``"c"`` (close), ``"hlc"`` (high, low, close) or ``"cv"`` (close, volume)."""
        return _INPUT_CODES[self.definition.inputs]

    @property
    def fields(self) -> tuple[str, ...]:
        """The price fields this indicator reads."""
        return self.definition.inputs

    @property
    def outputs(self) -> tuple[str, ...]:
        """Output column names, e.g. ``("macd_12_26_9", "macd_signal_12_26_9", ...)``."""
        suffix = "_".join(_fmt(p) for p in self.params)
        return tuple(f"{s}_{suffix}" if suffix else s for s in self.definition.outputs)

    @property
    def lookback(self) -> int:
        """Number of leading bars without output (TA-Lib's lookback)."""
        return int(self.definition.lookback([int(x) for x in self.params]))

    def kernel_params(self) -> tuple[float, float, float]:
        """The three float parameters every kernel takes."""
        out = [float(x) for x in self.params] + [0.0, 0.0, 0.0]
        return out[0], out[1], out[2]

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return f"{self.name}:{','.join(_fmt(p) for p in self.params)}"


def _validate(name: str, params: Sequence[float], text: str) -> None:
    if name not in INDICATORS:
        raise UsageError(
            f"unknown indicator {name!r} in spec {text!r}",
            f"use one of: {', '.join(known_indicators())}",
        )
    ind = INDICATORS[name]
    if len(params) != len(ind.params):
        names = [p.name for p in ind.params]
        want = ",".join(names) if names else "no parameters"
        raise UsageError(
            f"spec {text!r}: {name} takes {len(names)} parameter(s) ({want}), got {len(params)}",
            f"write e.g. {ind.example}",
        )
    for par, value in zip(ind.params, params, strict=True):
        if not par.integer:
            if isinstance(value, bool) or not float(value) > par.minimum:
                raise UsageError(
                    f"spec {text!r}: {par.name} must be a positive number, got {value!r}",
                    f"write e.g. {ind.example}",
                )
            continue
        if isinstance(value, bool) or not float(value).is_integer():
            raise UsageError(
                f"spec {text!r}: {par.name} must be a positive integer, got {value!r}",
                f"write e.g. {ind.example}",
            )
        if not par.minimum <= int(value) <= MAX_WINDOW:
            raise UsageError(
                f"spec {text!r}: {par.name} must be between {int(par.minimum)} and "
                f"{MAX_WINDOW}, got {int(value)}",
                f"write e.g. {ind.example}",
            )
    problem = ind.check(params) if ind.check is not None else None
    if problem:
        raise UsageError(f"spec {text!r}: {problem}", f"write e.g. {ind.example}")


def _number(token: str, text: str) -> float:
    try:
        return float(int(token))
    except ValueError:
        pass
    try:
        value = float(token)
    except ValueError:
        raise UsageError(
            f"malformed spec {text!r}: {token!r} is not a number",
            "write specs as name:param,param e.g. sma:20 or macd:12,26,9",
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise UsageError(f"malformed spec {text!r}: {token!r} is not a finite number")
    return value


def parse_spec(text: str) -> IndicatorSpec:
    """Parse one spec such as ``"rsi:14"``, ``"macd:12,26,9"`` or ``"obv"``.

    Parameters left out take the indicator's usual defaults where it has them (``rsi`` is
    ``rsi:14``); a moving average needs its window.

    Raises
    ------
    UsageError
        Unknown indicator, malformed text, a window that is not a positive integer.
    """
    if isinstance(text, str):
        return _parse_spec_cached(text)
    return _parse_spec(text)


@functools.lru_cache(maxsize=1024)
def _parse_spec_cached(text: str) -> IndicatorSpec:
    return _parse_spec(text)  # specs are frozen: one object per text is safe to share


def _parse_spec(text: str) -> IndicatorSpec:
    if not isinstance(text, str):
        raise UsageError(f"a spec must be a string or IndicatorSpec, got {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise UsageError("empty indicator spec", "write e.g. sma:20")
    name, sep, rest = raw.partition(":")
    name = name.strip().lower()
    if name not in INDICATORS:
        raise UsageError(
            f"unknown indicator {name!r} in spec {text!r}",
            f"use one of: {', '.join(known_indicators())}",
        )
    ind = INDICATORS[name]
    if sep and not rest.strip():
        raise UsageError(f"malformed spec {text!r}: nothing after ':'", f"write {ind.example}")
    tokens = [t.strip() for t in rest.split(",")] if sep else []
    if any(not t for t in tokens):
        raise UsageError(f"malformed spec {text!r}: empty parameter", f"write {ind.example}")
    params = tuple(_number(t, text) for t in tokens)
    if not params:
        if any(p.default is None for p in ind.params):
            raise UsageError(f"spec {text!r}: {name} needs a window", f"write e.g. {name}:20")
        params = tuple(float(p.default or 0) for p in ind.params)
    else:  # trailing optional parameters take their defaults (bbands:20 is bbands:20,2)
        left = ind.params[len(params) :]
        if left and all(p.optional for p in left):
            params = params + tuple(float(p.default or 0) for p in left)
    return IndicatorSpec(name, tuple(int(p) if float(p).is_integer() else p for p in params))


def parse_specs(specs: str | IndicatorSpec | Iterable[str | IndicatorSpec]) -> list[IndicatorSpec]:
    """Parse a spec list: ``"sma:20,rsi:14,macd:12,26,9"`` or a list of strings/specs.

    In one string a token that starts with a letter begins a new spec and numeric tokens
    belong to the spec before them, so ``macd:12,26,9`` keeps its three parameters.
    Duplicates are dropped (their outputs would collide).

    Raises
    ------
    UsageError
        No specs, or any malformed spec.
    """
    if isinstance(specs, IndicatorSpec):
        items: list[str | IndicatorSpec] = [specs]
    elif isinstance(specs, str):
        items = _split_spec_string(specs)
    else:
        items = []
        for s in specs:
            items.extend(_split_spec_string(s) if isinstance(s, str) else [s])
    out: list[IndicatorSpec] = []
    for item in items:
        spec = item if isinstance(item, IndicatorSpec) else parse_spec(item)
        if spec not in out:
            out.append(spec)
    if not out:
        raise UsageError("no indicator specs given", "write e.g. sma:20,rsi:14,macd:12,26,9")
    return out


def _split_spec_string(text: str) -> list[str]:
    parts: list[str] = []
    for token in text.split(","):
        tok = token.strip()
        if tok and (tok[0].isalpha() or not parts):
            parts.append(tok)
        elif parts:
            parts[-1] = f"{parts[-1]},{tok}"
    if not parts and text.strip() == "":
        raise UsageError("empty indicator spec", "write e.g. sma:20,rsi:14")
    return parts
