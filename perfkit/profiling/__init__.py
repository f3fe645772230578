"""Profiling: run a program or a block under profiler engines and get one :class:`Profile`.

Names are loaded on first use (PEP 562) so that importing this package stays light.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: a followed child imports this package, typing costs ms
if TYPE_CHECKING:
    from typing import Any

_NAMES = {
    "profile": "perfkit.profiling.api",
    "Profile": "perfkit.profiling.model",
    "diff_profiles": "perfkit.profiling.diff",
    "find_hints": "perfkit.profiling.hints",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'perfkit.profiling' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
