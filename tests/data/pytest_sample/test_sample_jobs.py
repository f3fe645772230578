"""A small project's suite: one slow test dominated by ``hot_loop``, a few fast ones."""

import pytest


def hot_loop(n):
    total = 0
    for i in range(n):
        total += (i * i) % 7
    return total


def build_table(rows):
    return [[r * c for c in range(20)] for r in range(rows)]


def test_slow_aggregate():
    assert hot_loop(1_500_000) > 0


def test_medium_table():
    assert len(build_table(3000)) == 3000


@pytest.mark.parametrize("x", [1, 2, 3])
def test_fast(x):
    assert x * 2 > x
