"""The default engine: a stack sampler driven by a background thread.

Every ``interval_s`` a hidden thread (started with ``_thread`` so the program does not see it in
``threading.enumerate()``) reads every thread's stack with ``sys._current_frames()`` and the
thread's CPU clock. Its cost is per sample, not per call: the program runs unhooked between
samples, which is what keeps call-heavy code near plain-python speed (cProfile and pyinstrument
both hook every call). Each sample carries the real time elapsed since the previous one, so
late samples (the thread waits for the GIL) still add up to the true wall time.
"""

from __future__ import annotations

import _thread
import time
from collections.abc import Callable
from typing import ClassVar

from perfkit.profiling.engines import _stacks
from perfkit.profiling.engines._sample import sample_threads
from perfkit.profiling.engines.base import Collector

#: Threads started by perfkit's engines; samplers skip them.
PERFKIT_THREADS: set[int] = set()

#: 100 Hz, as py-spy samples. Measured (reports/profiler-overhead.md, benchmark in
#: perfkit.profiling.overhead): at 1 kHz the sampler's own CPU showed up on call- and
#: allocation-heavy programs (user CPU +15-20 %); at 100 Hz it is within noise, and the sample
#: weights (the real time between samples) keep totals exact.
DEFAULT_INTERVAL_S = 0.01


class SamplingEngine:
    """Wall and CPU time per call path, per function and per line, for all threads."""

    name: ClassVar[str] = "sampling"
    provides: ClassVar[frozenset[str]] = frozenset({"tree", "functions", "lines"})
    hooks_calls: ClassVar[bool] = False

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S, show_all: bool = False) -> None:
        if not interval_s > 0:
            raise ValueError("interval_s must be > 0")
        self.interval_s = interval_s
        #: Keep the import machinery's frames in the tree (``--show-all``); folded by default.
        self.show_all = show_all
        self.stacks: dict[tuple[int, tuple[tuple[int, int], ...]], list[float]] = {}
        self.codes: dict[int, object] = {}
        self.names: dict[int, str] = {}
        #: Threads never sampled: in-process profiling of a block leaves out the threads that
        #: were already running (a host's thread pools), which would read as idle "hot" waits.
        self.ignore_threads: frozenset[int] = frozenset()
        self.samples = 0
        #: Called with the time of each sample, in this sampler's thread (the memory engine's
        #: RSS readings ride here: one waking thread instead of two).
        self.riders: list[Callable[[float], None]] = []
        self.rider_errors = 0
        self._stop_lock = _thread.allocate_lock()
        self._done_lock = _thread.allocate_lock()
        self._running = False

    def prepare(self, program: object | None) -> None:
        """Nothing to instrument: sampling needs no preparation."""

    def start(self) -> None:
        """Start the sampler thread."""
        self._stop_lock.acquire()
        self._done_lock.acquire()
        self._running = True
        self.names = _stacks.thread_names()
        _thread.start_new_thread(self._run, ())

    def stop(self) -> None:
        """Stop the sampler thread and wait for its last sample."""
        if not self._running:
            return
        self._running = False
        self.names.update(_stacks.thread_names())
        self._stop_lock.release()
        self._done_lock.acquire()
        self._done_lock.release()

    def _run(self) -> None:
        me = _thread.get_ident()
        PERFKIT_THREADS.add(me)
        stacks, codes = self.stacks, self.codes
        interval = self.interval_s
        skip = PERFKIT_THREADS
        ignored = self.ignore_threads
        clocks: dict[int, int | None] = {}
        names = self.names
        import threading

        active = threading._active  # type: ignore[attr-defined]  # ident -> Thread, no lock

        def name_new(tid: int) -> None:
            # a thread seen for the first time: name it now, it may end before the next
            # periodic refresh (short-lived workers lost their names)
            thread = active.get(tid)
            if thread is not None:
                names[tid] = thread.name

        last_cpu: dict[int, float] = {}
        last_keys: dict[int, tuple] = {}  # a thread that did not run keeps its stack
        last = time.perf_counter()
        wait = self._stop_lock.acquire
        try:
            while not wait(timeout=interval):
                now = time.perf_counter()
                dt, last = now - last, now
                sample_threads(
                    stacks, codes, clocks, last_cpu, skip, ignored, dt, 0, name_new, last_keys
                )
                self.samples += 1
                for ride in self.riders:
                    try:
                        ride(now)
                    except Exception:  # noqa: BLE001 - a rider never stops the sampler
                        self.rider_errors += 1
                if self.samples % 64 == 0:  # threads come and go; keep their names
                    self.names.update(_stacks.thread_names())
        finally:
            PERFKIT_THREADS.discard(me)
            self._done_lock.release()

    def contribute(self, collector: Collector) -> None:
        """Add the call tree, the function table and hot lines to ``collector``."""
        threads, functions, hot = _stacks.build(
            self.stacks,
            self.codes,
            self.names,
            collector.base_depth,  # type: ignore[arg-type]
            fold_imports=not self.show_all,
        )
        collector.threads = threads
        if not collector.functions:
            collector.functions = functions
        collector.hot_lines = hot
        collector.sample_count = self.samples
        collector.interval_s = self.interval_s
