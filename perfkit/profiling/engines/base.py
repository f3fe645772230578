"""The engine protocol, the registry of engines, and the collector engines fill.

An engine starts and stops around the program and then contributes what it measured to a
:class:`Collector`, from which :mod:`perfkit.profiling.session` builds one
:class:`~perfkit.profiling.model.Profile`. Engines are named in :data:`ENGINES` as
``"module:Class"`` strings and imported on first use, so that ``perfkit --help`` stays light and an
engine's optional dependency is imported only when that engine is asked for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from perfkit.errors import UsageError

if TYPE_CHECKING:
    from perfkit.profiling.model import (
        FunctionStat,
        HotLine,
        LineTable,
        MemoryReport,
        ThreadTree,
    )
    from perfkit.profiling.runner import Program

#: Engine name -> "module:Class"; imported on first use.
ENGINES: dict[str, str] = {
    "sampling": "perfkit.profiling.engines.sampling:SamplingEngine",
    "pyinstrument": "perfkit.profiling.engines.pyinstrument_engine:PyinstrumentEngine",
    "tracing": "perfkit.profiling.engines.tracing:TracingEngine",
    "lines": "perfkit.profiling.engines.lines:LinesEngine",
    "memory": "perfkit.profiling.engines.memory:MemoryEngine",
    "memory-lines": "perfkit.profiling.engines.memory_lines:MemoryLinesEngine",
}


@dataclass(eq=False)
class Collector:
    """What the engines measured, gathered before it is frozen into a Profile."""

    threads: list[ThreadTree] = field(default_factory=list)
    functions: list[FunctionStat] = field(default_factory=list)
    hot_lines: list[HotLine] = field(default_factory=list)
    line_tables: list[LineTable] = field(default_factory=list)
    memory: MemoryReport | None = None
    notes: list[str] = field(default_factory=list)
    sample_count: int = 0
    interval_s: float | None = None
    #: Per-thread stack depth below which frames belong to the caller of the API, not the block.
    base_depth: dict[int, int] = field(default_factory=dict)
    #: Every process of the run (``ProcessProfile``, main first) when children were followed.
    processes: list[Any] = field(default_factory=list)


@runtime_checkable
class Engine(Protocol):
    """A profiler engine: set up, start, stop, then contribute to the collector.

    Capability flags are class attributes: ``provides`` names what it fills (``tree``,
    ``functions``, ``lines``, ``memory``), ``hooks_calls`` says whether its cost grows with the
    call rate (tracing-style) rather than the sampling rate.
    """

    name: ClassVar[str]
    provides: ClassVar[frozenset[str]]
    hooks_calls: ClassVar[bool]

    def prepare(self, program: Program | None) -> None:
        """Instrument before the program runs (``program`` is None for the Python API)."""

    def start(self) -> None:
        """Begin measuring (called on the thread that runs the program)."""

    def stop(self) -> None:
        """Stop measuring; must be safe to call once after ``start``."""

    def contribute(self, collector: Collector) -> None:
        """Add what was measured to ``collector``."""


def engine_class(name: str) -> type[Any]:
    """The engine class registered as ``name``; unknown names list the valid ones."""
    try:
        spec = ENGINES[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(ENGINES), n=3)
        more = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(
            f"unknown profiler engine {name!r}{more}", f"use one of: {', '.join(ENGINES)}"
        ) from None
    module, _, cls = spec.partition(":")
    return getattr(importlib.import_module(module), cls)
