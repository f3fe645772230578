"""One stack sample of every thread: the hot loop of the default engine and of the child sampler.

:mod:`perfkit.profiling.engines.sampling` (the profiled process) and
:mod:`perfkit.profiling.children._child` (every followed child process) both call
:func:`sample_threads` once per tick. It imports only builtin modules (``sys``, ``time``): the
child sampler must stay light.

A stack is recorded leaf first as ``((id(code), line), ...)`` under ``(thread id, stack)`` with
``[wall_s, cpu_s, samples]``; ``codes`` keeps each code object alive (its id stays unique) and
is filled before ``stacks`` so a concurrent reader that copies ``stacks`` then ``codes`` finds
every code.
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False  # typing's import costs every followed child milliseconds

if TYPE_CHECKING:
    from collections.abc import Callable, Container

#: Sentinel of ``clocks``: a thread not seen yet.
_UNSEEN = -1


def sample_threads(
    stacks: dict,
    codes: dict,
    clocks: dict,
    last_cpu: dict,
    skip: Container[int],
    ignored: Container[int],
    dt: float,
    watch: int = 0,
    on_new: Callable[[int], None] | None = None,
    last_keys: dict | None = None,
) -> float:
    """Add one sample of every thread (but ``skip`` and ``ignored``) weighted ``dt`` seconds.

    Each thread's CPU time since its previous sample (its CPU clock, read here) is added
    beside. ``on_new(tid)`` is called for a thread seen for the first time (it may end before
    the caller's next look at the thread names). Returns the CPU seconds of thread ``watch``
    in this sample (0.0 when it was not sampled).

    With ``last_keys`` (tid -> the thread's previous stack key, kept by the caller), a thread
    whose CPU clock has not moved since its previous sample is counted on that stack without
    walking its frames again: a thread that did not run cannot have changed its stack (its
    innermost frame and line are still checked). Waiting threads (a pool's handler threads, a
    parent blocked on its workers) then cost one clock read per sample, not a walk of a deep
    stack.
    """
    watched = 0.0
    frames = sys._current_frames()
    for tid, frame in frames.items():
        if tid in skip or tid in ignored:
            continue
        clk = clocks.get(tid, _UNSEEN)
        if clk == _UNSEEN:
            if on_new is not None:
                on_new(tid)
            try:
                clk = time.pthread_getcpuclockid(tid)
            except (OSError, AttributeError):
                clk = None
            clocks[tid] = clk
        cpu = 0.0
        still = False  # the thread has not run since its previous sample
        if clk is not None:
            try:
                c = time.clock_gettime(clk)
            except OSError:
                c = None
            if c is not None:
                prev = last_cpu.get(tid)
                if prev is not None:
                    cpu = c - prev
                    still = cpu == 0.0
                last_cpu[tid] = c
        if tid == watch:
            watched = cpu
        if still and last_keys is not None:
            k = last_keys.get(tid)
            if k is not None and k[1][0] == (id(frame.f_code), frame.f_lineno or 0):
                row = stacks.get(k)
                if row is None:
                    stacks[k] = [dt, cpu, 1]
                else:
                    row[0] += dt
                    row[2] += 1
                continue
        key = []
        f = frame
        while f is not None:
            code = f.f_code
            cid = id(code)
            if cid not in codes:
                codes[cid] = code
            key.append((cid, f.f_lineno or 0))
            f = f.f_back
        k = (tid, tuple(key))
        if last_keys is not None:
            last_keys[tid] = k
        row = stacks.get(k)
        if row is None:
            stacks[k] = [dt, cpu, 1]
        else:
            row[0] += dt
            row[1] += cpu
            row[2] += 1
    frame = f = None  # no frame outlives the sample (a frame keeps its locals alive)
    del frames
    return watched
