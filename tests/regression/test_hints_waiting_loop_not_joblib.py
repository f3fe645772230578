"""Regression: the hint corpus's I/O-wait control (p11) got a joblib hint in an idle run.

The CPU-bound bar was scaled by the whole run's CPU/wall, so in a program that mostly sleeps
(run at ~5% CPU) a sleeping loop at ~5% CPU/wall read as CPU-bound. The bar now comes from the
main thread's run-queue wait (``/proc/thread-self/schedstat``) where the profile has it: an idle
machine queues nothing, so the sleeping loop is waiting code. Checked on a real run too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from perfkit.profiling.runner import sched_delta, thread_sched

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # a plain `pytest` run
    sys.path.insert(0, str(ROOT))


@pytest.mark.skipif(thread_sched() is None, reason="no /proc/thread-self/schedstat here")
def test_thread_sched_reads_cpu_and_queue_wait() -> None:
    before = thread_sched()
    sum(i * i for i in range(200_000))
    after = thread_sched()
    delta = sched_delta(before, after)
    assert delta is not None and delta["cpu_s"] > 0 and delta["runqueue_wait_s"] >= 0


@pytest.mark.skipif(thread_sched() is None, reason="no /proc/thread-self/schedstat here")
def test_sleeping_loop_profile_gets_no_joblib_hint(tmp_path: Path) -> None:
    from tests.hint_corpus import evaluate as ev

    prof = ev.profile_program(ev.HERE / "p11_io_wait_clean.py", tmp_path / "rep")
    sched = prof.environment["main_thread_sched"]
    assert sched["cpu_s"] > 0 and sched["runqueue_wait_s"] >= 0
    assert [h.rule for h in prof.hints] == []
