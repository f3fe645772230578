"""``--memory-lines``: memory_profiler's per-line memory increments of chosen functions.

memory_profiler traces every line with ``sys.settrace`` and reads RSS on each line of the chosen
functions, so it is slow; it is meant for the few functions the memory summary pointed at.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from perfkit.errors import MissingDependencyError
from perfkit.profiling._source import source_lines
from perfkit.profiling.engines import _targets
from perfkit.profiling.engines._stacks import qualname
from perfkit.profiling.engines.base import Collector
from perfkit.profiling.model import MemoryLine, MemoryLineTable, MemoryReport

_MIB = 1024 * 1024


class MemoryLinesEngine:
    """memory_profiler on the functions named by ``targets``."""

    name: ClassVar[str] = "memory-lines"
    provides: ClassVar[frozenset[str]] = frozenset({"memory_line_tables"})
    hooks_calls: ClassVar[bool] = True

    def __init__(self, targets: list[str] | None = None, functions: list[Any] | None = None):
        try:
            import memory_profiler
        except ImportError:
            raise MissingDependencyError("memory_profiler", "all", "--memory-lines") from None
        self.specs = list(targets or [])
        self.functions = list(functions or [])
        self.profiler = memory_profiler.LineProfiler(backend="psutil")
        self._running = False

    def prepare(self, program: Any | None) -> None:
        """Register the targets' code objects (from the program's code, possibly instrumented)."""
        for t in _targets.resolve(self.specs, program, "--memory-lines"):
            if t.func is not None:
                self.profiler.add_function(t.func)
            elif program is not None:
                # The lines engine may have swapped the code for a padded copy: look it up again.
                code = next(
                    c for c in _targets.iter_codes(program.code) if c.co_qualname == t.qualname
                )
                self.profiler.code_map.add(code)
        for fn in self.functions:
            fn = inspect.unwrap(fn)
            self.profiler.add_function(getattr(fn, "__func__", fn))

    def start(self) -> None:
        """Switch memory_profiler's line tracer on."""
        self.profiler.enable_by_count()
        self._running = True

    def stop(self) -> None:
        """Switch it off."""
        if self._running:
            self.profiler.disable_by_count()
            self._running = False

    def contribute(self, collector: Collector) -> None:
        """Add one MemoryLineTable per function (increments in bytes)."""
        tables = []
        codes = {id(code): code for _f, code, _l in self.profiler.code_map._toplevel}
        for filename, code, linenos in self.profiler.code_map._toplevel:
            measures = self.profiler.code_map[code]
            if not measures:
                continue
            src = source_lines(filename)
            rows = []
            for ln in linenos:
                m = measures.get(ln)
                rows.append(
                    MemoryLine(
                        line=ln,
                        increment_bytes=int(m[0] * _MIB) if m else 0,
                        usage_bytes=int(m[1] * _MIB) if m else 0,
                        occurrences=int(m[2]) if m else 0,
                        source=src[ln - 1] if 0 < ln <= len(src) else "",
                    )
                )
            tables.append(MemoryLineTable(qualname(codes[id(code)]), filename, tuple(rows)))
        mem = collector.memory or MemoryReport(0, 0, 0)
        from dataclasses import replace

        collector.memory = replace(mem, line_tables=tuple(tables))
