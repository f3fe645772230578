"""Profile and FunctionStat builders shared by the profiling unit tests.

``from _profiling_builders import profile_of, func_stat`` (pytest puts this folder on
``sys.path``). Measurements are given as a sampler would record them, so tests stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from perfkit.profiling.model import FunctionStat, HotLine, MemoryReport, Profile


def profile_of(
    sources: Mapping[str, str],
    functions: Iterable[FunctionStat] = (),
    hot: Iterable[HotLine] = (),
    memory: MemoryReport | None = None,
    wall: float = 1.0,
) -> Profile:
    """A one-second (``wall``) sampling profile of ``/prog/app.py`` with these sources and rows."""
    return Profile(
        program="app.py",
        kind="script",
        argv=("app.py",),
        cwd="/prog",
        modes=("sampling",),
        started_at="2026-01-01T00:00:00Z",
        wall_s=wall,
        cpu_s=wall,
        functions=tuple(functions),
        hot_lines=tuple(hot),
        memory=memory,
        sources=dict(sources),
    )


def func_stat(
    name: str,
    file: str,
    line: int,
    total: float,
    self_s: float | None = None,
    cpu: float | None = None,
    calls: int | None = None,
    module: str = "__main__",
) -> FunctionStat:
    """A user-code function row: ``self_s`` defaults to ``total``; 10 samples."""
    return FunctionStat(
        name,
        file,
        line,
        self_s if self_s is not None else total,
        total,
        cpu,
        cpu,
        calls,
        calls,
        10,
        module,
        True,
    )
