"""kernprof compatibility: ``@profile`` is a builtin under ``perfkit profile``.

A script written for ``kernprof -l`` decorates the functions it wants timed line by line with a
bare ``@profile`` (line_profiler's convention: kernprof puts a ``LineProfiler`` into builtins).
Under plain python that is a ``NameError``; under ``perfkit profile`` the decorated functions get
line timings in the report, the same tables ``--lines`` gives. line_profiler is imported only
when the first function is decorated, so programs without ``@profile`` pay nothing.
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

from perfkit.profiling.engines.base import Collector

_MISSING = object()


class KernprofEngine:
    """Installs ``builtins.profile`` for the run; decorated functions go to line_profiler."""

    name: ClassVar[str] = "kernprof"
    provides: ClassVar[frozenset[str]] = frozenset({"line_tables"})
    hooks_calls: ClassVar[bool] = False  # only the decorated functions are traced

    def __init__(self) -> None:
        self.lines: Any = None  # a LinesEngine, made on the first decoration
        self.decorated: list[str] = []
        self.missing_line_profiler = False
        self._saved: Any = _MISSING
        self._installed = False

    def prepare(self, program: object | None) -> None:
        """Nothing to instrument ahead: functions are decorated as the program defines them."""

    def start(self) -> None:
        """Put ``profile`` into builtins (unless something, e.g. kernprof itself, already did)."""
        self._saved = getattr(builtins, "profile", _MISSING)
        if self._saved is not _MISSING:
            return
        builtins.profile = self.decorate  # type: ignore[attr-defined]
        self._installed = True

    def stop(self) -> None:
        """Take ``profile`` out of builtins again."""
        if self._installed and getattr(builtins, "profile", None) is self.decorate:
            del builtins.profile  # type: ignore[attr-defined]
        self._installed = False

    def decorate(self, func: Any) -> Any:
        """``@profile``: time ``func`` line by line (returned unchanged without line_profiler)."""
        if self.lines is None:
            from perfkit.errors import MissingDependencyError
            from perfkit.profiling.engines.lines import LinesEngine

            try:
                self.lines = LinesEngine()
            except MissingDependencyError:
                self.missing_line_profiler = True
                return func
        target = getattr(func, "__func__", func)
        code = getattr(target, "__code__", None)
        if code is None:  # a class or a builtin: nothing to time line by line
            return func
        self.lines._add_function(
            target, getattr(target, "__module__", "") or "", target.__qualname__
        )
        self.decorated.append(target.__qualname__)
        wrapped = self.lines.profiler(func)
        return wrapped

    def contribute(self, collector: Collector) -> None:
        """Line tables of the decorated functions (a note when there were any)."""
        if self.missing_line_profiler:
            collector.notes.append(
                "@profile: line_profiler is not installed; decorated functions ran untimed "
                "(pip install line_profiler)"
            )
        if self.lines is None or not self.decorated:
            return
        self.lines.contribute(collector)
        names = ", ".join(dict.fromkeys(self.decorated))
        collector.notes.append(f"@profile (kernprof's convention): line timings of {names}")
