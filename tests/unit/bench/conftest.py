"""Fixtures that register throw-away cases and remove them again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perfkit.bench import registry


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Let a test register cases; restore the registry afterwards."""
    registry.load_all()
    saved = dict(registry._CASES)
    try:
        yield
    finally:
        registry._CASES.clear()
        registry._CASES.update(saved)
