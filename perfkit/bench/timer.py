"""Time a baseline/candidate pair fairly: warm-up, interleaved repeats, medians, peak memory.

Samples of the two sides alternate so that a slow drift of the machine (another process, thermal
throttling) lands on both. Calls too short to time alone are batched, as ``timeit`` does.
On CUDA every sample is bracketed by a device synchronisation.

Peak memory is measured per allocator, in one untimed call per side, so tracing never slows the
timed samples:

``tracemalloc``
    Python objects and NumPy buffers (NumPy reports its data buffers to tracemalloc's domain
    389047).
``torch_cpu``
    Tensors on the CPU. torch allocates them outside tracemalloc, so they are read from the
    allocation/free events of torch's profiler (``profile_memory=True``), replayed in time order.
    Only when torch is already imported.
``cuda``
    ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``. Only on CUDA.

The side's ``peak_bytes`` is the sum of the allocators' peaks (exact when one allocator is used,
an upper bound when several peak at different moments). As a cross-check that needs no
allocator's cooperation, the process's resident-set high-water mark is read around the last
timed sample of each side (Linux: ``/proc/self/clear_refs`` resets ``VmHWM``); it misses memory
that the C allocator reuses without returning to the system, so it is never the figure itself.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

MIN_REPEAT = 5
#: A sample shorter than this is too close to the clock's resolution: batch calls until it isn't.
MIN_SAMPLE_S = 2e-3
#: Never batch more than this many calls into one sample.
MAX_NUMBER = 1_000_000
#: The allocators a side's peak can come from, in the order they are reported.
ALLOCATORS = ("tracemalloc", "torch_cpu", "cuda")


@dataclass(frozen=True)
class MemoryPeak:
    """The peak bytes one call allocated, per allocator, plus the RSS cross-check.

    Parameters
    ----------
    by_allocator
        Peak bytes above the level before the call, for each allocator that was measured
        (``tracemalloc``, ``torch_cpu``, ``cuda``).
    rss_hwm_bytes
        Growth of the process's resident-set high-water mark during an untraced call; ``None``
        where the platform cannot reset it.
    notes
        Why an allocator could not be measured (e.g. torch's profiler already running).
    """

    by_allocator: Mapping[str, int] = field(default_factory=dict)
    rss_hwm_bytes: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        """Sum of the allocators' peaks (an upper bound when they peak at different times)."""
        return int(sum(self.by_allocator.values()))

    @property
    def seen(self) -> tuple[str, ...]:
        """Allocators that allocated anything during the call."""
        return tuple(a for a in ALLOCATORS if self.by_allocator.get(a, 0) > 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "allocators": {k: int(v) for k, v in self.by_allocator.items()},
            "seen": list(self.seen),
            "rss_hwm_bytes": self.rss_hwm_bytes,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MemoryPeak:
        rss = data.get("rss_hwm_bytes")
        return cls(
            by_allocator={str(k): int(v) for k, v in (data.get("allocators") or {}).items()},
            rss_hwm_bytes=None if rss is None else int(rss),
            notes=tuple(str(n) for n in data.get("notes") or ()),
        )


@dataclass(frozen=True)
class Timing:
    """The samples of one side: per-call seconds of each repeat, and the peak memory of one call."""

    times_s: tuple[float, ...]
    number: int = 1
    peak_bytes: int | None = None
    memory: MemoryPeak | None = None

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
            "memory": self.memory.to_dict() if self.memory is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timing:
        peak = data.get("peak_bytes")
        mem = data.get("memory")
        return cls(
            times_s=tuple(float(t) for t in data["times_s"]),
            number=int(data.get("number", 1)),
            peak_bytes=None if peak is None else int(peak),
            memory=MemoryPeak.from_dict(mem) if mem else None,
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


# --- the process RSS high-water mark (Linux) -----------------------------------------------------

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_bytes(key: str) -> int | None:
    try:
        with open(_STATUS, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_rss_hwm() -> int | None:
    """Reset the process's RSS high-water mark to its current RSS; return that RSS in bytes.

    ``None`` where this is impossible (not Linux, or ``/proc/self/clear_refs`` not writable).
    """
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return None
    return _status_bytes("VmRSS")


def rss_hwm_since(rss_before: int | None) -> int | None:
    """Growth of the RSS high-water mark over ``rss_before`` (from :func:`reset_rss_hwm`)."""
    if rss_before is None:
        return None
    hwm = _status_bytes("VmHWM")
    return None if hwm is None else max(0, hwm - rss_before)


def rss_peak(fn: Callable[[Any], Any], inputs: Any) -> int | None:
    """RSS high-water-mark growth during one untraced call of ``fn`` (``None`` if unmeasurable)."""
    gc.collect()
    before = reset_rss_hwm()
    fn(inputs)
    return rss_hwm_since(before)


# --- allocator peaks ------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (torch's profiler prints a line when it starts and stops)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _TorchCpuPeak:
    """Peak bytes of CPU tensors allocated inside the block, from torch profiler memory events."""

    def __init__(self) -> None:
        self.peak: int | None = None
        self.note: str | None = None
        self._prof: Any = None

    def __enter__(self) -> _TorchCpuPeak:
        torch = sys.modules.get("torch")
        if torch is None:
            return self
        try:
            # The autograd profiler, not torch.profiler.profile: the latter's start runs
            # ``hasattr(torch, "_inductor")``, which imports inductor and dynamo (~11 s) first.
            from torch.autograd.profiler import profile

            self._prof = profile(use_cpu=True, profile_memory=True, use_kineto=True)
            with _quiet_stderr():
                self._prof.__enter__()
        except Exception as exc:  # another profiler running, a torch without kineto...
            self._prof = None
            self.note = f"torch_cpu not measured: {type(exc).__name__}: {exc}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._prof is None:
            return
        import torch

        try:
            with _quiet_stderr():
                self._prof.__exit__(None, None, None)
            events = self._prof.kineto_results.events()
            cpu = torch.autograd.DeviceType.CPU
            steps = sorted(
                (e.start_ns(), int(e.nbytes()))
                for e in events
                if e.name() == "[memory]" and e.device_type() == cpu
            )
        except Exception as exc:
            self.note = f"torch_cpu not measured: {type(exc).__name__}: {exc}"
            return
        level = peak = 0
        for _, nbytes in steps:
            level += nbytes
            peak = max(peak, level)
        self.peak = peak


def measure_peak(fn: Callable[[Any], Any], inputs: Any, device: str = "cpu") -> MemoryPeak:
    """Peak bytes of one call of ``fn(inputs)``, per allocator it used.

    Parameters
    ----------
    fn, inputs
        The side to measure and what it is called with.
    device
        ``"cuda"`` also resets and reads ``torch.cuda``'s peak statistics.

    Returns
    -------
    MemoryPeak
        ``tracemalloc`` always; ``torch_cpu`` when torch is imported; ``cuda`` on CUDA. The RSS
        cross-check is not taken here (tracing inflates RSS): see :func:`rss_peak`.
    """
    torch_mod: Any = None
    cuda_before = 0
    if device == "cuda":
        import torch as torch_mod

        sync: Callable[[], None] = torch_mod.cuda.synchronize
        sync()
        torch_mod.cuda.reset_peak_memory_stats()
        cuda_before = torch_mod.cuda.memory_allocated()
    else:
        sync = _no_sync
    gc.collect()
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    try:
        with _TorchCpuPeak() as torch_cpu:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            fn(inputs)
            sync()
            _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    by: dict[str, int] = {"tracemalloc": int(max(0, traced_peak - before))}
    if torch_cpu.peak is not None:
        by["torch_cpu"] = int(torch_cpu.peak)
    if device == "cuda" and torch_mod is not None:
        by["cuda"] = int(max(0, torch_mod.cuda.max_memory_allocated() - cuda_before))
    notes = (torch_cpu.note,) if torch_cpu.note else ()
    return MemoryPeak(by_allocator=by, notes=notes)


def _no_sync() -> None:
    return None


def peak_memory(fn: Callable[[Any], Any], inputs: Any, device: str = "cpu") -> int:
    """Peak bytes allocated during one call of ``fn`` above what was allocated before it.

    The sum over every allocator the call used (NumPy and Python objects, torch CPU tensors,
    CUDA): see :func:`measure_peak` for the breakdown.
    """
    return measure_peak(fn, inputs, device).total_bytes


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
        Also measure each side's peak memory in one extra, untimed call, and read the RSS
        high-water mark around the last timed sample of each side.
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
    rss: dict[str, int | None] = {"b": None, "c": None}
    for i in range(repeat):
        last = memory and i == repeat - 1
        for key, fn, n, times in (
            ("b", baseline, n_base, base_times),
            ("c", candidate, n_cand, cand_times),
        ):
            if last:
                gc.collect()
                before = reset_rss_hwm()
            times.append(_sample(fn, inputs, n, sync))
            if last:
                rss[key] = rss_hwm_since(before)
    if not memory:
        return Timing(tuple(base_times), n_base), Timing(tuple(cand_times), n_cand)
    base_mem = measure_peak(baseline, inputs, device)
    cand_mem = measure_peak(candidate, inputs, device)
    base_mem = MemoryPeak(base_mem.by_allocator, rss["b"], base_mem.notes)
    cand_mem = MemoryPeak(cand_mem.by_allocator, rss["c"], cand_mem.notes)
    return (
        Timing(tuple(base_times), n_base, base_mem.total_bytes, base_mem),
        Timing(tuple(cand_times), n_cand, cand_mem.total_bytes, cand_mem),
    )
