"""The sampling step shared by the default engine and the child sampler (issue 12, item 4)."""

from __future__ import annotations

import ast
import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from perfkit.profiling.engines._sample import sample_threads


def _blocked_in_here(started: threading.Event, release: threading.Event) -> None:
    started.set()
    release.wait()


@contextlib.contextmanager
def _blocked_worker() -> Iterator[threading.Thread]:
    """A thread waiting in :func:`_blocked_in_here` until the block ends."""
    started, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=_blocked_in_here, args=(started, release))
    worker.start()
    started.wait()
    try:
        yield worker
    finally:
        release.set()
        worker.join()


def test_one_sample_records_every_thread_but_the_skipped_ones():
    with _blocked_worker() as worker:
        stacks: dict = {}
        codes: dict = {}
        clocks: dict = {}
        last_cpu: dict = {}
        seen: list[int] = []
        me = threading.get_ident()
        for _ in range(3):
            sample_threads(stacks, codes, clocks, last_cpu, {me}, (), 0.5, 0, seen.append)
        watched = sample_threads(stacks, codes, clocks, last_cpu, (), (), 0.5, me)
    assert seen.count(worker.ident) == 1  # a new thread is announced once
    assert me not in seen
    rows = {k: v for k, v in stacks.items() if k[0] == worker.ident}
    assert sum(v[2] for v in rows.values()) == 4
    assert sum(v[0] for v in rows.values()) == 2.0  # four samples of 0.5 s
    names = {codes[cid].co_name for (_, stack) in rows for cid, _line in stack}
    assert "_blocked_in_here" in names
    assert all(line >= 0 for (_, stack) in rows for _cid, line in stack)
    assert watched >= 0.0
    assert sum(v[2] for k, v in stacks.items() if k[0] == me) == 1  # sampled once unskipped


def test_child_sampler_imports_stay_builtin():
    code = (
        "import sys; before = set(sys.modules)\n"
        "import perfkit.profiling.children._child\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(sorted(new - {'perfkit'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # builtin modules only (typing alone cost a followed child several milliseconds)
    assert ast.literal_eval(out.stdout) == [], out.stdout


def test_a_thread_that_did_not_run_keeps_its_stack_without_a_walk(monkeypatch):
    """With last_keys, a still thread (CPU clock unchanged) is counted on its previous stack."""
    import perfkit.profiling.engines._sample as step

    me = threading.get_ident()
    with _blocked_worker() as worker:
        stacks: dict = {}
        codes: dict = {}
        clocks: dict = {}
        last_cpu: dict = {}
        last_keys: dict = {}
        sample_threads(stacks, codes, clocks, last_cpu, {me}, (), 0.5, 0, None, last_keys)
        first = dict(last_keys)
        # the worker's clock reads the same from now on: it did not run
        frozen = last_cpu[worker.ident]
        clk = clocks[worker.ident]
        real = step.time.clock_gettime
        monkeypatch.setattr(step.time, "clock_gettime", lambda c: frozen if c == clk else real(c))
        walked: list[int] = []
        real_codes_get = codes.__contains__

        class Spy(dict):
            def __contains__(self, cid):  # called once per frame walked
                walked.append(cid)
                return real_codes_get(cid)

        spy = Spy(codes)
        for _ in range(3):
            sample_threads(stacks, spy, clocks, last_cpu, {me}, (), 0.5, 0, None, last_keys)
        assert walked == []  # no frame of the still worker was walked again
        key = first[worker.ident]
        assert stacks[key][2] == 4 and stacks[key][0] == 2.0  # all four samples on one stack
        # the clock moves: the stack is walked again
        monkeypatch.setattr(
            step.time, "clock_gettime", lambda c: frozen + 1.0 if c == clk else real(c)
        )
        sample_threads(stacks, spy, clocks, last_cpu, {me}, (), 0.5, 0, None, last_keys)
        assert walked
        assert sum(v[2] for k, v in stacks.items() if k[0] == worker.ident) == 5
        assert sum(v[1] for k, v in stacks.items() if k[0] == worker.ident) == pytest.approx(1.0)


def test_without_last_keys_every_sample_walks(monkeypatch):
    me = threading.get_ident()
    with _blocked_worker() as worker:
        stacks: dict = {}
        for _ in range(3):
            sample_threads(stacks, {}, {}, {}, {me}, (), 0.5, 0)
        assert sum(v[2] for k, v in stacks.items() if k[0] == worker.ident) == 3
