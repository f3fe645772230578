"""Memory helpers: shrink dtypes with a guarantee, and catch copies that should be views.

Imports are lazy (PEP 562) so that ``import perfkit.memory`` does not load numba.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ColumnReport",
    "CopyDetectedError",
    "CopyExplanation",
    "CopyRecord",
    "CopyWarning",
    "DowncastReport",
    "LossyDowncastError",
    "downcast",
    "explain_copy",
    "is_view",
    "no_copy",
    "plan_downcast",
    "shares_memory",
    "sliding_windows",
]

_WHERE = {
    "ColumnReport": "perfkit.memory.downcast",
    "DowncastReport": "perfkit.memory.downcast",
    "LossyDowncastError": "perfkit.memory.downcast",
    "downcast": "perfkit.memory.downcast",
    "plan_downcast": "perfkit.memory.downcast",
    "CopyDetectedError": "perfkit.memory.views",
    "CopyExplanation": "perfkit.memory.views",
    "CopyRecord": "perfkit.memory.views",
    "CopyWarning": "perfkit.memory.views",
    "explain_copy": "perfkit.memory.views",
    "is_view": "perfkit.memory.views",
    "no_copy": "perfkit.memory.views",
    "shares_memory": "perfkit.memory.views",
    "sliding_windows": "perfkit.memory.views",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'perfkit.memory' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
