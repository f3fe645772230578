"""The asv suite's peak-memory rows are perfkit's per-allocator measurement, not process RSS."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

asv_suite = pytest.importorskip("benchmarks.benchmarks")


def test_peak_memory_rows_are_track_peak_bytes_in_bytes() -> None:
    cls = asv_suite.Cases
    assert not [m for m in dir(cls) if m.startswith("peakmem_")]
    for side in ("baseline", "candidate"):
        fn = getattr(cls, f"track_peak_bytes_{side}")
        assert fn.unit == "bytes"


def test_track_peak_bytes_sees_one_cases_buffer(monkeypatch) -> None:
    from perfkit.bench.case import Case, Verdict

    case = Case(
        name="zz_asv_alloc",
        group="zz",
        make_inputs=lambda p: None,
        baseline=lambda _: np.ones(10_000_000),  # 80 MB
        candidate=lambda _: None,
        check=lambda b, c: Verdict(True),
    )
    monkeypatch.setitem(asv_suite.POINTS, "zz_asv_alloc", (case, {}))
    bench = asv_suite.Cases()
    bench.setup("zz_asv_alloc")
    assert bench.track_peak_bytes_baseline("zz_asv_alloc") == pytest.approx(80_000_000, rel=0.05)
    assert bench.track_peak_bytes_candidate("zz_asv_alloc") < 100_000
