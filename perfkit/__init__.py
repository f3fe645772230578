"""perfkit: profile, optimize, and prove every step is faster and still correct.

The public names are imported on first use (PEP 562), so ``import perfkit`` and ``perfkit --help``
load no numpy, numba or torch.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing's import costs every followed child process milliseconds
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

#: Public name -> "module:attribute", imported on first access.
_LAZY: dict[str, str] = {
    # profile -> one report
    "profile": "perfkit.profiling:profile",
    "Profile": "perfkit.profiling:Profile",
    # memory: dtypes and copies
    "downcast": "perfkit.memory:downcast",
    "plan_downcast": "perfkit.memory:plan_downcast",
    "DowncastReport": "perfkit.memory:DowncastReport",
    "ColumnReport": "perfkit.memory:ColumnReport",
    "LossyDowncastError": "perfkit.memory:LossyDowncastError",
    "CopyDetectedError": "perfkit.memory:CopyDetectedError",
    "CopyWarning": "perfkit.memory:CopyWarning",
    "is_view": "perfkit.memory:is_view",
    "shares_memory": "perfkit.memory:shares_memory",
    "explain_copy": "perfkit.memory:explain_copy",
    "no_copy": "perfkit.memory:no_copy",
    "sliding_windows": "perfkit.memory:sliding_windows",
    # model compression
    "quantize_dynamic": "perfkit.compress:quantize_dynamic",
    "quantize_static": "perfkit.compress:quantize_static",
    "distill": "perfkit.compress:distill",
    "student_from_teacher": "perfkit.compress:student_from_teacher",
    "compare_models": "perfkit.compress:compare_models",
    "Fidelity": "perfkit.compress:Fidelity",
    # the Case spine
    "Case": "perfkit.bench:Case",
    "Verdict": "perfkit.bench:Verdict",
    "case": "perfkit.bench:case",
    # subpackages reached as attributes
    "bench": "perfkit.bench",
    "indicators": "perfkit.indicators",
    "compress": "perfkit.compress",
    "memory": "perfkit.memory",
    "profiling": "perfkit.profiling",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'perfkit' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = importlib.import_module(module)
    if attr:
        value = getattr(value, attr)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext perfkit``: the ``%perfkit``, ``%%perfkit`` and ``%%perfkit_bench`` magics."""
    from perfkit.magics import load_ipython_extension as load

    load(ipython)


def __dir__() -> list[str]:
    return sorted(__all__)
