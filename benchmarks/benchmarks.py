"""asv benchmarks generated from perfkit's Case registry — never a second copy of a case.

One benchmark class parameterized over the registry's stable case ids gives asv ``time_*`` for
both sides, ``peakmem_*`` for both sides and ``track_*`` for the speed-up, memory ratio and the
check's measured error. ``PERFKIT_ASV_GRID=quick`` (the default of ``make asv``) runs each case's
small grid; ``full`` runs the sizes quoted in the reports.
"""

from __future__ import annotations

import os

from perfkit.bench import registry
from perfkit.bench import timer as _timer
from perfkit.bench.case import case_id

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
        self.inputs = self.case.make_inputs({**params, "device": "cpu"})

    def time_baseline(self, key: str) -> None:
        self.case.baseline(self.inputs)

    def time_candidate(self, key: str) -> None:
        self.case.candidate(self.inputs)

    def peakmem_baseline(self, key: str) -> None:
        self.case.baseline(self.inputs)

    def peakmem_candidate(self, key: str) -> None:
        self.case.candidate(self.inputs)

    def track_speedup(self, key: str) -> float:
        base, cand = _timer.time_pair(self.case.baseline, self.case.candidate, self.inputs)
        return base.median_s / cand.median_s

    track_speedup.unit = "ratio"

    def track_memory_ratio(self, key: str) -> float:
        b = _timer.peak_memory(self.case.baseline, self.inputs)
        c = _timer.peak_memory(self.case.candidate, self.inputs)
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
