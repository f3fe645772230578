"""Indicator specs: ``"sma:20"``, ``"macd:12,26,9"``, ``"bbands:20,2"`` parsed into objects.

A spec names one indicator and its parameters. Parsing is strict: an unknown name, a window
that is not a positive integer, or the wrong number of parameters is a :class:`UsageError`
that names the problem and shows a valid example.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from perfkit.errors import UsageError

#: name -> (kernel id, inputs, output stems, parameter names, defaults or None, minimums)
_TABLE: dict[str, tuple[int, str, tuple[str, ...], tuple[str, ...], tuple | None, tuple]] = {
    "sma": (0, "c", ("sma",), ("window",), None, (1,)),
    "ema": (1, "c", ("ema",), ("window",), None, (1,)),
    "wma": (2, "c", ("wma",), ("window",), None, (1,)),
    "rsi": (3, "c", ("rsi",), ("window",), (14,), (2,)),
    "macd": (
        4,
        "c",
        ("macd", "macd_signal", "macd_hist"),
        ("fast", "slow", "signal"),
        (12, 26, 9),
        (2, 2, 1),
    ),
    "bbands": (5, "c", ("bb_mid", "bb_upper", "bb_lower"), ("window", "nbdev"), (20, 2.0), (2, 0)),
    "atr": (6, "hlc", ("atr",), ("window",), (14,), (1,)),
    "stoch": (7, "hlc", ("stoch_k", "stoch_d"), ("fastk", "slowk", "slowd"), (5, 3, 3), (1, 1, 1)),
    "obv": (8, "cv", ("obv",), (), (), ()),
    "std": (9, "c", ("std",), ("window",), None, (2,)),
    "zscore": (10, "c", ("zscore",), ("window",), None, (2,)),
    "roc": (11, "c", ("roc",), ("window",), (10,), (1,)),
    "logret": (12, "c", ("logret",), ("lag",), (1,), (1,)),
    "min": (13, "c", ("min",), ("window",), None, (2,)),
    "max": (14, "c", ("max",), ("window",), None, (2,)),
}

#: Largest window accepted (TA-Lib's own limit).
MAX_WINDOW = 100_000

#: Which price fields each input code needs.
FIELDS_FOR_INPUTS = {"c": ("close",), "hlc": ("high", "low", "close"), "cv": ("close", "volume")}


def known_indicators() -> list[str]:
    """The indicator names a spec may use, sorted."""
    return sorted(_TABLE)


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
    def kernel_id(self) -> int:
        return _TABLE[self.name][0]

    @property
    def inputs(self) -> str:
        """``"c"`` (close), ``"hlc"`` (high, low, close) or ``"cv"`` (close, volume)."""
        return _TABLE[self.name][1]

    @property
    def fields(self) -> tuple[str, ...]:
        """The price fields this indicator reads."""
        return FIELDS_FOR_INPUTS[self.inputs]

    @property
    def outputs(self) -> tuple[str, ...]:
        """Output column names, e.g. ``("macd_12_26_9", "macd_signal_12_26_9", ...)``."""
        suffix = "_".join(_fmt(p) for p in self.params)
        stems = _TABLE[self.name][2]
        return tuple(f"{s}_{suffix}" if suffix else s for s in stems)

    @property
    def lookback(self) -> int:
        """Number of leading bars without output (TA-Lib's lookback)."""
        p = [int(x) for x in self.params]
        if self.name in ("sma", "ema", "wma", "bbands", "std", "zscore", "min", "max"):
            return p[0] - 1
        if self.name in ("rsi", "atr", "roc", "logret"):
            return p[0]
        if self.name == "macd":
            return p[1] + p[2] - 2
        if self.name == "stoch":
            return p[0] + p[1] + p[2] - 3
        return 0

    def kernel_params(self) -> tuple[float, float, float]:
        """The three float parameters the numba dispatcher takes."""
        out = [float(x) for x in self.params] + [0.0, 0.0, 0.0]
        return out[0], out[1], out[2]

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return f"{self.name}:{','.join(_fmt(p) for p in self.params)}"


def _validate(name: str, params: Sequence[float], text: str) -> None:
    if name not in _TABLE:
        raise UsageError(
            f"unknown indicator {name!r} in spec {text!r}",
            f"use one of: {', '.join(known_indicators())}",
        )
    _kid, _inputs, _stems, names, _defaults, minimums = _TABLE[name]
    if len(params) != len(names):
        want = ",".join(names) if names else "no parameters"
        raise UsageError(
            f"spec {text!r}: {name} takes {len(names)} parameter(s) ({want}), got {len(params)}",
            f"write e.g. {_example(name)}",
        )
    for pname, value, low in zip(names, params, minimums, strict=True):
        if pname == "nbdev":
            if not float(value) > 0:
                raise UsageError(
                    f"spec {text!r}: nbdev must be a positive number, got {value!r}",
                    "write e.g. bbands:20,2",
                )
            continue
        if isinstance(value, bool) or not float(value).is_integer():
            raise UsageError(
                f"spec {text!r}: {pname} must be a positive integer, got {value!r}",
                f"write e.g. {_example(name)}",
            )
        if not low <= int(value) <= MAX_WINDOW:
            raise UsageError(
                f"spec {text!r}: {pname} must be between {low} and {MAX_WINDOW}, got {int(value)}",
                f"write e.g. {_example(name)}",
            )
    if name == "macd" and not params[0] < params[1]:
        raise UsageError(
            f"spec {text!r}: the fast period must be shorter than the slow one",
            "write e.g. macd:12,26,9",
        )


def _example(name: str) -> str:
    defaults = _TABLE[name][4]
    if defaults is None:
        return f"{name}:20"
    if not defaults:
        return name
    return f"{name}:{','.join(_fmt(d) for d in defaults)}"


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
    if not isinstance(text, str):
        raise UsageError(f"a spec must be a string or IndicatorSpec, got {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise UsageError("empty indicator spec", "write e.g. sma:20")
    name, sep, rest = raw.partition(":")
    name = name.strip().lower()
    if name not in _TABLE:
        raise UsageError(
            f"unknown indicator {name!r} in spec {text!r}",
            f"use one of: {', '.join(known_indicators())}",
        )
    if sep and not rest.strip():
        raise UsageError(f"malformed spec {text!r}: nothing after ':'", f"write {_example(name)}")
    tokens = [t.strip() for t in rest.split(",")] if sep else []
    if any(not t for t in tokens):
        raise UsageError(f"malformed spec {text!r}: empty parameter", f"write {_example(name)}")
    params = tuple(_number(t, text) for t in tokens)
    if not params:
        defaults = _TABLE[name][4]
        if defaults is None:
            raise UsageError(f"spec {text!r}: {name} needs a window", f"write e.g. {name}:20")
        params = tuple(float(d) for d in defaults)
    elif name == "bbands" and len(params) == 1:
        params = (params[0], 2.0)
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
