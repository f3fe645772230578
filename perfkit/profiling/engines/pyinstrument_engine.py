"""``--cpu pyinstrument``: pyinstrument's own sampler and call tree, converted to the model."""

from __future__ import annotations

from typing import Any, ClassVar

from perfkit.errors import MissingDependencyError
from perfkit.profiling._source import is_internal, is_user_code
from perfkit.profiling.engines import _stacks
from perfkit.profiling.engines.base import Collector
from perfkit.profiling.model import FrameNode, FunctionStat, ThreadTree


class PyinstrumentEngine:
    """pyinstrument's Profiler (main thread, its interval); tree and function table."""

    name: ClassVar[str] = "pyinstrument"
    provides: ClassVar[frozenset[str]] = frozenset({"tree", "functions"})
    hooks_calls: ClassVar[bool] = True  # pyinstrument's sampler is a setprofile hook

    def __init__(self, interval_s: float = 0.001) -> None:
        try:
            from pyinstrument import Profiler
        except ImportError:
            raise MissingDependencyError("pyinstrument", "all", "--cpu pyinstrument") from None
        self.interval_s = interval_s
        self.profiler = Profiler(interval=interval_s, async_mode="disabled")
        self._running = False

    def prepare(self, program: object | None) -> None:
        """Nothing to instrument ahead."""

    def start(self) -> None:
        """Start pyinstrument."""
        self.profiler.start()
        self._running = True

    def stop(self) -> None:
        """Stop pyinstrument."""
        if self._running:
            self.profiler.stop()
            self._running = False

    def contribute(self, collector: Collector) -> None:
        """Convert pyinstrument's frame tree; derive the function table from it."""
        session = self.profiler.last_session
        root = session.root_frame(trim_stem=False) if session else None
        if root is None:
            return
        children = _convert_children(root)
        total = sum(c.wall_s for c in children)
        tree = FrameNode("MainThread", "", 0, total, 0.0, total, 0.0, 0, tuple(children))
        collector.threads = [ThreadTree(0, "MainThread", tree)]
        collector.functions = functions_from_tree([tree])
        collector.interval_s = self.interval_s
        collector.sample_count = len(session.frame_records)
        collector.notes.append("--cpu pyinstrument: pyinstrument's sampler (main thread only)")


def _convert_children(frame: Any) -> list[FrameNode]:
    out: list[FrameNode] = []
    for child in frame.children:
        if child.is_synthetic:
            continue
        if is_internal(child.file_path or ""):
            out.extend(_convert_children(child))  # lift the program's frames over perfkit's
            continue
        kids = _convert_children(child)
        self_t = max(child.time - sum(k.wall_s for k in kids), 0.0)
        out.append(
            FrameNode(
                function=child.function,
                file=child.file_path or "",
                line=child.line_no or 0,
                wall_s=child.time,
                self_wall_s=self_t,
                cpu_s=child.time,
                self_cpu_s=self_t,
                samples=0,
                children=tuple(kids),
            )
        )
    return out


def functions_from_tree(roots: list[FrameNode]) -> list[FunctionStat]:
    """Per-function own and total time from call trees (recursion counted once per path)."""
    self_t: dict[tuple[str, str, int], float] = {}
    total_t: dict[tuple[str, str, int], float] = {}

    def visit(node: FrameNode, on_path: frozenset) -> None:
        key = (node.function, node.file, node.line)
        self_t[key] = self_t.get(key, 0.0) + node.self_wall_s
        if key not in on_path:
            total_t[key] = total_t.get(key, 0.0) + node.wall_s
        for c in node.children:
            visit(c, on_path | {key})

    for root in roots:
        for c in root.children:
            visit(c, frozenset())
    names = _stacks.ModuleNames()
    out = [
        FunctionStat(
            function=k[0],
            file=k[1],
            line=k[2],
            self_s=self_t[k],
            total_s=total_t.get(k, 0.0),
            module=names(k[1]),
            user_code=is_user_code(k[1]),
        )
        for k in self_t
    ]
    out.sort(key=lambda f: -f.self_s)
    return out
