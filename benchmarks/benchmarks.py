"""asv benchmarks generated from perfkit's Case registry — never a second copy of a case.

One benchmark class parameterized over the registry's stable case ids gives asv ``time_*`` for
both sides, ``track_peak_bytes_*`` for both sides (unit bytes: the peak of every allocator the
side uses — NumPy/Python via tracemalloc, torch CPU tensors via torch's profiler, CUDA — measured
by ``perfkit.bench.timer.measure_peak``, the same figure ``perfkit bench`` records; asv's own
``peakmem_*`` is the whole process's RSS and cannot see one case's change) and ``track_*`` for
the speed-up, memory ratio and the check's measured error. ``PERFKIT_ASV_GRID=quick`` (the
default of ``make asv``) runs each case's small grid; ``full`` runs the sizes quoted in the
reports.
"""

from __future__ import annotations

import os

from perfkit.bench import registry
from perfkit.bench import timer as _timer
from perfkit.bench.case import SkipCase, case_id

_QUICK = os.environ.get("PERFKIT_ASV_GRID", "quick") != "full"

POINTS = {
    case_id(c.name, p): (c, p)
    for c in registry.all_cases()
    if "cpu" in c.devices
    for p in c.grid(quick=_QUICK)
}


class Cases:
    """Baseline and candidate of every registered case on the CPU."""

    params = [sorted(POINTS)]
    param_names = ["case"]
    timeout = 900
    number = 0  # let asv calibrate

    def setup(self, key: str) -> None:
        self.case, params = POINTS[key]
        try:
            self.inputs = self.case.make_inputs({**params, "device": "cpu"})
        except SkipCase as exc:  # asv skips a benchmark whose setup raises NotImplementedError
            raise NotImplementedError(str(exc)) from None

    def time_baseline(self, key: str) -> None:
        self.case.baseline(self.inputs)

    def time_candidate(self, key: str) -> None:
        self.case.candidate(self.inputs)

    def track_peak_bytes_baseline(self, key: str) -> int:
        return _timer.measure_peak(self.case.baseline, self.inputs).total_bytes

    track_peak_bytes_baseline.unit = "bytes"

    def track_peak_bytes_candidate(self, key: str) -> int:
        return _timer.measure_peak(self.case.candidate, self.inputs).total_bytes

    track_peak_bytes_candidate.unit = "bytes"

    def track_speedup(self, key: str) -> float:
        base, cand = _timer.time_pair(self.case.baseline, self.case.candidate, self.inputs)
        return base.median_s / cand.median_s

    track_speedup.unit = "ratio"

    def track_memory_ratio(self, key: str) -> float:
        b = _timer.measure_peak(self.case.baseline, self.inputs).total_bytes
        c = _timer.measure_peak(self.case.candidate, self.inputs).total_bytes
        return max(b, 4096) / max(c, 4096)

    track_memory_ratio.unit = "ratio"

    def track_check_error(self, key: str) -> float:
        verdict = self.case.check(self.case.baseline(self.inputs), self.case.candidate(self.inputs))
        if not verdict.ok:
            raise AssertionError(f"{key}: check failed: {verdict.detail}")
        err = verdict.max_abs_error
        if err is None and verdict.agreement is not None:
            err = 1.0 - verdict.agreement
        return float(err or 0.0)

    track_check_error.unit = "max abs error"
