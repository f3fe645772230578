"""Bug: the memory sampler crashed (and stopped sampling) when RSS grew while numpy was still
being imported: ``sys.modules['numpy']`` existed without ``ndarray``."""

from __future__ import annotations

import sys
import types

from perfkit.profiling.engines.memory import MemoryEngine


def test_array_scan_skips_a_partially_imported_numpy(monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", types.ModuleType("numpy"))
    engine = MemoryEngine()
    engine._note_arrays(sys._getframe(), ("f.py", 1, "f"))  # must not raise
    assert engine.arrays == {}
