"""Regression: ``perfkit.compress.distill`` resolved to a submodule instead of the function.

With the function in ``perfkit/compress/distill.py``, importing the submodule (directly or via
another lazy name from it) bound the package attribute ``distill`` to the module, so
``from perfkit.compress import distill; distill(...)`` raised "'module' object is not callable".
The module is now ``distillation``.
"""

from __future__ import annotations

import inspect

import pytest

pytest.importorskip("torch")


def test_distill_is_the_function_whatever_was_imported_first():
    import perfkit.compress as pc
    from perfkit.compress import DistillResult, distill  # noqa: F401
    from perfkit.compress.distillation import kl_term  # noqa: F401 - imports the submodule

    assert inspect.isfunction(distill) and distill.__name__ == "distill"
    assert inspect.isfunction(pc.distill)
