"""Time a baseline/candidate pair fairly: warm-up, interleaved repeats, medians, peak memory.

Samples of the two sides alternate so that a slow drift of the machine (another process, thermal
throttling) lands on both. Calls too short to time alone are batched, as ``timeit`` does.
On CUDA every sample is bracketed by a device synchronisation and peak memory comes from
``torch.cuda.max_memory_allocated``; on the CPU from tracemalloc, in a separate call so that
tracing never slows the timed samples.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MIN_REPEAT = 5
#: A sample shorter than this is too close to the clock's resolution: batch calls until it isn't.
MIN_SAMPLE_S = 2e-3
#: Never batch more than this many calls into one sample.
MAX_NUMBER = 1_000_000


@dataclass(frozen=True)
class Timing:
    """The samples of one side: per-call seconds of each repeat, and the peak memory of one call."""

    times_s: tuple[float, ...]
    number: int = 1
    peak_bytes: int | None = None

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def min_s(self) -> float:
        return min(self.times_s)

    @property
    def max_s(self) -> float:
        return max(self.times_s)

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_s": self.median_s,
            "min_s": self.min_s,
            "max_s": self.max_s,
            "times_s": list(self.times_s),
            "number": self.number,
            "peak_bytes": self.peak_bytes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timing:
        return cls(
            times_s=tuple(float(t) for t in data["times_s"]),
            number=int(data.get("number", 1)),
            peak_bytes=data.get("peak_bytes"),
        )


def _synchronizer(device: str) -> Callable[[], None]:
    if device == "cuda":
        import torch

        return torch.cuda.synchronize
    return lambda: None


def _sample(fn: Callable[[Any], Any], inputs: Any, number: int, sync: Callable[[], None]) -> float:
    """Seconds per call over ``number`` back-to-back calls, GC paused as in timeit."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        sync()
        start = time.perf_counter()
        for _ in range(number):
            fn(inputs)
        sync()
        return (time.perf_counter() - start) / number
    finally:
        if gc_was_enabled:
            gc.enable()


def calibrate(fn: Callable[[Any], Any], inputs: Any, device: str = "cpu") -> int:
    """How many calls make one sample last at least MIN_SAMPLE_S."""
    sync = _synchronizer(device)
    number = 1
    while True:
        per_call = _sample(fn, inputs, number, sync)
        if per_call * number >= MIN_SAMPLE_S or number >= MAX_NUMBER:
            return number
        # Aim a bit past the target so calibration converges in one or two steps.
        wanted = math.ceil(1.2 * MIN_SAMPLE_S / max(per_call, 1e-9))
        number = min(MAX_NUMBER, max(number * 2, wanted))


def peak_memory(fn: Callable[[Any], Any], inputs: Any, device: str = "cpu") -> int:
    """Peak bytes allocated during one call of ``fn`` above what was allocated before it.

    On CUDA this is the device peak plus the host peak: a CUDA case's baseline often runs on the
    host (NumPy), and counting only device memory would make it look free.
    """
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        host = _host_peak(fn, inputs, sync=torch.cuda.synchronize)
        return int(torch.cuda.max_memory_allocated() - before) + host
    return _host_peak(fn, inputs)


def _host_peak(
    fn: Callable[[Any], Any], inputs: Any, sync: Callable[[], None] = lambda: None
) -> int:
    """Peak bytes traced by tracemalloc (Python objects and NumPy buffers) during one call."""
    gc.collect()
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        fn(inputs)
        sync()
        _, peak = tracemalloc.get_traced_memory()
        return int(max(0, peak - before))
    finally:
        if not already:
            tracemalloc.stop()


def time_pair(
    baseline: Callable[[Any], Any],
    candidate: Callable[[Any], Any],
    inputs: Any,
    *,
    repeat: int = MIN_REPEAT,
    warmup: int = 1,
    device: str = "cpu",
    memory: bool = True,
) -> tuple[Timing, Timing]:
    """Time ``baseline`` and ``candidate`` on the same ``inputs``, samples interleaved.

    Parameters
    ----------
    repeat
        Samples per side; at least ``MIN_REPEAT`` (5) so that a median means something.
    warmup
        Untimed calls per side first (JIT compilation, caches, CUDA context, lazy imports).
    memory
        Also measure each side's peak memory in one extra, untimed call.
    """
    if repeat < MIN_REPEAT:
        raise ValueError(f"repeat must be at least {MIN_REPEAT}, got {repeat}")
    sync = _synchronizer(device)
    for _ in range(warmup):
        baseline(inputs)
        candidate(inputs)
    sync()
    n_base = calibrate(baseline, inputs, device)
    n_cand = calibrate(candidate, inputs, device)
    base_times: list[float] = []
    cand_times: list[float] = []
    for _ in range(repeat):
        base_times.append(_sample(baseline, inputs, n_base, sync))
        cand_times.append(_sample(candidate, inputs, n_cand, sync))
    base_peak = peak_memory(baseline, inputs, device) if memory else None
    cand_peak = peak_memory(candidate, inputs, device) if memory else None
    return (
        Timing(tuple(base_times), n_base, base_peak),
        Timing(tuple(cand_times), n_cand, cand_peak),
    )
