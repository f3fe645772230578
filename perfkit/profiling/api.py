"""The Python API: ``perfkit.profile`` as a context manager and as a decorator.

>>> import perfkit
>>> with perfkit.profile(memory=True) as p:      # doctest: +SKIP
...     run_pipeline()
>>> p.result.top_functions(5)                      # doctest: +SKIP
>>> p.save("reports/profiles/pipeline")            # doctest: +SKIP

``@perfkit.profile(lines=[fn])`` on a function profiles every call; ``.result`` is the last.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from perfkit._env import CommitLookup
from perfkit.profiling._source import is_internal
from perfkit.profiling.engines.base import Collector
from perfkit.profiling.model import Profile
from perfkit.profiling.session import Options, build_profile, make_engines

F = TypeVar("F", bound=Callable[..., Any])


class profile:  # noqa: N801 - a user-facing name that reads as a verb: perfkit.profile(...)
    """Profile a block or a function with the same engines and the same model as the CLI.

    Parameters
    ----------
    memory
        Measure RSS over time, its peak and allocation sites (``--memory``).
    lines
        Functions (objects, or ``"module:qualname"`` strings) to time line by line.
    memory_lines
        Functions (objects or strings) for memory_profiler's per-line increments.
    cpu
        ``"sampling"`` (default), ``"pyinstrument"``, ``"tracing"`` or ``"off"``.
    interval_s
        Sampling interval.
    tracemalloc
        With ``memory``: ``"sampled"`` (default), ``"full"`` or ``"off"``.
    hints
        Compute hints into ``result.hints``.

    Attributes
    ----------
    result : Profile or None
        The profile of the block (or of the last call of the decorated function).
    """

    def __init__(
        self,
        *,
        memory: bool = False,
        lines: Sequence[Any] = (),
        memory_lines: Sequence[Any] = (),
        cpu: str = "sampling",
        interval_s: float = 0.01,
        tracemalloc: str = "sampled",
        hints: bool = True,
    ) -> None:
        self._kwargs = dict(
            memory=memory,
            lines=lines,
            memory_lines=memory_lines,
            cpu=cpu,
            interval_s=interval_s,
            tracemalloc=tracemalloc,
            hints=hints,
        )
        self.options = Options(
            cpu=cpu,
            interval_s=interval_s,
            lines=[x for x in lines if isinstance(x, str)] or None,
            lines_functions=[x for x in lines if not isinstance(x, str)],
            memory=memory,
            tracemalloc=tracemalloc,
            memory_lines=[x for x in memory_lines if isinstance(x, str)],
            memory_lines_functions=[x for x in memory_lines if not isinstance(x, str)],
            hints=hints,
        )
        self.result: Profile | None = None
        self._engines: list[Any] = []
        self._label = "block"
        self._depth = 0

    def __enter__(self) -> profile:
        caller = sys._getframe(1)
        return self._start(caller)

    def _start(self, caller: Any) -> profile:
        self._label = f"{caller.f_code.co_qualname}"
        # Frames outside the block (the caller's callers) are not part of the profile.
        depth, f = 0, caller
        while f is not None:
            depth += 1
            f = f.f_back
        self._depth = depth - 1
        self._engines = make_engines(self.options, list(self.options.lines or []))
        # Profile this thread and the threads the block starts, not the host's older threads.
        # sys._current_frames also sees threads started with _thread (execnet's IO thread, ...),
        # which threading.enumerate() does not list.
        others = frozenset(sys._current_frames()) - {threading.get_ident()}
        for e in self._engines:
            if hasattr(e, "ignore_threads"):
                e.ignore_threads = others
            e.prepare(None)
        self._started_at = _utc_now()
        self._cwd = os.getcwd()  # the block may chdir; report paths stay relative to here
        self._commit = CommitLookup(os.getcwd())
        from perfkit.profiling.runner import thread_sched

        self._sched0 = thread_sched()
        self._t0, self._c0 = time.perf_counter(), time.process_time()
        for e in self._engines:
            e.start()
        return self

    def __exit__(self, etype: Any, exc: Any, tb: Any) -> None:
        wall, cpu = time.perf_counter() - self._t0, time.process_time() - self._c0
        from perfkit.profiling.runner import sched_delta, thread_sched

        sched = sched_delta(self._sched0, thread_sched())
        for e in reversed(self._engines):
            e.stop()
        import _thread

        collector = Collector()
        if not is_internal(sys._getframe(1).f_code.co_filename):
            collector.base_depth[_thread.get_ident()] = self._depth
        for e in self._engines:
            e.contribute(collector)
        ended_by = "exit"
        status = 0
        text = None
        if etype is not None:
            ended_by = "interrupt" if issubclass(etype, KeyboardInterrupt) else "exception"
            status = 130 if ended_by == "interrupt" else 1
            text = f"{etype.__name__}: {exc}"
        self.result = build_profile(
            collector,
            hints=self.options.hints,
            commit=self._commit,
            sched=sched,
            program=self._label,
            kind="callable",
            argv=tuple(sys.argv),
            modes=self.options.modes,
            started_at=self._started_at,
            cwd=self._cwd,
            wall_s=wall,
            cpu_s=cpu,
            exit_status=status,
            ended_by=ended_by,
            exception=text,
        )

    def __call__(self, fn: F) -> F:
        """Decorate ``fn``: each call runs under a fresh profile; ``self.result`` is the last."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            inner = profile(**self._kwargs)  # type: ignore[arg-type]
            inner._label = fn.__qualname__
            try:
                with inner:
                    return fn(*args, **kwargs)
            finally:
                inner.result = inner.result and _relabel(inner.result, fn.__qualname__)
                self.result = inner.result

        wrapper.profile = self  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    def save(
        self, directory: str | os.PathLike[str], formats: Sequence[str] | None = None
    ) -> dict[str, Path]:
        """Write the reports (html, json, speedscope; +pstats under tracing) to ``directory``."""
        from perfkit.errors import UsageError
        from perfkit.render.base import parse_formats, write_outputs

        if self.result is None:
            raise UsageError("nothing to save yet", "save after the profiled block or call ran")
        fmts = tuple(formats) if formats else parse_formats(None, self.options.cpu == "tracing")
        return write_outputs(self.result, directory, fmts)


def _relabel(p: Profile, name: str) -> Profile:
    from dataclasses import replace

    return replace(p, program=name)


def _utc_now() -> str:
    from perfkit._env import utc_now_iso

    return utc_now_iso()
