"""Regression: `perfkit profile --memory` died with SIGSEGV about one run in ten on
tests/hint_corpus/p08_vectorized_clean.py.

Root cause (gdb backtrace of the crash): the memory sampler thread called ``tracemalloc.stop()``
while the main thread was inside NumPy's ``npyiter_allocate_buffers`` -> ``PyMem_RawMalloc`` ->
tracemalloc's raw hook, waiting for the GIL with the GIL released; ``stop()`` freed tracemalloc's
traceback buffer and the main thread then wrote through NULL in ``traceback_new`` (CPython
gh-128679, unfixed before 3.12.9 / 3.13.2). The suspected ``frame.f_locals`` read from the sampler
thread did not crash on its own (2.7 M cross-thread reads), but it is not thread-safe either.
The engine now has the main thread open/close tracemalloc windows and read its own locals, at the
sampler's request, in a signal handler (``MainThreadCalls``).

The checks run in subprocesses (a crash there fails the test instead of killing pytest, and the
program is alone in its process as a profiled program is: no xdist IO thread).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Sampler every 1 ms, a tracemalloc window of 2 ms every 10 ms: about a hundred times as many
# windows as the defaults, over the kind of NumPy work that crashed (buffered ufuncs on strided
# float32 slices). Every call of tracemalloc.start/stop and every locals read is logged with
# the thread it ran on. Runs are counted, not timed: the loop of one run goes on until a window
# has been opened and closed and a float64 array that dies before stop() has been noted (the
# mid-run locals read), at most 400 rounds.
_PROGRAM = textwrap.dedent(
    """
    import json, sys, threading, tracemalloc
    import numpy as np
    from perfkit.profiling.engines import memory as M

    log = []

    def on_main():
        return threading.current_thread() is threading.main_thread()

    class Spy:
        def __getattr__(self, name):
            return getattr(tracemalloc, name)
        def start(self, *a):
            log.append(("start", on_main()))
            tracemalloc.start(*a)
        def stop(self):
            log.append(("stop", on_main()))
            tracemalloc.stop()

    M.tracemalloc = Spy()
    note = M.MemoryEngine._note_arrays
    def spy_note(self, frame, key):
        log.append(("locals", on_main()))
        return note(self, frame, key)
    M.MemoryEngine._note_arrays = spy_note

    def moving_average(x, window):
        c = np.cumsum(x, axis=1, dtype=np.float32)
        return (c[:, window:] - c[:, :-window]) / window

    def step(k):
        rng = np.random.default_rng(k)
        prices = 100.0 + rng.standard_normal((200, 2000), dtype=np.float32).cumsum(axis=1)
        prices = np.abs(prices, out=prices)
        logret = np.diff(np.log(prices), axis=1)
        ma = moving_average(logret, 20)
        vol = np.sqrt(moving_average(logret * logret, 20) - ma * ma)
        # 40 MB float64: above glibc's largest mmap threshold (32 MB), so its pages are always
        # fresh and RSS grows (a smaller array can reuse freed heap pages: no growth to see)
        returns = np.linspace(0.0, 1.0, 5_000_000)
        total = float(returns.sum())
        for _ in range(3):
            total += float(moving_average(logret, 5)[:, -1].sum())
        return float(ma[:, -1].mean()) + float(np.nanmean(vol)) + total

    runs = int(sys.argv[1])
    out = []
    for run in range(runs):
        engine = M.MemoryEngine(interval_s=0.001, period_s=0.01, window_s=0.002)
        engine.start()
        rounds = 0
        while rounds < 400 and not (
            engine.covered_s > 0 and any(a.name == "returns" for a in engine.arrays.values())
        ):
            step(rounds)
            rounds += 1
        engine.stop()
        out.append({
            "rounds": rounds,
            "covered_s": engine.covered_s,
            "arrays": [[a.name, a.dtype, a.float32_max_rel_error] for a in engine.arrays.values()],
            "skipped": engine.windows_skipped,
            "tracing_after": tracemalloc.is_tracing(),
        })
    print(json.dumps({"runs": out, "log": log}))
    """
)


def _run(runs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(runs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_many_memory_runs_never_crash_and_keep_their_evidence() -> None:
    result = _run(30)
    assert len(result["runs"]) == 30
    for run in result["runs"]:
        assert run["covered_s"] > 0, run  # windows were opened and closed
        assert not run["tracing_after"], run  # no window left open
        returns = [a for a in run["arrays"] if a[0] == "returns"]
        # evidence for the float64-downcast hint, read from the locals mid-run
        assert returns and returns[0][1] == "float64" and returns[0][2] is not None, run
    kinds = {kind for kind, _ in result["log"]}
    assert kinds == {"start", "stop", "locals"}
    off_main = [entry for entry in result["log"] if not entry[1]]
    assert off_main == [], "tracemalloc start/stop and locals reads belong to the main thread"


def test_main_thread_calls_leave_a_programs_own_signal_handler_alone() -> None:
    from perfkit.profiling.engines.memory import MainThreadCalls

    if not hasattr(signal, "pthread_kill") or not hasattr(signal, "SIGURG"):
        pytest.skip("needs POSIX signals")
    import threading

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers are installed from the main thread only")
    saved = {s: signal.getsignal(s) for s in (signal.SIGURG, signal.SIGWINCH)}

    def program_handler(signum: int, frame: object) -> None:
        seen.append(signum)

    seen: list[int] = []
    frames: list[object] = []
    try:
        signal.signal(signal.SIGURG, program_handler)  # the program claimed SIGURG
        signal.signal(signal.SIGWINCH, signal.SIG_DFL)
        calls = MainThreadCalls(frames.append)
        assert calls.install() and calls.signum == signal.SIGWINCH
        done = threading.Event()

        def ask() -> None:
            calls.request()
            done.set()

        threading.Thread(target=ask).start()
        done.wait(10)
        for _ in range(1000):  # the handler runs on this (main) thread, between bytecodes
            if calls.calls:
                break
            time.sleep(0.001)
        assert calls.calls == 1 and calls.errors == 0 and seen == []
        # the program takes SIGWINCH over: nothing more is sent, and its handler stays
        signal.signal(signal.SIGWINCH, program_handler)
        assert not calls.request()
        calls.uninstall()
        assert signal.getsignal(signal.SIGWINCH) is program_handler
        assert signal.getsignal(signal.SIGURG) is program_handler
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def test_main_thread_calls_restore_the_default_and_refuse_other_threads() -> None:
    import threading

    from perfkit.profiling.engines.memory import MainThreadCalls

    if not hasattr(signal, "pthread_kill") or threading.current_thread() is not (
        threading.main_thread()
    ):
        pytest.skip("needs POSIX signals and the main thread")
    saved = signal.getsignal(signal.SIGURG)
    try:
        signal.signal(signal.SIGURG, signal.SIG_DFL)
        calls = MainThreadCalls(lambda frame: None)
        assert calls.install() and calls.signum == signal.SIGURG and calls.installed
        calls.uninstall()
        assert signal.getsignal(signal.SIGURG) == signal.SIG_DFL and not calls.request()
        result: list[bool] = []
        worker = threading.Thread(target=lambda: result.append(MainThreadCalls(print).install()))
        worker.start()
        worker.join()
        assert result == [False]
    finally:
        signal.signal(signal.SIGURG, saved)


def test_windows_wait_for_the_program_to_be_alone_where_stop_can_crash(monkeypatch) -> None:
    """On a Python with gh-128679, another thread of the program could be inside an allocator
    hook when the main thread stops tracemalloc: no window is opened while one runs."""
    import threading

    from perfkit.profiling.engines import memory

    engine = memory.MemoryEngine()
    engine._calls = memory.MainThreadCalls(lambda frame: None)  # never installed or sent
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        monkeypatch.setattr(memory, "TRACEMALLOC_STOP_RACE", True)
        assert not engine._may_open_window()
        monkeypatch.setattr(memory, "TRACEMALLOC_STOP_RACE", False)
        assert engine._may_open_window() != memory.tracemalloc.is_tracing()
    finally:
        release.set()
        worker.join()
    engine._calls = None  # no way to reach the main thread: never a window
    assert not engine._may_open_window()
