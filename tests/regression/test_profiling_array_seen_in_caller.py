"""Bug: an array allocated in ``build()`` and returned to ``main()`` (``feats = build(x)``) was
noted twice when the memory engine read locals in both functions, so the float64 hint fired a
second time at the call line — a false hint the hint corpus caught (p15, 1 run in 3)."""

from __future__ import annotations

import sys

import numpy as np

from perfkit.profiling.engines.memory import MIN_ARRAY_BYTES, MemoryEngine


def _build(engine: MemoryEngine, n: int) -> np.ndarray:
    feats = np.ones(n)
    engine._note_arrays(sys._getframe(), ("p.py", 8, "build"))
    return feats


def test_an_array_returned_to_its_caller_is_one_observation() -> None:
    engine = MemoryEngine()
    n = 2 * MIN_ARRAY_BYTES // 8
    feats = _build(engine, n)
    engine._note_arrays(sys._getframe(), ("p.py", 21, "main"))
    assert [(a.function, a.line, a.name) for a in engine.arrays.values()] == [("build", 8, "feats")]
    # a different array, even of the same size in a freed one's place, is still noted
    other = np.ones(n)
    engine._note_arrays(sys._getframe(), ("p.py", 30, "later"))
    assert ("later", "other") in {(a.function, a.name) for a in engine.arrays.values()}
    assert feats.sum() == other.sum()
