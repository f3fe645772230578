"""A second module: one test marked for profiling."""

import pytest


def allocate(n):
    return [bytearray(1024) for _ in range(n)]


@pytest.mark.perfkit
def test_marked_allocation():
    assert len(allocate(20_000)) == 20_000
