"""Regression: perfkit.profile() on a block counted the host's idle pool threads (found when the
suite ran under pytest-xdist beside a persistent thread pool): their ``Condition.wait`` became
the "hottest" function. A block's profile covers its own thread and the threads it starts."""

from __future__ import annotations

import threading

import perfkit.profiling as pp


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def _spin_until_sampled(p: pp.profile, passes: int) -> None:
    """Spin until the block's sampler has made ``passes`` more passes over the threads.

    A pass that begins after this call began sees the calling thread alive, so the caller is
    sampled however loaded the machine is (a fixed amount of work is not: a 20 ms thread on a
    busy CI machine could start and end between two samples and be missing from the profile).
    """
    sampler = next(e for e in p._engines if hasattr(e, "ignore_threads"))
    target = sampler.samples + passes
    while sampler.samples < target:
        _spin(20_000)


def test_block_profile_ignores_threads_that_were_already_running() -> None:
    stop = threading.Event()
    idle = threading.Thread(target=stop.wait, name="host-idle-pool", daemon=True)
    idle.start()
    try:
        with pp.profile(interval_s=0.001) as p:
            _spin_until_sampled(p, 20)
            started = threading.Thread(
                target=_spin_until_sampled, args=(p, 2), name="started-inside"
            )
            started.start()
            started.join()
    finally:
        stop.set()
        idle.join()
    prof = p.result
    names = {t.name for t in prof.threads}
    assert "host-idle-pool" not in names
    assert prof.top_functions(1)[0].function == "_spin"
    assert len(prof.threads) == 2  # this thread and the one started inside the block


def test_raw_threads_started_before_the_block_are_left_out_too() -> None:
    """Threads started with ``_thread`` (as execnet does) are not in threading.enumerate()."""
    import _thread

    stop, running = threading.Event(), threading.Event()

    def idle() -> None:
        running.set()
        stop.wait()

    _thread.start_new_thread(idle, ())
    running.wait()
    try:
        with pp.profile(interval_s=0.001) as p:
            _spin_until_sampled(p, 20)
    finally:
        stop.set()
    assert len(p.result.threads) == 1
    assert p.result.top_functions(1)[0].function == "_spin"
