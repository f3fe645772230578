"""Spec parsing: valid forms and clear errors for malformed ones."""

from __future__ import annotations

import pytest

from perfkit.errors import UsageError
from perfkit.indicators import IndicatorSpec, parse_spec, parse_specs


def test_parse_forms() -> None:
    assert parse_spec("sma:20") == IndicatorSpec("sma", (20,))
    assert parse_spec(" RSI ") == IndicatorSpec("rsi", (14,))
    assert parse_spec("macd:12,26,9").outputs == (
        "macd_12_26_9",
        "macd_signal_12_26_9",
        "macd_hist_12_26_9",
    )
    assert parse_spec("bbands:20").params == (20, 2.0)
    assert parse_spec("bbands:20,2.5").outputs[1] == "bb_upper_20_2.5"
    assert parse_spec("obv").outputs == ("obv",)
    assert parse_spec("macd:12,26,9").lookback == 33
    assert str(parse_spec("macd:12,26,9")) == "macd:12,26,9"


def test_parse_list_keeps_multi_parameter_specs_together() -> None:
    specs = parse_specs("sma:20,rsi:14,macd:12,26,9,obv,sma:20")
    assert [str(s) for s in specs] == ["sma:20", "rsi:14", "macd:12,26,9", "obv"]
    assert parse_specs(["ema:5", IndicatorSpec("wma", (3,))])[1].name == "wma"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("foo:3", "unknown indicator 'foo'"),
        ("sma:0", "between 1 and 100000"),
        ("sma:-5", "between 1 and 100000"),
        ("sma:2.5", "positive integer"),
        ("sma:abc", "is not a number"),
        ("sma:", "nothing after ':'"),
        ("sma", "needs a window"),
        ("macd:26,12,9", "fast period must be shorter"),
        ("macd:12,26", "takes 3 parameter"),
        ("rsi:1", "between 2 and 100000"),
        ("sma:20,,", "empty parameter"),
        ("bbands:20,-1", "nbdev must be a positive"),
        ("sma:nan", "finite"),
        ("", "empty"),
    ],
)
def test_malformed_specs_name_the_problem(text: str, needle: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_specs(text)
    assert needle in str(info.value)
    assert info.value.exit_code == 2
