"""``--cpu tracing``: cProfile's deterministic profile, with exact call counts.

cProfile hooks every call, so it costs per call (see the overhead report); its function table,
with callers, replaces the sampler's, and it is what ``profile.pstats`` is written from.
"""

from __future__ import annotations

import cProfile
import pstats
from typing import ClassVar

from perfkit.profiling._source import is_internal, is_user_code
from perfkit.profiling.engines import _stacks
from perfkit.profiling.engines.base import Collector
from perfkit.profiling.model import CallerEdge, FunctionStat

#: cProfile entries that are perfkit's own calls around the program.
_OWN = ("<built-in method builtins.exec>", "<method 'disable' of '_lsprof.Profiler' objects>")


def _dropped(key: tuple[str, int, str]) -> bool:
    return is_internal(key[0]) or key[2] in _OWN


class TracingEngine:
    """cProfile around the program; function table with exact calls and caller edges."""

    name: ClassVar[str] = "tracing"
    provides: ClassVar[frozenset[str]] = frozenset({"functions", "pstats"})
    hooks_calls: ClassVar[bool] = True

    def __init__(self, show_all: bool = False) -> None:
        self.profiler = cProfile.Profile()
        #: Keep the import machinery's rows (``--show-all``); left out by default.
        self.show_all = show_all
        self._running = False

    def prepare(self, program: object | None) -> None:
        """Nothing to instrument ahead: cProfile hooks calls while enabled."""

    def start(self) -> None:
        """Enable cProfile on the calling thread."""
        self.profiler.enable()
        self._running = True

    def stop(self) -> None:
        """Disable cProfile."""
        if self._running:
            self.profiler.disable()
            self._running = False

    def contribute(self, collector: Collector) -> None:
        """Replace the function table with cProfile's (exact calls, callers)."""
        raw = pstats.Stats(self.profiler).stats  # type: ignore[attr-defined]
        names = _stacks.ModuleNames()
        functions = []
        for key, (cc, nc, tt, ct, callers) in raw.items():
            if _dropped(key) or (not self.show_all and _stacks.is_import_machinery(key[0])):
                continue
            filename, line, name = key
            edges = tuple(
                CallerEdge(
                    function=cn,
                    file=cf,
                    line=cl,
                    calls=int(c[1]),
                    primitive_calls=int(c[0]),
                    self_s=float(c[2]),
                    total_s=float(c[3]),
                )
                for (cf, cl, cn), c in callers.items()
                if not _dropped((cf, cl, cn))
            )
            functions.append(
                FunctionStat(
                    function=name,
                    file=filename,
                    line=line,
                    self_s=float(tt),
                    total_s=float(ct),
                    calls=int(nc),
                    primitive_calls=int(cc),
                    module=names(filename),
                    user_code=is_user_code(filename),
                    callers=edges,
                )
            )
        functions.sort(key=lambda f: -f.self_s)
        collector.functions = functions
        collector.notes.append(
            "--cpu tracing: cProfile hooked every call (exact counts; slower than sampling)"
        )
