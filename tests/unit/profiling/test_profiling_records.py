"""The model's records compare and print by their fields (shared methods, not generated ones)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from perfkit.profiling.model import CallerEdge, FunctionStat, HotLine


def _stat(**kw) -> FunctionStat:
    base = {"function": "f", "file": "a.py", "line": 3, "self_s": 1.0, "total_s": 2.0}
    return FunctionStat(**{**base, **kw})


def test_records_are_equal_by_fields_and_class():
    assert _stat() == _stat()
    assert _stat() != _stat(self_s=1.5)
    assert _stat(callers=(CallerEdge("g", "b.py", 1, 2, 2, 0.1, 0.2),)) == _stat(
        callers=(CallerEdge("g", "b.py", 1, 2, 2, 0.1, 0.2),)
    )
    assert _stat(callers=(CallerEdge("g", "b.py", 1, 2, 2, 0.1, 0.2),)) != _stat(
        callers=(CallerEdge("g", "b.py", 1, 3, 3, 0.1, 0.2),)
    )
    line = HotLine(file="a.py", line=3, function="f", self_s=1.0, total_s=2.0)
    assert line != _stat()  # another class is never equal
    assert replace(_stat(), self_s=1.5) == _stat(self_s=1.5)


def test_records_are_unhashable_like_dataclasses_with_eq():
    with pytest.raises(TypeError):
        hash(_stat())


def test_record_repr_names_the_class_and_fields():
    text = repr(_stat())
    assert text.startswith("FunctionStat(function='f', file='a.py', line=3, self_s=1.0")
