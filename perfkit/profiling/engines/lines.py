"""``--lines``: line_profiler's per-line timings of chosen functions, with their source.

Functions of the profiled script do not exist before it runs, so their code objects are taken
from the compiled module and instrumented there: line_profiler pads the bytecode of each added
function (to tell twins apart), and the padded code objects are put back into the module code,
so the ``def`` statements create functions that line_profiler recognises.
"""

from __future__ import annotations

import inspect
import types
from typing import Any, ClassVar

from perfkit.errors import MissingDependencyError
from perfkit.profiling._source import source_lines
from perfkit.profiling.engines import _targets
from perfkit.profiling.engines.base import Collector
from perfkit.profiling.model import LineTable, LineTiming


class LinesEngine:
    """line_profiler on the functions named by ``targets`` (``module:qualname`` or functions)."""

    name: ClassVar[str] = "lines"
    provides: ClassVar[frozenset[str]] = frozenset({"line_tables"})
    hooks_calls: ClassVar[bool] = True

    def __init__(self, targets: list[str] | None = None, functions: list[Any] | None = None):
        try:
            from line_profiler import LineProfiler
        except ImportError:
            raise MissingDependencyError("line_profiler", "all", "--lines") from None
        self.specs = list(targets or [])
        self.functions = list(functions or [])
        self.profiler = LineProfiler()
        self._meta: dict[tuple[str, int, str], tuple[str, str]] = {}
        self._running = False

    def prepare(self, program: Any | None) -> None:
        """Resolve the targets and instrument them (in the program's code or as functions)."""
        targets = _targets.resolve(self.specs, program, "--lines")
        main_codes = {id(t.code): t for t in targets if t.code is not None}
        for t in targets:
            if t.func is not None:
                self._add_function(t.func, t.module, t.qualname)
        for fn in self.functions:
            fn = inspect.unwrap(fn)
            fn = getattr(fn, "__func__", fn)
            self._add_function(fn, getattr(fn, "__module__", ""), fn.__qualname__)
        if main_codes and program is not None:

            def instrument(code: types.CodeType) -> types.CodeType | None:
                t = main_codes.get(id(code))
                if t is None:
                    return None
                dummy = types.FunctionType(code, {})
                self._add_function(dummy, "__main__", t.qualname)
                return dummy.__code__

            # Nested code objects are rebuilt bottom-up, so ids of targets must be looked up on
            # the original objects: map originals first, then rebuild.
            originals = dict(main_codes)
            program.replace_code(
                lambda code: _targets.rebuild(
                    code, lambda c: instrument(c) if id(c) in originals else None
                )
            )

    def _add_function(self, fn: Any, module: str, qualname: str) -> None:
        self.profiler.add_function(fn)
        code = fn.__code__
        self._meta[(code.co_filename, code.co_firstlineno, code.co_name)] = (qualname, module)

    def start(self) -> None:
        """Switch line_profiler on."""
        self.profiler.enable_by_count()
        self._running = True

    def stop(self) -> None:
        """Switch line_profiler off."""
        if self._running:
            self.profiler.disable_by_count()
            self._running = False

    def contribute(self, collector: Collector) -> None:
        """Add one LineTable per instrumented function (all its lines, hits or not)."""
        stats = self.profiler.get_stats()
        unit = stats.unit
        for (filename, first, name), timings in stats.timings.items():
            qual, module = self._meta.get((filename, first, name), (name, ""))
            by_line = {ln: (hits, t * unit) for ln, hits, t in timings}
            src = source_lines(filename)
            block = inspect.getblock([s + "\n" for s in src[first - 1 :]]) if src else []
            numbers = range(first, first + len(block)) if block else sorted(by_line)
            rows = tuple(
                LineTiming(
                    line=ln,
                    hits=by_line.get(ln, (0, 0.0))[0],
                    time_s=by_line.get(ln, (0, 0.0))[1],
                    source=src[ln - 1] if 0 < ln <= len(src) else "",
                )
                for ln in numbers
            )
            collector.line_tables.append(
                LineTable(
                    function=qual,
                    file=filename,
                    first_line=first,
                    total_s=sum(r.time_s for r in rows),
                    lines=rows,
                    module=module,
                )
            )
