"""The benchmark's timing helpers: structure only (no timing is asserted)."""

from __future__ import annotations

from perfkit.indicators.benchmark import interleaved_medians_s


def test_interleaved_medians_alternate_the_calls_and_return_one_median_each() -> None:
    calls: list[str] = []
    medians = interleaved_medians_s(
        [lambda: calls.append("ours"), lambda: calls.append("theirs")], repeat=3, warmup=1
    )
    assert calls == ["ours", "theirs"] * 4  # one warm-up round, then three timed rounds
    assert len(medians) == 2
    assert all(m >= 0.0 for m in medians)
