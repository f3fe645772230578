"""Memory helpers: shrink dtypes with a guarantee, and catch copies that should be views.

The public names are bound here eagerly on purpose: ``perfkit.memory.downcast`` is both a
submodule and a function, and importing the submodule would otherwise leave the package
attribute pointing at the module. This imports NumPy, never numba (the kernels load on first
use), so ``import perfkit.memory`` stays light.
"""

from __future__ import annotations

from perfkit.memory.downcast import (
    ColumnReport,
    DowncastReport,
    LossyDowncastError,
    downcast,
    plan_downcast,
)
from perfkit.memory.views import (
    CopyDetectedError,
    CopyExplanation,
    CopyRecord,
    CopyWarning,
    explain_copy,
    is_view,
    no_copy,
    shares_memory,
    sliding_windows,
)

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
